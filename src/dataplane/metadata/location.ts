/**
 * A cluster location packed into 8 bytes (the MDS page entry layout): u32 SCO number (0 = null, never written),
 * u16 offset in clusters, u8 version, u8 clone id. Kept packed in hot paths instead of objects.
 */
export interface Loc {
  cloneId: number;
  number: number;
  version: number;
  offset: number;
}

export const LOC_BYTES = 8;

export function packLoc(loc: Loc, out: Buffer = Buffer.allocUnsafe(LOC_BYTES), at = 0): Buffer {
  out.writeUInt32LE(loc.number >>> 0, at);
  out.writeUInt16LE(loc.offset, at + 4);
  out.writeUInt8(loc.version, at + 6);
  out.writeUInt8(loc.cloneId, at + 7);
  return out;
}

export function unpackLoc(buf: Buffer, at = 0): Loc | null {
  const number = buf.readUInt32LE(at);
  if (number === 0) return null;
  return { number, offset: buf.readUInt16LE(at + 4), version: buf.readUInt8(at + 6), cloneId: buf.readUInt8(at + 7) };
}
