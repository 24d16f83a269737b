import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from 'nats';
import type { Logger } from 'pino';
import { asOvsError } from '../errors.js';
import { decode, encode } from '../protocol/codec.js';
import { VOLDRV_EVENT_WILDCARD, voldrvEventSubject } from '../protocol/subjects.js';

export const VOLDRV_STREAM = 'OVS_VOLDRV_EVENTS';
const CONSUMER = 'ovs-voldrv-events';

/** The volume driver's events (C11, A17): facts, captured by a stream so a handler failure or a dead agent loses none. */
export async function ensureVoldrvStream(jsm: JetStreamManager, replicas = 1): Promise<void> {
  try {
    await jsm.streams.info(VOLDRV_STREAM);
  } catch {
    await jsm.streams.add({ name: VOLDRV_STREAM, subjects: [VOLDRV_EVENT_WILDCARD], max_age: 7 * 24 * 3600 * 1e9, num_replicas: replicas });
  }
  try {
    await jsm.consumers.info(VOLDRV_STREAM, CONSUMER);
  } catch {
    await jsm.consumers.add(VOLDRV_STREAM, { durable_name: CONSUMER, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: 30e9, max_deliver: 20 });
  }
}

export function publishVoldrvEvent(js: JetStreamClient, e: Record<string, unknown>, log: Logger): void {
  js.publish(voldrvEventSubject(String(e.type)), encode(e)).catch((err: unknown) => log.warn({ err, event: e.type }, 'data-plane event not stored'));
}

const MALFORMED = new Set(['VALIDATION_FAILED', 'BAD_REQUEST']);

function eventOf(data: Uint8Array): Record<string, unknown> | undefined {
  try {
    const e = decode(data);
    return e !== null && typeof e === 'object' && !Array.isArray(e) && !(e instanceof Uint8Array) ? (e as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export interface EventHandlers {
  /** Runs a task inline, through its owner. */
  call(task: string, params: Record<string, unknown>): Promise<unknown>;
}

/**
 * The `events` actor's job (§0.6 mapping): every agent pulls from one durable consumer, so each event is handled
 * once, anywhere. A handler failure is not acknowledged: the event comes back (the original acked failed messages and
 * lost them). Every event is acknowledged after its handler succeeded; identical resize events coalesce at the
 * handler's ensure_single (DEDUPED) instead of a debounce timer in one process.
 */
export class VoldrvEventConsumer {
  private messages: ConsumerMessages | undefined;

  constructor(private readonly js: JetStreamClient, private readonly h: EventHandlers, private readonly log: Logger) {}

  async start(): Promise<void> {
    const consumer = await this.js.consumers.get(VOLDRV_STREAM, CONSUMER);
    this.messages = await consumer.consume({ max_messages: 64 });
    void (async () => {
      for await (const m of this.messages!) {
        const e = eventOf(m.data);
        if (!e) {
          this.log.warn({ subject: m.subject, bytes: m.data.length }, 'data-plane event is not a map; dropped');
          m.term();
          continue;
        }
        try {
          await this.handle(e);
          m.ack();
        } catch (err) {
          // An event whose fields its handler refuses fails the same way every time: redelivering it only repeats that.
          if (MALFORMED.has(asOvsError(err).type)) {
            this.log.warn({ err, event: e.type }, 'data-plane event is malformed; dropped');
            m.term();
            continue;
          }
          this.log.warn({ err, event: e.type, redelivery: m.info.redeliveryCount }, 'data-plane event handler failed; it will be redelivered');
          m.nak(Math.min(30_000, 500 * 2 ** m.info.redeliveryCount));
        }
      }
    })();
  }

  stop(): void {
    this.messages?.stop();
  }

  private async handle(e: Record<string, unknown>): Promise<void> {
    switch (e.type) {
      case 'up_and_running':
        await this.h.call('vpool.up_and_running', { storagedriver_id: e.node_id });
        return;
      case 'volume_delete':
        await this.h.call('vdisk.delete_from_voldrv', { volume_id: e.volume_id });
        return;
      case 'owner_changed':
        await this.h.call('vdisk.migrate_from_voldrv', { volume_id: e.volume_id, new_owner_id: e.new_owner_id });
        return;
      case 'dtl_state_transition':
        await this.h.call('vdisk.dtl_state_transition', { volume_id: e.volume_id ?? e.volume_name, old_state: e.old_state, new_state: e.new_state, storagedriver_id: e.node_id });
        return;
      case 'volumedriver_error':
        // Numbered codes are the original's VolumeDriverErrorCode; a halt (named code) is logged where it happens.
        if (typeof e.code === 'number') await this.h.call('storagedriver.volumedriver_error', { code: e.code, volume_id: e.volume_id ?? e.volume_name });
        return;
      case 'volume_create':
      case 'volume_resize':
        // Acknowledged only once the model has it (get-or-create); the event comes back if that fails.
        await this.h.call('vdisk.resize_from_voldrv', { volume_id: e.volume_id, volume_size: e.size, volume_path: e.path, storagedriver_id: e.node_id });
        return;
      default:
        return;
    }
  }
}
