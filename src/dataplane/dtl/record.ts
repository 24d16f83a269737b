/**
 * On-disk record of a DTL entry in `<ns>/<sco>.dtl`: `u32 dataLength | u32 offset | u64 lba | u32 crc | data`, with
 * the CRC-32 over the first 16 bytes and the data. A crash can leave the last record torn; loading cuts it off.
 */
import { crc32 } from '../common/crc32.js';
import type { DtlEntry } from './messages.js';

export const RECORD_HEADER_BYTES = 20;

/** The records of `entries` as header and data buffers for one vectored write (the data is not copied). */
export function recordBuffers(entries: readonly DtlEntry[]): Buffer[] {
  const headers = Buffer.allocUnsafe(entries.length * RECORD_HEADER_BYTES);
  const out: Buffer[] = [];
  entries.forEach((entry, i) => {
    const header = headers.subarray(i * RECORD_HEADER_BYTES, (i + 1) * RECORD_HEADER_BYTES);
    header.writeUInt32BE(entry.data.length, 0);
    header.writeUInt32BE(entry.location.offset, 4);
    header.writeBigUInt64BE(entry.lba, 8);
    header.writeUInt32BE(crc32(entry.data, crc32(header.subarray(0, 16))), 16);
    out.push(header, entry.data);
  });
  return out;
}

export interface StoredRecord {
  offset: number;
  lba: bigint;
  /** Where the data starts in the file. */
  dataPosition: number;
  dataLength: number;
}

/** Parses the records of one file; `validBytes` ends at the last whole record with a matching CRC. */
export function decodeRecords(file: Buffer): { records: StoredRecord[]; validBytes: number } {
  const records: StoredRecord[] = [];
  let at = 0;
  while (file.length - at >= RECORD_HEADER_BYTES) {
    const dataLength = file.readUInt32BE(at);
    const end = at + RECORD_HEADER_BYTES + dataLength;
    if (end > file.length) break;
    const sum = crc32(file.subarray(at + RECORD_HEADER_BYTES, end), crc32(file.subarray(at, at + 16)));
    if (sum !== file.readUInt32BE(at + 16)) break;
    records.push({ offset: file.readUInt32BE(at + 4), lba: file.readBigUInt64BE(at + 8), dataPosition: at + RECORD_HEADER_BYTES, dataLength });
    at = end;
  }
  return { records, validBytes: at };
}
