import { crc32c } from '../common/crc32c.js';
import { RECORD_BYTES, encodeRecord } from '../tlog/record.js';
import type { ClusterLocation } from '../tlog/record.js';
import { validateTLog } from '../tlog/reader.js';

/** One moved cluster: `ca` lived at `from` and lives at `to` (both in the scrubbed volume's own namespace). */
export interface Relocation {
  ca: number;
  from: ClusterLocation;
  to: ClusterLocation;
}

/** Pairs per relocation log object (64 Ki pairs = 4 MiB), so that no object has to be huge. */
export const RELOCS_PER_LOG = 65_536;

/** A relocation log in TLog format (A16): per relocation the old location record, then the new one; a TLog CRC last. */
export function encodeRelocationLog(relocs: readonly Relocation[]): Buffer {
  const out = Buffer.alloc((relocs.length * 2 + 1) * RECORD_BYTES);
  const noHash = Buffer.alloc(0);
  relocs.forEach((r, i) => {
    encodeRecord({ kind: 'loc', ca: r.ca, loc: r.from, hash: noHash }, out, 2 * i * RECORD_BYTES);
    encodeRecord({ kind: 'loc', ca: r.ca, loc: r.to, hash: noHash }, out, (2 * i + 1) * RECORD_BYTES);
  });
  const body = out.subarray(0, relocs.length * 2 * RECORD_BYTES);
  encodeRecord({ kind: 'tlog_crc', crc: crc32c(body) }, out, body.length);
  return out;
}

/** Calls `each(ca, from, to)` per pair with the raw 32-byte records' fields; throws on a damaged log. */
export function forEachRelocation(buf: Buffer, each: (ca: number, from: ClusterLocation, to: ClusterLocation) => void): number {
  const check = validateTLog(buf, { closed: true });
  if (check.error !== undefined) throw new Error(`relocation log is damaged: ${check.error}`);
  const pairs = (check.validRecords - 1) / 2;
  if (!Number.isInteger(pairs)) throw new Error('relocation log holds an odd number of location records');
  for (let i = 0; i < pairs; i++) {
    const a = 2 * i * RECORD_BYTES;
    const b = a + RECORD_BYTES;
    each(buf.readUInt32LE(a) + buf.readUInt32LE(a + 4) * 0x1_0000_0000, locAt(buf, a), locAt(buf, b));
  }
  return pairs;
}

function locAt(buf: Buffer, at: number): ClusterLocation {
  return { cloneId: buf.readUInt8(at + 15), number: buf.readUInt32LE(at + 11), version: buf.readUInt8(at + 10), offset: buf.readUInt16LE(at + 8) };
}
