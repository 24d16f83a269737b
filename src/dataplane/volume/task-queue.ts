import { sleep } from '../../supervisors/backoff.js';
import { FencedError } from '../backend/backend.js';

interface Task {
  name: string;
  barrier: boolean;
  run: () => Promise<void>;
  done: Promise<void>;
  settle: () => void;
}

/**
 * The volume's ordered backend queue (C3): a non-barrier task starts once the last barrier before it finished and
 * may run alongside other non-barriers; a barrier starts when everything before it finished and nothing after it
 * starts before it ends. Transient errors are retried with backoff; FencedError (or any error after `maxAttempts`)
 * is handed to `onFatal`, which halts the volume.
 */
export class TaskQueue {
  private readonly tasks: Task[] = [];
  private running = new Set<Task>();
  private stopped = false;

  constructor(private readonly onFatal: (task: string, e: unknown) => void, private readonly maxAttempts = 8) {}

  push(name: string, run: () => Promise<void>, opts: { barrier?: boolean } = {}): Promise<void> {
    let settle!: () => void;
    const done = new Promise<void>((r) => (settle = r));
    this.tasks.push({ name, barrier: opts.barrier ?? false, run, done, settle });
    this.pump();
    return done;
  }

  /** Resolves when every queued task has finished (or the queue stopped). */
  async idle(): Promise<void> {
    while (this.tasks.length > 0 && !this.stopped) await Promise.all(this.tasks.map((t) => t.done));
  }

  get length(): number {
    return this.tasks.length;
  }

  /** Stops starting tasks (halt or shutdown); waits for the running ones. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.running].map((t) => t.done));
    for (const t of this.tasks) t.settle();
    this.tasks.length = 0;
  }

  /** After a fatal error nothing queued may run any more (it would reorder uploads): release its waiters. */
  private abandonQueued(): void {
    this.stopped = true;
    for (const q of this.tasks.filter((x) => !this.running.has(x))) q.settle();
    this.tasks.splice(0, this.tasks.length, ...this.tasks.filter((x) => this.running.has(x)));
  }

  private pump(): void {
    if (this.stopped) return;
    for (let i = 0; i < this.tasks.length; i++) {
      const t = this.tasks[i]!;
      if (this.running.has(t)) {
        if (t.barrier) return;
        continue;
      }
      if (t.barrier) {
        if (i === 0) this.start(t);
        return;
      }
      this.start(t);
    }
  }

  private start(t: Task): void {
    this.running.add(t);
    void this.attempt(t).finally(() => {
      this.running.delete(t);
      const i = this.tasks.indexOf(t);
      if (i >= 0) this.tasks.splice(i, 1);
      t.settle();
      this.pump();
    });
  }

  private async attempt(t: Task): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.stopped) return;
      try {
        await t.run();
        return;
      } catch (e) {
        if (e instanceof FencedError || attempt >= this.maxAttempts) {
          this.abandonQueued();
          this.onFatal(t.name, e);
          return;
        }
        await sleep(Math.min(20 * 2 ** attempt, 2_000));
      }
    }
  }
}
