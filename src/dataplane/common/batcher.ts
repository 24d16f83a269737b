/**
 * Group commit: items submitted while a batch is running go together into the next one, in submission order. The
 * batch function returns one error (or undefined) per item; a throw fails the whole batch.
 */
export class Batcher<T> {
  private queue: Array<{ item: T; resolve: () => void; reject: (e: unknown) => void }> = [];
  private running = false;

  constructor(private readonly run: (items: T[]) => Promise<Array<unknown>>) {}

  submit(item: T): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.queue.push({ item, resolve, reject }));
    if (!this.running) void this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      let errors: Array<unknown>;
      try {
        errors = await this.run(batch.map((b) => b.item));
      } catch (e) {
        errors = batch.map(() => e);
      }
      batch.forEach((b, i) => (errors[i] === undefined ? b.resolve() : b.reject(errors[i])));
    }
    this.running = false;
  }
}
