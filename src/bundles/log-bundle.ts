import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { create as createTar } from 'tar';
import type { AgentServices } from '../agent-services.js';
import { downloadNamePart, downloadsDirOf, publishDownload, pruneDownloads } from './downloads.js';
import { dumpJournal } from './journal.js';
import { agentLogFiles } from './log-sources.js';
import { stateSummary } from './state-summary.js';

/** Support bundles kept per node; older ones are removed when a new one is made. */
export const KEEP_LOG_BUNDLES = 5;

const LOG_BUNDLE = /^ovs-.+-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-logs\.tar\.gz$/;

export function isLogBundleName(name: string): boolean {
  return LOG_BUNDLE.test(name);
}

/** `ovs-<sr_name>-<YYYY-mm-dd-HH-MM-SS>` in UTC, the original's name without its local-time ambiguity. */
export function logBundleBase(srName: string, now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getUTCFullYear()}-${p(now.getUTCMonth() + 1)}-${p(now.getUTCDate())}-${p(now.getUTCHours())}-${p(now.getUTCMinutes())}-${p(now.getUTCSeconds())}`;
  return `ovs-${downloadNamePart(srName)}-${stamp}`;
}

export interface LogBundle {
  name: string;
  path: string;
  logs: string[];
  journal: boolean;
  pruned: string[];
}

/**
 * A tar.gz of this node's logs in its downloads directory: `<base>/summary.json` (state summary), `<base>/logs/...`
 * (the agent's log files and rotations), `<base>/journal.txt` (journalctl of the ovs-* units) or
 * `<base>/journal-unavailable.txt` saying why there is none.
 */
export async function createLogBundle(s: AgentServices, now: Date, opts: { systemdMarker?: string } = {}): Promise<LogBundle> {
  const sr = s.view.get('storagerouter', s.storagerouterGuid);
  const base = logBundleBase(String(sr.name), now);
  const name = `${base}-logs.tar.gz`;
  const dir = downloadsDirOf(s.dataDir);
  // Two requests in the same second share the name (the later one replaces the file), never the staging directory.
  const staging = join(dir, `.staging-${base}-${randomBytes(4).toString('hex')}`);
  const root = join(staging, base);
  const logs = await agentLogFiles(s.dataDir);
  let journal = false;
  try {
    await mkdir(join(root, 'logs'), { recursive: true });
    const used = new Set<string>();
    for (const file of logs) {
      let target = basename(file);
      for (let i = 1; used.has(target); i++) target = `${i}-${basename(file)}`;
      used.add(target);
      await copyFile(file, join(root, 'logs', target)).catch((e: unknown) => writeFile(join(root, 'logs', `${target}.unreadable.txt`), `${file}: ${(e as Error).message}\n`));
    }
    const dump = await dumpJournal(join(root, 'journal.txt'), opts);
    journal = dump.included;
    if (!dump.included) {
      await rm(join(root, 'journal.txt'), { force: true });
      await writeFile(join(root, 'journal-unavailable.txt'), `${dump.note}\n`);
    }
    const summary = await stateSummary(s, now);
    await writeFile(join(root, 'summary.json'), `${JSON.stringify({ ...summary, bundle: { logs, journal: dump.included ? 'journal.txt' : dump.note } }, null, 2)}\n`);
    await publishDownload(dir, name, (tmp) => createTar({ gzip: true, file: tmp, cwd: staging, portable: true }, [base]));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const pruned = await pruneDownloads(dir, isLogBundleName, KEEP_LOG_BUNDLES);
  return { name, path: join(dir, name), logs, journal, pruned };
}
