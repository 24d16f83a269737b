/**
 * The DTL client's async mode: add() copies entries into a bounded queue and returns; one background sender ships
 * them in order. Producers wait while the queue is full, which throttles the volume to the DTL's pace.
 */
import { FramePool } from './frame-pool.js';
import { type DtlEntry, MAX_ENTRIES_PER_ADD } from './messages.js';

/** One add()'s copy of its clusters; back to the pool once every entry in it was acknowledged. */
interface CopyBlock {
  memory: Buffer;
  unacknowledged: number;
}

const BATCH_ENTRIES = MAX_ENTRIES_PER_ADD;
const MAX_SENDS = 4;

export class AsyncAddQueue {
  private readonly queued: DtlEntry[] = [];
  /** The copy each queued entry lives in, index for index. */
  private readonly queuedBlocks: CopyBlock[] = [];
  private readonly copies = new FramePool();
  private sending = false;
  /** Entries taken off the queue whose ADD is not acknowledged yet; they count against the capacity. */
  private inFlight = 0;
  /** Frames sent and not answered yet. */
  private sends = 0;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly capacity: number,
    private readonly send: (entries: readonly DtlEntry[]) => Promise<void>,
    private readonly failure: () => Error | undefined,
    private readonly sendFailed: (error: unknown) => void,
  ) {}

  /**
   * Queues every entry before it returns (so adds from one caller keep their order without the caller holding a
   * lock), then waits while the queue is over its capacity: a producer is throttled to the DTL's pace after its
   * entries are in line, never before.
   */
  async add(entries: readonly DtlEntry[]): Promise<void> {
    this.throwIfFailed();
    // A copy, in one reused block per call: the caller's buffer may be a reused I/O slot, and fresh megabytes cost a
    // page fault per page.
    const block: CopyBlock = { memory: this.copies.take(entries.reduce((n, e) => n + e.data.length, 0)), unacknowledged: entries.length };
    let at = 0;
    for (const entry of entries) {
      const data = block.memory.subarray(at, at + entry.data.length);
      entry.data.copy(data);
      at += data.length;
      this.queued.push({ location: { ...entry.location }, lba: entry.lba, data });
      this.queuedBlocks.push(block);
    }
    this.pump();
    while (this.queued.length + this.inFlight > this.capacity) {
      this.throwIfFailed();
      await this.waitForChange();
    }
    this.throwIfFailed();
  }

  /** Resolves when everything queued before reached the server; rejects once the client failed. */
  async drained(): Promise<void> {
    for (;;) {
      this.throwIfFailed();
      if (this.queued.length === 0 && !this.sending && this.sends === 0) return;
      await this.waitForChange();
    }
  }

  /** Re-checks every waiter (after a send, or when the client failed). */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  private pump(): void {
    if (this.sending) return;
    this.sending = true;
    void this.run();
  }

  /**
   * Up to MAX_SENDS frames in flight: each waits for the DTL's answer, and one at a time would cap the queue at one
   * frame per round trip. The frames leave in queue order, since a send writes its frame before it returns.
   */
  private async run(): Promise<void> {
    try {
      while (this.queued.length > 0 && this.failure() === undefined) {
        if (this.sends >= MAX_SENDS) {
          await this.waitForChange();
          continue;
        }
        const batch = this.queued.splice(0, BATCH_ENTRIES);
        const blocks = this.queuedBlocks.splice(0, BATCH_ENTRIES);
        this.inFlight += batch.length;
        this.sends++;
        this.send(batch).then(
          () => {
            for (const block of blocks) if (--block.unacknowledged === 0) this.copies.give(block.memory);
            this.sent(batch.length);
          },
          (error: unknown) => {
            // Waiters see the failure through failure() once the client recorded it.
            this.sendFailed(error);
            this.sent(batch.length);
          },
        );
      }
    } finally {
      this.sending = false;
      this.wake();
    }
  }

  private sent(entries: number): void {
    this.inFlight -= entries;
    this.sends--;
    this.wake();
  }

  private waitForChange(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private throwIfFailed(): void {
    const failure = this.failure();
    if (failure !== undefined) throw failure;
  }
}
