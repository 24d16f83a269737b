import type nact from 'nact';
import type { KV } from 'nats';
import type { Logger } from 'pino';
import { Lease } from './lease.js';

export interface SingletonSpec<Ref> {
  /** Lease key, e.g. `cluster` or `vpool.<guid>`. */
  lease: string;
  spawn(): Ref;
  /** Called when the singleton stops here (lease lost or released). */
  onStop?(): void;
}

interface Slot<Ref> {
  lease: Lease;
  spec: SingletonSpec<Ref>;
  ref?: Ref;
}

/**
 * Runs each cluster-wide singleton where its lease is held: spawns the actor when this agent acquires the lease,
 * stops it when the lease is lost or released. Another agent takes over when the holder dies (lease expiry).
 */
export class Singletons<Ref = nact.Ref<unknown>> {
  private readonly running = new Map<string, Slot<Ref>>();

  constructor(
    private readonly kv: KV,
    private readonly me: string,
    private readonly ttlMs: number,
    private readonly stopActor: (ref: Ref) => void,
    private readonly log: Logger,
  ) {}

  ensure(spec: SingletonSpec<Ref>): void {
    if (this.running.has(spec.lease)) return;
    const lease = new Lease(this.kv, spec.lease, this.me, this.ttlMs);
    const slot: Slot<Ref> = { lease, spec };
    lease.on('acquired', () => {
      this.log.info({ lease: spec.lease }, 'lease acquired; singleton starts here');
      slot.ref = spec.spawn();
    });
    lease.on('lost', () => {
      this.log.warn({ lease: spec.lease }, 'lease lost; singleton stops here');
      spec.onStop?.();
      if (slot.ref) this.stopActor(slot.ref);
      slot.ref = undefined;
    });
    lease.on('error', (e: unknown) => this.log.debug({ lease: spec.lease, err: e }, 'lease renewal failed'));
    this.running.set(spec.lease, slot);
    lease.start();
  }

  async release(leaseKey: string): Promise<void> {
    const slot = this.running.get(leaseKey);
    if (!slot) return;
    this.running.delete(leaseKey);
    if (slot.lease.isHeld) slot.spec.onStop?.();
    await slot.lease.stop();
    if (slot.ref) this.stopActor(slot.ref);
  }

  /** The local actor of a singleton, when this agent holds its lease. */
  local(leaseKey: string): Ref | undefined {
    const slot = this.running.get(leaseKey);
    return slot?.lease.isHeld ? slot.ref : undefined;
  }

  keys(): string[] {
    return [...this.running.keys()];
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((k) => this.release(k)));
  }
}
