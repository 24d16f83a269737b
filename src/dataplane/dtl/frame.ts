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

/** Cuts a byte stream into frames, whatever the chunk boundaries. */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes the frame at the head of `pending` needs in all, once its length is known; saves re-joining chunks of a large frame. */
  private neededBytes = 0;

  /** Returns every frame completed by `chunk`; throws FrameTooLargeError or MalformedFrameError on a bad length. */
  push(chunk: Buffer): Frame[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: Frame[] = [];
    if (this.pendingBytes < this.neededBytes) return frames;
    let buffer = this.pending.length === 1 ? chunk : Buffer.concat(this.pending, this.pendingBytes);
    let offset = 0;
    while (buffer.length - offset >= 4) {
      const length = buffer.readUInt32BE(offset);
      if (length > MAX_FRAME_BYTES) throw new FrameTooLargeError(length);
      if (length < 5) throw new MalformedFrameError(`DTL frame length ${length} is shorter than its header`);
      if (buffer.length - offset < 4 + length) {
        this.neededBytes = 4 + length;
        break;
      }
      frames.push({
        code: buffer.readUInt8(offset + 4),
        requestId: buffer.readUInt32BE(offset + 5),
        // A copy: the frame may outlive the chunk, which the socket's owner could reuse.
        payload: Buffer.from(buffer.subarray(offset + FRAME_HEADER_BYTES, offset + 4 + length)),
      });
      offset += 4 + length;
    }
    buffer = buffer.subarray(offset);
    if (buffer.length < 4) this.neededBytes = 0;
    this.pending = buffer.length > 0 ? [buffer] : [];
    this.pendingBytes = buffer.length;
    return frames;
  }

  get bufferedBytes(): number {
    return this.pendingBytes;
  }
}
