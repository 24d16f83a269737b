import { crc32 } from '../common/crc32.js';
import { crc32c } from '../common/crc32c.js';
import { scoName } from '../common/names.js';
import type { SnapshotsFile, TLogRef } from '../snapshots/types.js';
import { SNAPSHOTS_OBJECT } from '../snapshots/types.js';
import { readTLog, validateTLog } from '../tlog/reader.js';
import { type Backend, ObjectMissingError } from './backend.js';

export interface FsckResult {
  ok: boolean;
  problems: string[];
}

interface ScoUse {
  maxOffset: number;
  tlog: string;
  crcs: Array<{ crc: number; algo: 'crc32c' | 'crc32' }>;
}

/**
 * Consistency check of one namespace on the backend (volumedriver.md C13, invariant I4): every written TLog exists
 * and its CRC verifies, every SCO it references exists, is long enough and matches its SCO CRC record, snapshot TLog
 * lists are disjoint (from each other and from `current`), and `lastScoNumber` covers every referenced SCO.
 */
export async function fsck(backend: Backend, ns: string): Promise<FsckResult> {
  if (!(await backend.namespaceExists(ns))) return { ok: false, problems: [`namespace ${ns} does not exist`] };
  const problems: string[] = [];
  const snaps = await readJson<SnapshotsFile>(backend, ns, SNAPSHOTS_OBJECT, problems);
  if (!snaps) return { ok: false, problems };
  const clusterSize = await readClusterSize(backend, ns, problems);
  if (!Number.isSafeInteger(snaps.lastScoNumber)) problems.push(`lastScoNumber ${String(snaps.lastScoNumber)} is not an integer`);

  const lists: Array<{ owner: string; tlogs: TLogRef[] }> = [
    ...(snaps.snapshots ?? []).map((s) => ({ owner: `snapshot ${s.name}`, tlogs: s.tlogs ?? [] })),
    { owner: 'current', tlogs: snaps.current ?? [] },
  ];
  const listedIn = new Map<string, string>();
  for (const { owner, tlogs } of lists) {
    for (const t of tlogs) {
      const prev = listedIn.get(t.id);
      if (prev !== undefined) problems.push(`TLog ${t.id} listed in both ${prev} and ${owner}`);
      else listedIn.set(t.id, owner);
    }
  }

  const scos = new Map<number, Map<number, ScoUse>>(); // number -> version -> use
  const checked = new Set<string>();
  for (const { tlogs } of lists) {
    for (const t of tlogs) {
      if (!t.written || checked.has(t.id)) continue;
      checked.add(t.id);
      await collectTLog(backend, ns, t.id, scos, problems);
    }
  }

  for (const [number, versions] of scos) {
    if (number > snaps.lastScoNumber) problems.push(`lastScoNumber ${snaps.lastScoNumber} < referenced SCO number ${number} (${scoName(number, [...versions.keys()][0] ?? 0)})`);
    for (const [version, use] of versions) await checkSco(backend, ns, scoName(number, version), use, clusterSize, problems);
  }
  return { ok: problems.length === 0, problems };
}

async function collectTLog(backend: Backend, ns: string, id: string, scos: Map<number, Map<number, ScoUse>>, problems: string[]): Promise<void> {
  let buf: Buffer;
  try {
    buf = await backend.get(ns, id);
  } catch (e) {
    if (!(e instanceof ObjectMissingError)) throw e;
    problems.push(`TLog ${id} is flagged written but missing`);
    return;
  }
  const v = validateTLog(buf, { closed: true });
  if (v.error !== undefined) {
    problems.push(`TLog ${id} is corrupt: ${v.error}`);
    return;
  }
  let lastSco: ScoUse | undefined;
  for (const r of await readTLog(buf)) {
    if (r.kind === 'loc') {
      if (r.loc.cloneId !== 0) {
        problems.push(`TLog ${id} holds a location with clone id ${r.loc.cloneId} (files must use 0)`);
        lastSco = undefined;
        continue;
      }
      let versions = scos.get(r.loc.number);
      if (!versions) scos.set(r.loc.number, (versions = new Map<number, ScoUse>()));
      let use = versions.get(r.loc.version);
      if (!use) versions.set(r.loc.version, (use = { maxOffset: -1, tlog: id, crcs: [] }));
      use.maxOffset = Math.max(use.maxOffset, r.loc.offset);
      lastSco = use;
    } else if (r.kind === 'sco_crc') {
      // The SCO CRC record follows the location records of the SCO it closes.
      if (lastSco) lastSco.crcs.push({ crc: r.crc, algo: r.algo ?? 'crc32c' });
      else problems.push(`TLog ${id} holds an SCO CRC record that follows no location record`);
    }
  }
}

async function checkSco(backend: Backend, ns: string, name: string, use: ScoUse, clusterSize: number, problems: string[]): Promise<void> {
  let size: number;
  try {
    size = await backend.size(ns, name);
  } catch (e) {
    if (!(e instanceof ObjectMissingError)) throw e;
    problems.push(`SCO ${name} referenced by TLog ${use.tlog} is missing`);
    return;
  }
  const need = (use.maxOffset + 1) * clusterSize;
  if (size < need) problems.push(`SCO ${name} is short: ${size} bytes < ${need} referenced by TLog ${use.tlog}`);
  if (use.crcs.length === 0) return;
  const data = await backend.get(ns, name);
  const actual = { crc32c: () => crc32c(data), crc32: () => crc32(data) };
  const seen = new Set<string>();
  for (const { crc, algo } of use.crcs) {
    if (seen.has(`${algo}:${crc}`)) continue;
    seen.add(`${algo}:${crc}`);
    const has = actual[algo]();
    if (crc !== has) problems.push(`SCO ${name} CRC mismatch (${algo}): TLog ${use.tlog} records ${hex(crc)}, object has ${hex(has)}`);
  }
}

async function readClusterSize(backend: Backend, ns: string, problems: string[]): Promise<number> {
  const cfg = await readJson<{ clusterSize?: number; clusterMultiplier?: number; lbaSize?: number }>(backend, ns, 'volume_configuration', undefined);
  if (!cfg) return 4096;
  const size = cfg.clusterSize ?? (cfg.clusterMultiplier !== undefined ? cfg.clusterMultiplier * (cfg.lbaSize ?? 512) : 4096);
  if (!Number.isInteger(size) || size <= 0) {
    problems.push(`volume_configuration has a bad cluster size ${String(size)}`);
    return 4096;
  }
  return size;
}

/** Missing or unparsable objects become problems when `problems` is given, else undefined. */
async function readJson<T>(backend: Backend, ns: string, name: string, problems: string[] | undefined): Promise<T | undefined> {
  try {
    return JSON.parse((await backend.get(ns, name)).toString('utf8')) as T;
  } catch (e) {
    if (e instanceof ObjectMissingError) problems?.push(`${name} is missing`);
    else if (e instanceof SyntaxError) problems?.push(`${name} is not valid JSON: ${e.message}`);
    else throw e;
    return undefined;
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
