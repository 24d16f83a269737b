/** TLog records (volumedriver.md C2.2): 32 bytes little-endian, no file header. */
export const RECORD_BYTES = 32;
export const HASH_BYTES = 16;
export const ZERO_HASH: Buffer = Buffer.alloc(HASH_BYTES);

export const CRC_TYPE_TLOG = 1;
/** SCO checksum as CRC32C (what the original format has; still read). */
export const CRC_TYPE_SCO = 2;
/** SCO checksum as CRC-32 (zlib's), which this implementation writes: see common/crc32.ts. */
export const CRC_TYPE_SCO32 = 3;

export interface ClusterLocation {
  cloneId: number;
  number: number;
  version: number;
  offset: number;
}

export type TLogRecord =
  | { kind: 'loc'; ca: number; loc: ClusterLocation; hash: Buffer }
  | { kind: 'tlog_crc'; crc: number }
  /** `algo` absent: CRC32C (type 2); 'crc32': CRC-32 (type 3). */
  | { kind: 'sco_crc'; crc: number; algo?: 'crc32' };

const TWO_32 = 0x1_0000_0000;

export function encodeRecord(r: TLogRecord, out: Buffer = Buffer.alloc(RECORD_BYTES), at = 0): Buffer {
  if (at < 0 || at + RECORD_BYTES > out.length) throw new RangeError(`no room for a TLog record at ${at}`);
  out.fill(0, at, at + RECORD_BYTES);
  if (r.kind === 'loc') {
    const { ca, loc, hash } = r;
    if (!Number.isSafeInteger(ca) || ca < 0) throw new RangeError(`bad cluster address ${ca}`);
    checkUint('SCO number', loc.number, TWO_32 - 1);
    if (loc.number === 0) throw new RangeError('SCO number 0 is the null location');
    checkUint('SCO offset', loc.offset, 0xffff);
    checkUint('SCO version', loc.version, 0xff);
    checkUint('clone id', loc.cloneId, 0xff);
    if (hash.length !== HASH_BYTES && hash.length !== 0) throw new RangeError(`hash must be ${HASH_BYTES} bytes`);
    out.writeUInt32LE(ca % TWO_32, at);
    out.writeUInt32LE(Math.floor(ca / TWO_32), at + 4);
    out.writeUInt16LE(loc.offset, at + 8);
    out.writeUInt8(loc.version, at + 10);
    out.writeUInt32LE(loc.number, at + 11);
    out.writeUInt8(loc.cloneId, at + 15);
    hash.copy(out, at + 16);
  } else {
    checkUint('CRC', r.crc, TWO_32 - 1);
    out.writeUInt32LE(r.crc, at);
    out.writeUInt32LE(r.kind === 'tlog_crc' ? CRC_TYPE_TLOG : r.algo === 'crc32' ? CRC_TYPE_SCO32 : CRC_TYPE_SCO, at + 4);
  }
  return out;
}

/**
 * Location records for `n` clusters from `firstCa` at consecutive offsets of one SCO (version 0, clone 0, no hash),
 * the common case of a write, encoded without a record object per cluster.
 */
export function encodeLocRun(firstCa: number, n: number, scoNumber: number, firstOffset: number): Buffer {
  if (!Number.isSafeInteger(firstCa) || firstCa < 0) throw new RangeError(`bad cluster address ${firstCa}`);
  checkUint('SCO number', scoNumber, TWO_32 - 1);
  if (scoNumber === 0) throw new RangeError('SCO number 0 is the null location');
  checkUint('SCO offset', firstOffset + n - 1, 0xffff);
  const out = Buffer.alloc(n * RECORD_BYTES);
  for (let i = 0; i < n; i++) {
    const at = i * RECORD_BYTES;
    const ca = firstCa + i;
    out.writeUInt32LE(ca % TWO_32, at);
    out.writeUInt32LE(Math.floor(ca / TWO_32), at + 4);
    out.writeUInt16LE(firstOffset + i, at + 8);
    out.writeUInt32LE(scoNumber, at + 11);
  }
  return out;
}

/** Throws RangeError on a record that is neither a location nor a known CRC record (e.g. a zero-filled tail). */
export function decodeRecord(buf: Buffer, at = 0): TLogRecord {
  if (at < 0 || at + RECORD_BYTES > buf.length) throw new RangeError(`no whole TLog record at ${at}`);
  const lo = buf.readUInt32LE(at);
  const hi = buf.readUInt32LE(at + 4);
  const number = buf.readUInt32LE(at + 11);
  if (number !== 0) {
    return {
      kind: 'loc',
      ca: hi * TWO_32 + lo,
      loc: { cloneId: buf.readUInt8(at + 15), number, version: buf.readUInt8(at + 10), offset: buf.readUInt16LE(at + 8) },
      hash: Buffer.from(buf.subarray(at + 16, at + RECORD_BYTES)),
    };
  }
  if (hi === CRC_TYPE_TLOG) return { kind: 'tlog_crc', crc: lo };
  if (hi === CRC_TYPE_SCO) return { kind: 'sco_crc', crc: lo };
  if (hi === CRC_TYPE_SCO32) return { kind: 'sco_crc', crc: lo, algo: 'crc32' };
  throw new RangeError(`unknown TLog record at ${at} (null location, type ${hi})`);
}

function checkUint(what: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`bad ${what} ${v}`);
}
