/**
 * DTL wire frames (spec C6). Request: `u32 length | u8 op | u32 requestId | payload`; response:
 * `u32 length | u8 status | u32 requestId | payload`. `length` counts the bytes after itself. All big-endian.
 */

export const FRAME_HEADER_BYTES = 9;
/** A longer frame is refused and the connection closed: a garbage length must not make us buffer gigabytes. */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;

export enum DtlOp {
  REGISTER = 1,
  ADD = 2,
  FLUSH = 3,
  CLEAR = 4,
  REMOVE_UP_TO = 5,
  RANGE = 6,
  ENTRIES = 7,
  GET_SCO = 8,
  UNREGISTER = 9,
}

export enum DtlStatus {
  OK = 0,
  NOT_OK = 1,
}

/** `code` is the op of a request or the status of a response. */
export interface Frame {
  code: number;
  requestId: number;
  payload: Buffer;
  /** The payload sits in a buffer the decoder allocated (not a view of a socket chunk); it may go back to its pool. */
  gathered?: boolean;
}

export class FrameTooLargeError extends Error {
  constructor(readonly length: number) {
    super(`DTL frame of ${length} bytes exceeds the limit of ${MAX_FRAME_BYTES}`);
  }
}

export class MalformedFrameError extends Error {}

export function encodeFrame(code: number, requestId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(frame, code, requestId, payload.length);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/** For callers that build the payload in place after the header. */
export function writeFrameHeader(target: Buffer, code: number, requestId: number, payloadBytes: number): void {
  const length = 5 + payloadBytes;
  if (length > MAX_FRAME_BYTES) throw new FrameTooLargeError(length);
  target.writeUInt32BE(length, 0);
  target.writeUInt8(code, 4);
  target.writeUInt32BE(requestId >>> 0, 5);
}

/** A frame that has not fully arrived: its header bytes so far, then (once its length is known) its whole buffer. */
interface PartialFrame {
  header: Buffer;
  headerBytes: number;
  buffer?: Buffer;
  filled: number;
}

/**
 * Cuts a byte stream into frames, whatever the chunk boundaries. A frame that lies inside one chunk is a view of it;
 * a frame cut by a chunk boundary is gathered, each byte copied once, into a buffer from `alloc` (a pool for large
 * frames), which the caller may hand back with `release` once it is done with the frame.
 */
export class FrameDecoder {
  private partial: PartialFrame | undefined;

  constructor(private readonly alloc: (bytes: number) => Buffer = (bytes) => Buffer.allocUnsafe(bytes)) {}

  /** Returns every frame completed by `chunk`; throws FrameTooLargeError or MalformedFrameError on a bad length. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      const p = this.partial;
      if (p !== undefined) {
        offset = this.fill(p, chunk, offset);
        if (p.buffer !== undefined && p.filled === p.buffer.length) {
          frames.push(frameOf(p.buffer, true));
          this.partial = undefined;
        }
        continue;
      }
      if (chunk.length - offset < 4) {
        this.partial = { header: Buffer.alloc(4), headerBytes: 0, filled: 0 };
        continue;
      }
      const total = 4 + checkLength(chunk.readUInt32BE(offset));
      if (chunk.length - offset >= total) {
        frames.push(frameOf(chunk.subarray(offset, offset + total), false));
        offset += total;
        continue;
      }
      this.partial = { header: Buffer.alloc(0), headerBytes: 4, buffer: this.alloc(total), filled: 0 };
    }
    return frames;
  }

  private fill(p: PartialFrame, chunk: Buffer, offset: number): number {
    if (p.buffer === undefined) {
      const take = Math.min(4 - p.headerBytes, chunk.length - offset);
      chunk.copy(p.header, p.headerBytes, offset, offset + take);
      p.headerBytes += take;
      offset += take;
      if (p.headerBytes < 4) return offset;
      p.buffer = this.alloc(4 + checkLength(p.header.readUInt32BE(0)));
      p.header.copy(p.buffer, 0);
      p.filled = 4;
    }
    const take = Math.min(p.buffer.length - p.filled, chunk.length - offset);
    chunk.copy(p.buffer, p.filled, offset, offset + take);
    p.filled += take;
    return offset + take;
  }

  /** Bytes of a frame that has not fully arrived yet. */
  get bufferedBytes(): number {
    return this.partial === undefined ? 0 : this.partial.buffer === undefined ? this.partial.headerBytes : this.partial.filled;
  }
}

function checkLength(length: number): number {
  if (length > MAX_FRAME_BYTES) throw new FrameTooLargeError(length);
  if (length < 5) throw new MalformedFrameError(`DTL frame length ${length} is shorter than its header`);
  return length;
}

function frameOf(bytes: Buffer, gathered: boolean): Frame {
  return { code: bytes.readUInt8(4), requestId: bytes.readUInt32BE(5), payload: bytes.subarray(FRAME_HEADER_BYTES), gathered };
}
