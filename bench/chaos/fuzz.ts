// Malformed requests to every task subject and garbage to the NBD and DTL ports: each request must be answered with
// a typed error, each connection closed or ignored, and no agent may fall over.
import { connect as tcpConnect } from 'node:net';
import { Packr } from 'msgpackr';
import type { NatsConnection } from 'nats';
import { decode, type Encoding } from '../../src/protocol/codec.js';
import { H, headersOf } from '../../src/protocol/headers.js';
import { buildTaskTable } from '../../src/tasks/table.js';
import type { Rng } from './rng.js';

const packr = new Packr({ useRecords: false });

export interface FuzzTally {
  typed: number;
  sent: number;
  /** Subjects and payload kinds that got no typed error (no answer, ok:true, or an undecodable answer). */
  untyped: string[];
}

export function taskSubjects(): string[] {
  return [...buildTaskTable({ testTasks: true }).keys()].map((name) => `ovs.task.${name}`);
}

/** Random bytes that msgpack does not read as a map (a map could be a valid request of a task without parameters). */
function randomFrame(rng: Rng): Buffer {
  const b = rng.bytes(1 + rng.int(48));
  try {
    const v: unknown = packr.unpack(b);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) b[0] = 0xc1;
  } catch {
    // not msgpack at all: what we want
  }
  return b;
}

function payloads(rng: Rng): Array<{ kind: string; data: Uint8Array; encoding: Encoding }> {
  return [
    { kind: 'random', data: randomFrame(rng), encoding: 'msgpack' },
    { kind: 'truncated-msgpack', data: Buffer.from([0x85, 0xa3, 0x61, 0x62]), encoding: 'msgpack' },
    { kind: 'msgpack-not-a-map', data: packr.pack(rng.pick([12345, 'vdisk', [1, 2, 3], true])), encoding: 'msgpack' },
    { kind: 'malformed-json', data: Buffer.from(rng.pick(['{"vdisk_guid": ', '[[[', '{"a":1,}', 'nul'])), encoding: 'json' },
  ];
}

async function typedReply(nc: NatsConnection, subject: string, p: { data: Uint8Array; encoding: Encoding }): Promise<boolean> {
  const headers = headersOf({ [H.timeout]: '5000', ...(p.encoding === 'json' ? { [H.contentType]: 'application/json' } : {}) });
  try {
    const reply = await nc.request(subject, p.data, { timeout: 8_000, headers });
    const body = decode(reply.data, p.encoding) as { ok?: boolean; error?: { type?: unknown } };
    return body.ok === false && typeof body.error?.type === 'string';
  } catch {
    return false;
  }
}

export async function fuzzNats(nc: NatsConnection, rng: Rng, tally: FuzzTally, parallel = 16): Promise<void> {
  const jobs = taskSubjects().flatMap((subject) => payloads(rng).map((p) => ({ subject, ...p })));
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      tally.sent++;
      if (await typedReply(nc, job.subject, job)) tally.typed++;
      else tally.untyped.push(`${job.subject} (${job.kind})`);
    }
  }));
}

/** Opens a connection, writes garbage, and waits (bounded) for the server to close it. */
export function garbageTo(host: string, port: number, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port });
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, 3_000);
    s.on('error', done);
    s.on('close', done);
    s.on('connect', () => s.write(data));
    s.resume();
  });
}

export async function fuzzPorts(targets: Array<{ host: string; port: number }>, rng: Rng): Promise<void> {
  for (const t of targets) {
    await Promise.all([
      garbageTo(t.host, t.port, rng.bytes(4096)),
      garbageTo(t.host, t.port, Buffer.concat([Buffer.from('IHAVEOPT'), rng.bytes(64)])),
      garbageTo(t.host, t.port, Buffer.alloc(0)),
    ]);
  }
}
