import { readdir, readlink, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * A log file and its rotations beside it, in the two schemes logrotate uses: numbered (`agent.log.1`,
 * `agent.log.2.gz`) and dated (`agent.log-20240101`, `agent.log-20240101.gz`).
 */
export function rotationsOf(base: string, names: readonly string[]): string[] {
  return names.filter((n) => n === base || ((n.startsWith(`${base}.`) || n.startsWith(`${base}-`)) && /^\d/.test(n.slice(base.length + 1)))).sort();
}

/**
 * The agent logs JSON lines to stdout; where they end up is the operator's choice. Files its stdout and stderr are
 * (`ovs agent >> /var/log/ovs/agent.log`, systemd's `StandardOutput=append:`), with their rotations, and any file in
 * `<data dir>/logs/`. Under systemd with the journal the lines are in the journal instead (see journal.ts).
 */
export async function agentLogFiles(dataDir: string, fdLinks: readonly string[] = ['/proc/self/fd/1', '/proc/self/fd/2']): Promise<string[]> {
  const found = new Set<string>();
  for (const link of fdLinks) {
    const target = await readlink(link).catch(() => undefined);
    if (!target?.startsWith('/') || !(await isFile(target))) continue;
    const names = await readdir(dirname(target)).catch(() => [basename(target)]);
    for (const n of rotationsOf(basename(target), names)) found.add(join(dirname(target), n));
  }
  const logsDir = join(dataDir, 'logs');
  for (const n of await readdir(logsDir).catch(() => [] as string[])) {
    if (await isFile(join(logsDir, n))) found.add(join(logsDir, n));
  }
  const files: string[] = [];
  for (const f of found) if (await isFile(f)) files.push(f);
  return files.sort();
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
