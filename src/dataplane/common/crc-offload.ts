import { Worker } from 'node:worker_threads';
import type { CrcRequest } from './crc-worker.js';
import { crc32 } from './crc32.js';

/**
 * CRC-32 of bytes in shared memory, computed on a worker thread. Streaming writes sum every byte (the SCO CRC of
 * the TLog); the worker sums a slot while the thread pool writes it, so the event loop does neither. The worker
 * keeps the process alive only while a sum is owed; if it cannot start or dies, sums are computed inline.
 */
class CrcOffload {
  private worker: Worker | undefined;
  private failed = false;
  private nextId = 1;
  private sentMemory: SharedArrayBuffer | undefined;
  private readonly waiting = new Map<number, { resolve: (crc: number) => void; view: Uint8Array }>();

  crcOf(view: Uint8Array): Promise<number> {
    const w = this.start();
    if (!w || !(view.buffer instanceof SharedArrayBuffer)) return Promise.resolve(crc32(view));
    const id = this.nextId++;
    return new Promise((resolve) => {
      if (this.waiting.size === 0) w.ref(); // keeps the process up while a sum is owed
      this.waiting.set(id, { resolve, view });
      const memory = view.buffer as SharedArrayBuffer;
      // Posting a SharedArrayBuffer costs ~50 µs; the worker keeps the last one, so it is sent only when it changes.
      const req: CrcRequest = { id, offset: view.byteOffset, length: view.length };
      if (memory !== this.sentMemory) {
        req.memory = memory;
        this.sentMemory = memory;
      }
      w.postMessage(req);
    });
  }

  private start(): Worker | undefined {
    if (this.worker || this.failed) return this.worker;
    try {
      const w = new Worker(new URL('./crc-worker.js', import.meta.url));
      w.on('message', (m: { id: number; crc: number }) => {
        const entry = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (this.waiting.size === 0) w.unref();
        entry?.resolve(m.crc);
      });
      const fail = (): void => {
        this.failed = true;
        this.worker = undefined;
        // Whatever was in flight is summed here instead.
        for (const [id, { resolve, view }] of this.waiting) {
          this.waiting.delete(id);
          resolve(crc32(view));
        }
      };
      w.on('error', fail);
      w.on('exit', fail);
      w.unref(); // after the listeners: adding a 'message' listener refs the worker again
      this.worker = w;
    } catch {
      this.failed = true;
    }
    return this.worker;
  }
}

const offload = new CrcOffload();

/** CRC-32 of `view`: on the worker thread when it lies in shared memory, else inline. */
export function crc32Offloaded(view: Uint8Array): Promise<number> {
  return offload.crcOf(view);
}
