import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { crc32 } from '../common/crc32.js';
import { crc32c } from '../common/crc32c.js';
import { newTLogName, scoName } from '../common/names.js';
import { InvalidOperationError } from '../errors.js';
import type { TLogRef } from '../snapshots/types.js';
import { CRC_TYPE_SCO, CRC_TYPE_SCO32, RECORD_BYTES, encodeRecord } from '../tlog/record.js';
import { validateTLog } from '../tlog/reader.js';
import { faults } from '../../testmode/faults.js';
import { RELOCS_PER_LOG, encodeRelocationLog, type Relocation } from './relocation-log.js';
import { RELOC_LOG_PREFIX, SCRUB_RESULT_PREFIX, type ScrubReply, type ScrubResult, type ScrubWork } from './types.js';

/** The location records of one SCO (number + version) in one snapshot interval, in TLog order. */
interface ScoUse {
  number: number;
  version: number;
  /** Indexes into the interval's location records. */
  records: number[];
  /** Where its SCO CRC record is (TLog index, byte offset), when there is one. */
  crcAt?: [number, number];
  live: number;
}

/** The interval's TLogs, parsed once: location records by index, and the last record of each cluster address. */
interface Interval {
  tlogs: Buffer[];
  recTLog: number[];
  recAt: number[];
  recCa: number[];
  lastOf: Map<number, number>;
  scos: Map<number, ScoUse>;
}

/**
 * Scrubs one snapshot interval (A16, C9). Reads only the backend and touches no volume state, so it runs in any
 * process with access to the backend: the last record per cluster address decides what is live; SCOs with dead
 * clusters and fewer live ones than fillRatio × scoMultiplier get their live clusters copied, in record order, into a
 * new SCO with the same number and the next free version; the others stay. It uploads the new SCOs, the compacted
 * TLogs, the relocation logs and, last, the result object that names them all.
 */
export async function scrub(work: ScrubWork, backend: Backend, scratchDir: string): Promise<ScrubReply> {
  faults.hit('scrub.step', `scrub:${work.volumeId}`);
  if (!work.tlogs.every((t) => t.written)) throw new InvalidOperationError(`snapshot ${work.snapshot} of ${work.volumeId} is not in the backend yet`, { snapshot_id: work.snapshot });
  const tlogsIn = work.tlogs.map((t) => t.id);
  const interval = await readInterval(backend, work.ns, tlogsIn);
  const bytesIn = interval.recCa.length * work.clusterSize;
  const resultName = `${SCRUB_RESULT_PREFIX}${randomUUID()}`;
  const base: Omit<ScrubResult, 'tlogsOut' | 'relocLogs' | 'relocations' | 'newScos' | 'deadScos' | 'bytesReclaimed'> = {
    version: 1, ns: work.ns, volumeId: work.volumeId, snapshot: work.snapshot, tlogsIn, bytesIn,
  };
  const anyDead = interval.recCa.length > interval.lastOf.size;
  let result: ScrubResult;
  if (!anyDead) {
    // Nothing to reclaim: the snapshot only gets its scrubbed flag; no object changes.
    result = { ...base, tlogsOut: work.tlogs.map((t) => ({ ...t })), relocLogs: [], relocations: 0, newScos: [], deadScos: [], bytesReclaimed: 0 };
    await backend.put(work.ns, resultName, Buffer.from(JSON.stringify(result)));
  } else {
    const dir = join(scratchDir, resultName);
    await mkdir(dir, { recursive: true });
    const uploaded: string[] = [];
    try {
      result = await compact(work, backend, dir, interval, base, uploaded);
      await backend.put(work.ns, resultName, Buffer.from(JSON.stringify(result)));
    } catch (e) {
      for (const name of [...uploaded, resultName]) await backend.delete(work.ns, name, { mayNotExist: true }).catch(() => undefined);
      throw e;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return {
    ns: work.ns, volumeId: work.volumeId, snapshot: work.snapshot, resultName, relocations: result.relocations,
    deadScos: result.deadScos.length, newScos: result.newScos.length, bytesIn, bytesReclaimed: result.bytesReclaimed,
  };
}

async function readInterval(backend: Backend, ns: string, ids: string[]): Promise<Interval> {
  const iv: Interval = { tlogs: [], recTLog: [], recAt: [], recCa: [], lastOf: new Map(), scos: new Map() };
  let lastSco: ScoUse | undefined;
  for (const id of ids) {
    const buf = await backend.get(ns, id);
    const check = validateTLog(buf, { closed: true });
    if (check.error !== undefined) throw new Error(`TLog ${id} of ${ns} is damaged: ${check.error}`);
    const t = iv.tlogs.push(buf) - 1;
    for (let at = 0; at < check.validBytes; at += RECORD_BYTES) {
      const number = buf.readUInt32LE(at + 11);
      if (number === 0) {
        const type = buf.readUInt32LE(at + 4);
        if ((type === CRC_TYPE_SCO || type === CRC_TYPE_SCO32) && lastSco) lastSco.crcAt = [t, at];
        continue;
      }
      const version = buf.readUInt8(at + 10);
      const key = number * 256 + version;
      let use = iv.scos.get(key);
      if (!use) iv.scos.set(key, (use = { number, version, records: [], live: 0 }));
      const r = iv.recCa.length;
      const ca = buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 0x1_0000_0000;
      iv.recTLog.push(t);
      iv.recAt.push(at);
      iv.recCa.push(ca);
      use.records.push(r);
      iv.lastOf.set(ca, r);
      lastSco = use;
    }
  }
  for (const use of iv.scos.values()) use.live = use.records.reduce((n, r) => n + (iv.lastOf.get(iv.recCa[r]!) === r ? 1 : 0), 0);
  return iv;
}

/** Builds and uploads the new SCOs, TLogs and relocation logs; `uploaded` collects names for a cleanup on failure. */
async function compact(
  work: ScrubWork, backend: Backend, dir: string, iv: Interval, base: Omit<ScrubResult, 'tlogsOut' | 'relocLogs' | 'relocations' | 'newScos' | 'deadScos' | 'bytesReclaimed'>,
  uploaded: string[],
): Promise<ScrubResult> {
  const cs = work.clusterSize;
  const out = new TLogCutter(work.tlogMultiplier, cs);
  const relocs: Relocation[] = [];
  const newScos: string[] = [];
  const deadScos: string[] = [];
  const emptyScos: string[] = [];
  let reclaimed = 0;
  for (const use of iv.scos.values()) {
    const name = scoName(use.number, use.version);
    const liveRecs = use.records.filter((r) => iv.lastOf.get(iv.recCa[r]!) === r);
    if (use.live === 0) {
      deadScos.push(name);
      emptyScos.push(name);
      reclaimed += await backend.size(work.ns, name).catch(() => 0);
      continue;
    }
    const rewrite = use.live < use.records.length && use.live < work.fillRatio * work.scoMultiplier;
    if (!rewrite) {
      for (const r of liveRecs) out.addRaw(iv.tlogs[iv.recTLog[r]!]!, iv.recAt[r]!, 1);
      if (use.crcAt) out.addRaw(iv.tlogs[use.crcAt[0]]!, use.crcAt[1], 0);
      out.scoDone();
      continue;
    }
    const old = await backend.get(work.ns, name);
    const data = Buffer.alloc(liveRecs.length * cs);
    const version = await freeVersion(backend, work.ns, use.number, use.version);
    liveRecs.forEach((r, i) => {
      const src = iv.tlogs[iv.recTLog[r]!]!;
      const at = iv.recAt[r]!;
      const from = { cloneId: 0, number: use.number, version: use.version, offset: src.readUInt16LE(at + 8) };
      old.copy(data, i * cs, from.offset * cs, (from.offset + 1) * cs);
      const to = { cloneId: 0, number: use.number, version, offset: i };
      relocs.push({ ca: iv.recCa[r]!, from, to });
      const rec = Buffer.from(src.subarray(at, at + RECORD_BYTES));
      rec.writeUInt16LE(i, 8);
      rec.writeUInt8(version, 10);
      out.addRaw(rec, 0, 1);
    });
    out.addRaw(encodeRecord({ kind: 'sco_crc', crc: crc32(data), algo: 'crc32' }), 0, 0);
    out.scoDone();
    const newName = scoName(use.number, version);
    const path = join(dir, newName);
    await writeFile(path, data);
    uploaded.push(newName);
    await backend.put(work.ns, newName, { path });
    newScos.push(newName);
    deadScos.push(name);
    reclaimed += old.length - data.length;
  }
  const tlogsOut: TLogRef[] = [];
  for (const t of out.finish()) {
    uploaded.push(t.id);
    await backend.put(work.ns, t.id, t.data);
    tlogsOut.push({ id: t.id, written: true, size: t.size });
  }
  const relocLogs: string[] = [];
  for (let i = 0; i < relocs.length; i += RELOCS_PER_LOG) {
    const name = `${RELOC_LOG_PREFIX}${randomUUID()}`;
    uploaded.push(name);
    await backend.put(work.ns, name, encodeRelocationLog(relocs.slice(i, i + RELOCS_PER_LOG)));
    relocLogs.push(name);
  }
  return { ...base, tlogsOut, relocLogs, relocations: relocs.length, newScos, deadScos, emptyScos, bytesReclaimed: reclaimed };
}

/** The first version after `current` (wrapping 255 → 0) whose name is not taken in the backend. */
async function freeVersion(backend: Backend, ns: string, number: number, current: number): Promise<number> {
  for (let step = 1; step < 256; step++) {
    const v = (current + step) % 256;
    if (!(await backend.exists(ns, scoName(number, v)))) return v;
  }
  throw new Error(`SCO ${scoName(number, current)} of ${ns}: every version is taken`);
}

/** Output TLogs in the writer's format: whole SCOs, at most tlogMultiplier per TLog, closed by a TLog CRC record. */
class TLogCutter {
  private parts: Buffer[] = [];
  private scos = 0;
  private clusters = 0;
  private readonly done: Array<{ id: string; data: Buffer; size: number }> = [];

  constructor(private readonly tlogMultiplier: number, private readonly clusterSize: number) {}

  addRaw(buf: Buffer, at: number, clusters: number): void {
    this.parts.push(buf.subarray(at, at + RECORD_BYTES));
    this.clusters += clusters;
  }

  scoDone(): void {
    if (++this.scos >= this.tlogMultiplier) this.cut();
  }

  finish(): Array<{ id: string; data: Buffer; size: number }> {
    if (this.parts.length > 0) this.cut();
    return this.done;
  }

  private cut(): void {
    const body = Buffer.concat(this.parts);
    const data = Buffer.concat([body, encodeRecord({ kind: 'tlog_crc', crc: crc32c(body) })]);
    this.done.push({ id: newTLogName(), data, size: this.clusters * this.clusterSize });
    this.parts = [];
    this.scos = 0;
    this.clusters = 0;
  }
}
