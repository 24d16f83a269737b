import { MAX_FRAME_BYTES } from './frame.js';

/**
 * Large DTL frames are built and gathered in reused memory: fresh megabytes cost a page fault per page on first
 * touch, more than the copy itself on a VM. A buffer goes back once nothing refers to it any more.
 */
export class FramePool {
  private static readonly MIN_BYTES = 64 * 1024;
  private static readonly KEEP = 8;
  private readonly free: ArrayBuffer[] = [];

  take(bytes: number): Buffer {
    if (bytes < FramePool.MIN_BYTES) return Buffer.allocUnsafe(bytes);
    const i = this.free.findIndex((b) => b.byteLength >= bytes);
    const memory = i >= 0 ? this.free.splice(i, 1)[0]! : new ArrayBuffer(Math.max(bytes, MAX_FRAME_BYTES / 4));
    return Buffer.from(memory, 0, bytes);
  }

  /** `frame` (or a view starting anywhere in it) must not be used after this. */
  give(frame: Buffer): void {
    if (frame.buffer.byteLength < FramePool.MIN_BYTES || this.free.length >= FramePool.KEEP) return;
    if (frame.buffer instanceof ArrayBuffer && !this.free.includes(frame.buffer)) this.free.push(frame.buffer);
  }
}
