// Malformed requests to every subject an agent answers and garbage to the NBD and DTL ports: each request must be
// answered with a typed error, each connection closed or ignored, each port still serving a real client afterwards,
// and no agent may fall over.
import { Packr } from 'msgpackr';
import type { NatsConnection } from 'nats';
import { decode, type Encoding } from '../../src/protocol/codec.js';
import { H, headersOf } from '../../src/protocol/headers.js';
import { decodeMessage, encodeMessage } from '../../src/mds/wire.js';
import type { Rng } from './rng.js';
import { fuzzTargets, type FuzzContext, type FuzzTarget, clusterContext } from './fuzz-subjects.js';
import { fuzzPort, type PortFuzzResult } from './fuzz-ports.js';

export { garbageTo } from './fuzz-ports.js';
export type { FuzzContext, FuzzTarget } from './fuzz-subjects.js';
export { clusterContext, fuzzTargets } from './fuzz-subjects.js';
export { fuzzEvents, type EventFuzzTally } from './fuzz-events.js';

const packr = new Packr({ useRecords: false });

/** The agent's default `maxRequestBytes` (src/agent.ts): bodies above it are refused with PAYLOAD_TOO_LARGE. */
export const AGENT_MAX_REQUEST_BYTES = 512 * 1024;

export interface FuzzTally {
  typed: number;
  sent: number;
  /** Subjects and payload kinds that got no typed error (no answer, ok:true, or an undecodable answer). */
  untyped: string[];
  /** Distinct subjects fuzzed (optional: the suite's tally predates it). */
  subjects?: number;
}

interface Payload {
  kind: string;
  data: Uint8Array;
  encoding: Encoding;
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

function oversizeBytes(nc: NatsConnection): number {
  // Above the agent's limit, below what nats-server accepts (a bigger message never reaches the agent).
  return Math.min(AGENT_MAX_REQUEST_BYTES + 4096, (nc.info?.max_payload ?? 1024 * 1024) - 4096);
}

function payloads(rng: Rng, t: FuzzTarget, oversize: number): Payload[] {
  const list: Payload[] = [
    { kind: 'random', data: randomFrame(rng), encoding: 'msgpack' },
    { kind: 'truncated-msgpack', data: Buffer.from([0x85, 0xa3, 0x61, 0x62]), encoding: 'msgpack' },
    { kind: 'msgpack-not-a-map', data: packr.pack(rng.pick([12345, 'vdisk', [1, 2, 3], true, null])), encoding: 'msgpack' },
    { kind: 'malformed-json', data: Buffer.from(rng.pick(['{"vdisk_guid": ', '[[[', '{"a":1,}', 'nul'])), encoding: 'json' },
    { kind: 'oversize', data: packr.pack({ fuzz_padding: 'x'.repeat(oversize) }), encoding: 'msgpack' },
  ];
  if (t.wrongTypes) list.push({ kind: 'wrong-types', data: packr.pack(t.wrongTypes), encoding: 'msgpack' });
  return list;
}

/** MDS speaks its own framing (u32 head length, JSON head, pages): malformed frames of it. */
function mdsPayloads(rng: Rng, oversize: number): Payload[] {
  const head = (n: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]), body]);
  return [
    { kind: 'random', data: rng.bytes(1 + rng.int(48)), encoding: 'msgpack' },
    { kind: 'short', data: Buffer.from([0, 0]), encoding: 'msgpack' },
    { kind: 'head-past-end', data: head(0xffff_fff0, Buffer.from('{"op":"list_namespaces"}')), encoding: 'msgpack' },
    { kind: 'head-not-json', data: head(5, Buffer.from('{"op"')), encoding: 'msgpack' },
    { kind: 'head-not-a-map', data: Buffer.from(encodeMessage([1, 2, 3])), encoding: 'msgpack' },
    { kind: 'unknown-op', data: Buffer.from(encodeMessage({ op: 'fuzz_no_such_op' })), encoding: 'msgpack' },
    { kind: 'wrong-types', data: Buffer.from(encodeMessage({ op: 'get_role', ns: 12345 })), encoding: 'msgpack' },
    { kind: 'wrong-types-create', data: Buffer.from(encodeMessage({ op: 'create_namespace', ns: 12345 })), encoding: 'msgpack' },
    { kind: 'partial-page', data: Buffer.concat([Buffer.from(encodeMessage({ op: 'multiset', ns: 'fuzz', owner_tag: 1, pages: [0] })), rng.bytes(100)]), encoding: 'msgpack' },
    { kind: 'oversize', data: Buffer.concat([Buffer.from(encodeMessage({ op: 'multiget', ns: 'fuzz', pages: 'all' })), Buffer.alloc(oversize - (oversize % 6144))]), encoding: 'msgpack' },
  ];
}

function decodeEither(data: Uint8Array, first: Encoding): unknown {
  try {
    return decode(data, first);
  } catch {
    return decode(data, first === 'json' ? 'msgpack' : 'json');
  }
}

async function typedReply(nc: NatsConnection, t: FuzzTarget, p: Payload): Promise<boolean> {
  const headers = headersOf({ [H.timeout]: '5000', ...(p.encoding === 'json' ? { [H.contentType]: 'application/json' } : {}) });
  try {
    const reply = await nc.request(t.subject, p.data, { timeout: 8_000, headers });
    if (t.family === 'mds') {
      const head = decodeMessage(reply.data).head as { error?: { type?: unknown } };
      return typeof head.error?.type === 'string';
    }
    // Some subjects answer in msgpack whatever the request's content type (internal ones): either encoding will do.
    const body = decodeEither(reply.data, p.encoding) as { ok?: boolean; error?: { type?: unknown } };
    return body.ok === false && typeof body.error?.type === 'string';
  } catch {
    return false;
  }
}

export interface FuzzNatsOptions {
  parallel?: number;
  /** The cluster's guids and addresses; read from the live model when not given. */
  context?: FuzzContext;
}

/**
 * Every payload kind to every request subject of the cluster (tasks, model, config, task results, each agent's
 * forwarded tasks, model relays, discovery, data-plane calls, update and test-mode subjects, each MDS service).
 */
export async function fuzzNats(nc: NatsConnection, rng: Rng, tally: FuzzTally, options: FuzzNatsOptions | number = {}): Promise<void> {
  const o = typeof options === 'number' ? { parallel: options } : options;
  const context = o.context ?? (await clusterContext(nc));
  const targets = fuzzTargets(context);
  tally.subjects = Math.max(tally.subjects ?? 0, targets.length);
  const oversize = oversizeBytes(nc);
  const jobs = targets.flatMap((t) => (t.family === 'mds' ? mdsPayloads(rng, oversize) : payloads(rng, t, oversize)).map((p) => ({ t, p })));
  let next = 0;
  await Promise.all(Array.from({ length: o.parallel ?? 16 }, async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      tally.sent++;
      if (await typedReply(nc, job.t, job.p)) tally.typed++;
      else tally.untyped.push(`${job.t.subject} (${job.p.kind})`);
    }
  }));
}

export interface PortFuzzTally {
  /** Malformed connections made. */
  sent: number;
  /** Ports that did not serve a real client after their fuzz (nbdinfo --list for NBD, a DTL request for DTL). */
  failures: string[];
}

/**
 * Garbage and malformed frames to each port (its protocol found by the greeting: an NBD server speaks first), then a
 * real client on it. Returns what was sent and which ports stopped serving.
 */
export async function fuzzPorts(targets: Array<{ host: string; port: number; kind?: 'nbd' | 'dtl' }>, rng: Rng): Promise<PortFuzzTally> {
  const tally: PortFuzzTally = { sent: 0, failures: [] };
  for (const t of targets) {
    const r: PortFuzzResult = await fuzzPort(t, rng);
    tally.sent += r.sent;
    if (!r.servesAfter) tally.failures.push(`${r.kind}://${t.host}:${t.port}${r.why ? ` (${r.why})` : ''}`);
  }
  return tally;
}
