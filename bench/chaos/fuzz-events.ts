// Garbage published on the subjects agents listen to without replying (heartbeats, events, the data-plane event
// stream): nothing answers, so what counts is that every agent still answers afterwards and the event stream drains.
import { Packr } from 'msgpackr';
import type { NatsConnection } from 'nats';
import { VOLDRV_STREAM } from '../../src/events/voldrv-events.js';
import {
  NODE_HEARTBEAT_SUBJECT, UPDATE_PROGRESS_SUBJECT, actorEventSubject, opsSubject, taskEventSubject, voldrvEventSubject,
} from '../../src/protocol/subjects.js';
import type { Rng } from './rng.js';

const packr = new Packr({ useRecords: false });

/** The event types the data-plane consumer acts on (src/events/voldrv-events.ts), and one it does not know. */
const VOLDRV_EVENT_TYPES = ['volume_create', 'volume_resize', 'volume_delete', 'owner_changed', 'dtl_state_transition', 'up_and_running', 'volumedriver_error', 'fuzz_unknown'];

export interface EventFuzzTally {
  published: number;
  /** Agents (StorageRouter guids) that no longer answered their discovery subject afterwards. */
  silentAgents: string[];
  /** The data-plane event consumer still had fuzzed events pending (redelivered) when the wait ended. */
  streamStuck: boolean;
}

function bodies(rng: Rng, type: string): Uint8Array[] {
  return [
    rng.bytes(1 + rng.int(48)),
    Buffer.from([0x85, 0xa3, 0x61, 0x62]),
    packr.pack(null),
    packr.pack([1, 2, 3]),
    packr.pack({ type, storagerouter_guid: 12345, volume_id: 12345, volume_name: true, node_id: 12345, size: 'big', new_owner_id: [1], old_state: 1, new_state: 2, code: 'x' }),
  ];
}

/** Every consumer of the event stream acknowledged (or terminated) everything up to the stream's last message. */
async function consumerDrained(nc: NatsConnection, waitMs: number): Promise<boolean> {
  const jsm = await nc.jetstreamManager();
  const last = (await jsm.streams.info(VOLDRV_STREAM)).state.last_seq;
  const until = Date.now() + waitMs;
  for (;;) {
    const consumers = await jsm.consumers.list(VOLDRV_STREAM).next();
    if (consumers.every((c) => c.ack_floor.stream_seq >= last)) return true;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function fuzzEvents(nc: NatsConnection, rng: Rng, storagerouters: string[], drainWaitMs = 20_000): Promise<EventFuzzTally> {
  const subjects = [
    NODE_HEARTBEAT_SUBJECT, actorEventSubject('restart'), actorEventSubject('escalated'), taskEventSubject('fuzz-task'), UPDATE_PROGRESS_SUBJECT,
    ...VOLDRV_EVENT_TYPES.map((t) => voldrvEventSubject(t)),
  ];
  const tally: EventFuzzTally = { published: 0, silentAgents: [], streamStuck: false };
  for (const subject of subjects) {
    for (const body of bodies(rng, subject.split('.').pop()!)) {
      nc.publish(subject, body);
      tally.published++;
    }
  }
  await nc.flush();
  tally.streamStuck = !(await consumerDrained(nc, drainWaitMs));
  for (const sr of storagerouters) {
    try {
      await nc.request(opsSubject(sr, 'info'), new Uint8Array(), { timeout: 5_000 });
    } catch {
      tally.silentAgents.push(sr);
    }
  }
  return tally;
}
