import type nact from 'nact';
import type { NatsConnection } from 'nats';
import { encode } from '../protocol/codec.js';
import { actorEventSubject, type ActorEvent } from '../protocol/subjects.js';
import type { Supervision } from '../supervisors/supervision.js';

/** Supervision decisions as facts on `ovs.evt.actor.restart|escalated` (the dashboard's event stream). */
export function publishActorEvents(supervision: Supervision, nc: NatsConnection, me: string): void {
  const publish = (event: ActorEvent, data: Record<string, unknown>): void => {
    if (!nc.isClosed()) nc.publish(actorEventSubject(event), encode({ storagerouter_guid: me, ...data }));
  };
  supervision.on('restart', (path: string) => publish('restart', { path }));
  supervision.on('escalated', (path: string, reason: string) => publish('escalated', { path, reason }));
}

/** Test only: an actor that crashes on every tick, to show restarts, escalation and a degraded node. */
export function startCrashLoop(supervision: Supervision, parent: nact.Ref<unknown>, everyMs: number): () => void {
  const ref = supervision.spawn<number, { t: string }>(parent, 'crashloop', {
    initialState: () => 0,
    handle: () => {
      throw new Error('test actor crashes on every tick');
    },
  }, { maxRestarts: 5, periodMs: everyMs * 20, backoffInitialMs: 10, backoffMaxMs: 50 });
  const t = setInterval(() => {
    if (!supervision.isRunning(ref)) return clearInterval(t);
    supervision.tell(ref, { t: 'tick' });
  }, everyMs);
  return () => clearInterval(t);
}
