import type { NbdVolume } from '../../src/dataplane/nbd/export.js';

/** A promise with its resolver, to hold a volume operation until the test releases it. */
export class Gate {
  readonly promise: Promise<void>;
  open!: () => void;
  constructor() {
    this.promise = new Promise<void>((r) => (this.open = r));
  }
}

/**
 * An in-memory NbdVolume with an event log and hooks for protocol tests: writes can be held on a gate,
 * concurrency is measured, failures and `halted` can be injected.
 */
export class MemoryVolume implements NbdVolume {
  readonly data: Buffer;
  halted = false;
  /** While set, every write waits for it before applying. */
  writeGate: Gate | undefined;
  /** When set, read/write/sync throw it. */
  failWith: Error | undefined;
  readonly events: string[] = [];
  active = 0;
  maxActive = 0;
  private activeWaiters: Array<{ n: number; resolve: () => void }> = [];

  constructor(
    readonly size: number,
    readonly readOnly = false,
    readonly blockSize = 4096,
  ) {
    this.data = Buffer.alloc(size);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    this.events.push(`read ${offset} ${length}`);
    if (this.failWith) throw this.failWith;
    await Promise.resolve();
    return Buffer.from(this.data.subarray(offset, offset + length));
  }

  async write(offset: number, data: Buffer): Promise<void> {
    this.events.push(`write-start ${offset} ${data.length}`);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    this.activeWaiters = this.activeWaiters.filter((w) => (this.active >= w.n ? (w.resolve(), false) : true));
    try {
      if (this.writeGate) await this.writeGate.promise;
      if (this.failWith) throw this.failWith;
      data.copy(this.data, offset);
      this.events.push(`write-end ${offset} ${data.length}`);
    } finally {
      this.active--;
    }
  }

  async sync(): Promise<void> {
    this.events.push('sync');
    if (this.failWith) throw this.failWith;
  }

  /** Resolves once at least `n` writes are executing at the same time. */
  whenActive(n: number): Promise<void> {
    if (this.active >= n) return Promise.resolve();
    return new Promise((resolve) => this.activeWaiters.push({ n, resolve }));
  }
}
