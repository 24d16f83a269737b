import { readFile } from 'node:fs/promises';
import { crc32c } from '../common/crc32c.js';
import { type ClusterLocation, RECORD_BYTES, type TLogRecord, decodeRecord } from './record.js';

export interface TLogValidation {
  /** Whole, decodable records that can be trusted (for a closed TLog: all of them, CRC record included, or 0). */
  validRecords: number;
  validBytes: number;
  error?: string;
}

/** All whole records of a TLog (a torn trailing record is ignored; an undecodable record throws). */
export async function readTLog(source: string | Buffer): Promise<TLogRecord[]> {
  const buf = typeof source === 'string' ? await readFile(source) : source;
  const out: TLogRecord[] = [];
  for (let at = 0; at + RECORD_BYTES <= buf.length; at += RECORD_BYTES) out.push(decodeRecord(buf, at));
  return out;
}

/**
 * Closed TLogs must end in a matching TLog CRC record (which covers every byte before it), otherwise nothing in
 * them is trusted. The current (open) TLog is valid up to its last whole, decodable record.
 */
export function validateTLog(buf: Buffer, opts: { closed: boolean }): TLogValidation {
  const whole = Math.floor(buf.length / RECORD_BYTES);
  const errors: string[] = [];
  if (buf.length % RECORD_BYTES !== 0) errors.push(`size ${buf.length} is not a multiple of ${RECORD_BYTES} (torn record)`);
  let decodable = 0;
  for (; decodable < whole; decodable++) {
    try {
      decodeRecord(buf, decodable * RECORD_BYTES);
    } catch (e) {
      errors.push(`record ${decodable}: ${(e as Error).message}`);
      break;
    }
  }
  if (opts.closed) {
    const last = whole > 0 && decodable === whole ? decodeRecord(buf, (whole - 1) * RECORD_BYTES) : undefined;
    if (!last || last.kind !== 'tlog_crc') {
      errors.push('closed TLog does not end with a TLog CRC record');
    } else {
      const actual = crc32c(buf.subarray(0, (whole - 1) * RECORD_BYTES));
      if (actual !== last.crc) errors.push(`TLog CRC mismatch: recorded ${hex(last.crc)}, computed ${hex(actual)}`);
    }
    if (errors.length > 0) return { validRecords: 0, validBytes: 0, error: errors.join('; ') };
    return { validRecords: whole, validBytes: whole * RECORD_BYTES };
  }
  const result: TLogValidation = { validRecords: decodable, validBytes: decodable * RECORD_BYTES };
  if (errors.length > 0) result.error = errors.join('; ');
  return result;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** Records from the last to the first. */
export function* backward<T>(records: readonly T[]): Generator<T> {
  for (let i = records.length - 1; i >= 0; i--) yield records[i]!;
}

/** The newest location record (e.g. to find the last SCO a TLog refers to). */
export function lastLocation(records: readonly TLogRecord[]): { ca: number; loc: ClusterLocation; hash: Buffer } | undefined {
  for (const r of backward(records)) if (r.kind === 'loc') return r;
  return undefined;
}
