/** NBD wire constants (fixed newstyle subset, spec C10). All integers are big-endian on the wire. */

export const NBDMAGIC = Buffer.from('NBDMAGIC', 'latin1');
export const IHAVEOPT = Buffer.from('IHAVEOPT', 'latin1');
/** Option reply magic 0x0003e889045565a9, as two u32 halves. */
export const OPT_REPLY_MAGIC_HI = 0x0003e889;
export const OPT_REPLY_MAGIC_LO = 0x045565a9;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;

// handshake flags (server) / client flags
export const FLAG_FIXED_NEWSTYLE = 1;
export const FLAG_NO_ZEROES = 2;
export const FLAG_C_FIXED_NEWSTYLE = 1;
export const FLAG_C_NO_ZEROES = 2;

// options
export const OPT_EXPORT_NAME = 1;
export const OPT_ABORT = 2;
export const OPT_LIST = 3;
export const OPT_STARTTLS = 5;
export const OPT_INFO = 6;
export const OPT_GO = 7;
export const OPT_STRUCTURED_REPLY = 8;
export const OPT_LIST_META_CONTEXT = 9;
export const OPT_SET_META_CONTEXT = 10;
export const OPT_EXTENDED_HEADERS = 11;
/**
 * Private option (outside the assigned range) a forwarding edge sends to the owner first: "do not forward this
 * connection again". Other servers answer it ERR_UNSUP, which is as good.
 */
export const OPT_OVS_NO_FORWARD = 0x4f565301;

// option reply types
export const REP_ACK = 1;
export const REP_SERVER = 2;
export const REP_INFO = 3;
export const REP_ERR_UNSUP = 0x80000001;
export const REP_ERR_POLICY = 0x80000002;
export const REP_ERR_INVALID = 0x80000003;
export const REP_ERR_TLS_REQD = 0x80000005;
export const REP_ERR_UNKNOWN = 0x80000006;
export const REP_ERR_SHUTDOWN = 0x80000007;

// info types
export const INFO_EXPORT = 0;
export const INFO_NAME = 1;
export const INFO_DESCRIPTION = 2;
export const INFO_BLOCK_SIZE = 3;

// transmission flags
export const TFLAG_HAS_FLAGS = 1;
export const TFLAG_READ_ONLY = 2;
export const TFLAG_SEND_FLUSH = 4;
export const TFLAG_SEND_FUA = 8;
export const TFLAG_SEND_WRITE_ZEROES = 64;
export const TFLAG_CAN_MULTI_CONN = 256;

// commands
export const CMD_READ = 0;
export const CMD_WRITE = 1;
export const CMD_DISC = 2;
export const CMD_FLUSH = 3;
export const CMD_TRIM = 4;
export const CMD_CACHE = 5;
export const CMD_WRITE_ZEROES = 6;
export const CMD_BLOCK_STATUS = 7;

// command flags
export const CMD_FLAG_FUA = 1;
export const CMD_FLAG_NO_HOLE = 2;

// errors
export const EPERM = 1;
export const EIO = 5;
export const ENOMEM = 12;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ENOTSUP = 95;
export const ESHUTDOWN = 108;

/** Largest READ/WRITE payload the server accepts (also advertised as the maximum block size). */
export const MAX_PAYLOAD = 32 * 1024 * 1024;
/** Largest option data accepted during negotiation; more ⇒ the connection is closed. */
export const MAX_OPTION_DATA = 64 * 1024;
export const REQUEST_HEADER_SIZE = 28;
export const SIMPLE_REPLY_HEADER_SIZE = 16;
export const OPTION_HEADER_SIZE = 16;

/** Transmission flags for an export. */
export function transmissionFlags(readOnly: boolean): number {
  return TFLAG_HAS_FLAGS | TFLAG_SEND_FLUSH | TFLAG_SEND_FUA | TFLAG_SEND_WRITE_ZEROES | (readOnly ? TFLAG_READ_ONLY : 0);
}

/** The 18-byte server greeting: NBDMAGIC, IHAVEOPT, u16 handshake flags. */
export function greeting(): Buffer {
  const b = Buffer.allocUnsafe(18);
  NBDMAGIC.copy(b, 0);
  IHAVEOPT.copy(b, 8);
  b.writeUInt16BE(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 16);
  return b;
}

/** One option reply: magic, option, reply type, length, data. */
export function optionReply(option: number, type: number, data?: Buffer): Buffer {
  const len = data?.length ?? 0;
  const b = Buffer.allocUnsafe(20 + len);
  b.writeUInt32BE(OPT_REPLY_MAGIC_HI, 0);
  b.writeUInt32BE(OPT_REPLY_MAGIC_LO, 4);
  b.writeUInt32BE(option >>> 0, 8);
  b.writeUInt32BE(type >>> 0, 12);
  b.writeUInt32BE(len, 16);
  if (data) data.copy(b, 20);
  return b;
}

/** Writes a u64 (a safe integer) big-endian at `at`. */
export function writeU64(b: Buffer, value: number, at: number): void {
  b.writeUInt32BE(Math.floor(value / 0x1_0000_0000), at);
  b.writeUInt32BE(value >>> 0, at + 4);
}

/** Reads a u64 big-endian; values ≥ 2^53 come back as `Infinity` (always out of range for us). */
export function readU64(b: Buffer, at: number): number {
  const hi = b.readUInt32BE(at);
  const lo = b.readUInt32BE(at + 4);
  if (hi > 0x1fffff) return Number.POSITIVE_INFINITY;
  return hi * 0x1_0000_0000 + lo;
}

/** Preferred block size advertised in NBD_INFO_BLOCK_SIZE: must be a power of two between 512 and MAX_PAYLOAD. */
export function preferredBlockSize(blockSize: number): number {
  const ok = Number.isInteger(blockSize) && blockSize >= 512 && blockSize <= MAX_PAYLOAD && (blockSize & (blockSize - 1)) === 0;
  return ok ? blockSize : 4096;
}
