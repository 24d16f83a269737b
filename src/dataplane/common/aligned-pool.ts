import { closeSync, constants, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** O_DIRECT wants file offsets, lengths and memory aligned to the logical block size; 4 KiB covers every disk. */
export const DIRECT_ALIGN = 4096;
const WASM_PAGE = 65536;

/**
 * Page-aligned scratch buffers for O_DIRECT I/O, handed out one slot at a time. Node makes no promise about where a
 * Buffer's bytes start; a WebAssembly.Memory's buffer starts on a page boundary. The slots are never freed, so after
 * their first use they cost no page faults (a VM may hand freed guest memory back to its host, and touching it
 * again is slow).
 */
export class AlignedPool {
  private readonly free: Buffer[] = [];
  private readonly waiters: Array<(slot: Buffer) => void> = [];
  private readonly memory: SharedArrayBuffer;

  constructor(readonly slotBytes: number, readonly slots: number) {
    if (slotBytes % DIRECT_ALIGN !== 0 || slots < 1) throw new RangeError(`slots must be whole ${DIRECT_ALIGN}-byte blocks`);
    const pages = Math.ceil((slotBytes * slots) / WASM_PAGE);
    // Shared, so a worker thread can read a slot while the thread pool writes it out.
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    this.memory = memory.buffer as unknown as SharedArrayBuffer;
    const all = Buffer.from(memory.buffer);
    for (let i = 0; i < slots; i++) this.free.push(all.subarray(i * slotBytes, (i + 1) * slotBytes));
  }

  get freeSlots(): number {
    return this.free.length;
  }

  /** Whether `b` lies in this pool's memory at an O_DIRECT-aligned address (a slot or a part of one). */
  holdsAligned(b: Uint8Array): boolean {
    return b.buffer === this.memory && b.byteOffset % DIRECT_ALIGN === 0;
  }

  tryAcquire(): Buffer | undefined {
    return this.free.pop();
  }

  /** A free slot, waiting for one when all are in use. */
  acquire(): Promise<Buffer> {
    const slot = this.free.pop();
    if (slot) return Promise.resolve(slot);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(slot: Buffer): void {
    const next = this.waiters.shift();
    if (next) next(slot);
    else this.free.push(slot);
  }

  async with<T>(fn: (slot: Buffer) => Promise<T>): Promise<T> {
    const slot = await this.acquire();
    try {
      return await fn(slot);
    } finally {
      this.release(slot);
    }
  }
}

let shared: AlignedPool | undefined;

/** The process-wide pool: 32 slots of 1 MiB, touched lazily. */
export function sharedAlignedPool(): AlignedPool {
  shared ??= new AlignedPool(1024 * 1024, 32);
  return shared;
}

/** Whether files in `dir` can be opened with O_DIRECT and written from an aligned slot (tmpfs, for one, cannot). */
export function directIoWorks(dir: string): boolean {
  if (!('O_DIRECT' in constants)) return false;
  const probe = join(dir, `.direct-probe-${process.pid}`);
  let fd: number | undefined;
  try {
    fd = openSync(probe, constants.O_CREAT | constants.O_WRONLY | constants.O_DIRECT, 0o600);
    const slot = Buffer.from(new WebAssembly.Memory({ initial: 1 }).buffer).subarray(0, DIRECT_ALIGN);
    return writeSync(fd, slot, 0, DIRECT_ALIGN, 0) === DIRECT_ALIGN;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(probe);
    } catch {
      // never created
    }
  }
}
