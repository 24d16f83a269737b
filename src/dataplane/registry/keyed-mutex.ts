import { Mutex } from '../common/locks.js';

/** One FIFO mutex per key, dropped when nobody holds or waits for it. */
export class KeyedMutex {
  private readonly slots = new Map<string, { mutex: Mutex; users: number }>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let slot = this.slots.get(key);
    if (!slot) this.slots.set(key, (slot = { mutex: new Mutex(), users: 0 }));
    slot.users++;
    try {
      return await slot.mutex.run(fn);
    } finally {
      if (--slot.users === 0) this.slots.delete(key);
    }
  }
}
