import type { KV, KvEntry } from 'nats';
import { decode } from '../protocol/codec.js';
import type { LeaseRecord } from './lease.js';

/** Watch-fed view of who holds which lease, so the router can find a singleton's node without a KV read. */
export class LeaseTable {
  private readonly holders = new Map<string, string>();
  private stopWatch: (() => void) | undefined;

  async start(kv: KV): Promise<void> {
    let markReady!: () => void;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    const iter = await kv.watch({ key: '>', initializedFn: () => markReady() });
    this.stopWatch = () => iter.stop();
    void (async () => {
      for await (const e of iter) this.apply(e);
    })();
    await ready;
  }

  stop(): void {
    this.stopWatch?.();
  }

  holderOf(key: string): string | undefined {
    return this.holders.get(key);
  }

  entries(): Array<{ lease: string; holder: string }> {
    return [...this.holders].map(([lease, holder]) => ({ lease, holder }));
  }

  private apply(e: KvEntry): void {
    if (e.operation !== 'PUT') {
      this.holders.delete(e.key);
      return;
    }
    this.holders.set(e.key, (decode(e.value) as LeaseRecord).holder);
  }
}
