import { createInbox, type NatsConnection } from 'nats';
import { request } from '../client.js';
import { decode } from '../protocol/codec.js';
import { SERVICE_NAME } from '../ops/discovery.js';
import { modelSubject, opsSubject, type OpsOperation } from '../protocol/subjects.js';
import type { ActorInfo } from '../supervisors/supervision.js';

export interface ModelNode {
  guid: string;
  name: string;
  ip: string | null;
}

interface Ping {
  id: string;
  name: string;
  version: string;
  metadata?: Record<string, string>;
}

/** How long discovery waits for agents that never answer (a node that is down). */
const DISCOVERY_WINDOW_MS = 750;

export interface DiscoveryOptions {
  waitMs?: number;
  /** StorageRouter guids expected to answer: discovery ends as soon as all of them have, instead of at `waitMs`. */
  expected?: Iterable<string>;
}

function guidOf(p: Ping): string {
  return p.metadata?.storagerouter_guid ?? '';
}

/**
 * Every agent that answers `$SRV.PING.ovs-agent` within the window. The reply subscription is ours rather than a
 * `requestMany`, so discovery can end early and leaves no timer behind.
 */
export async function pingAgents(nc: NatsConnection, o: DiscoveryOptions = {}): Promise<Ping[]> {
  const missing = new Set(o.expected ?? []);
  const stopEarly = missing.size > 0;
  const out: Ping[] = [];
  const sub = nc.subscribe(createInbox());
  const window = setTimeout(() => sub.unsubscribe(), o.waitMs ?? DISCOVERY_WINDOW_MS);
  try {
    nc.publish(`$SRV.PING.${SERVICE_NAME}`, new Uint8Array(), { reply: sub.getSubject() });
    for await (const m of sub) {
      // No agent listens at all: that is an empty cluster, not an error (`ovs ls` then shows every node down).
      if (m.data.length === 0 && m.headers?.code === 503) break;
      const ping = parsePing(m.data);
      if (!ping) continue;
      out.push(ping);
      missing.delete(guidOf(ping));
      if (stopEarly && missing.size === 0) break;
    }
  } finally {
    clearTimeout(window);
    sub.unsubscribe();
  }
  return out;
}

function parsePing(data: Uint8Array): Ping | undefined {
  try {
    return JSON.parse(Buffer.from(data).toString('utf8')) as Ping;
  } catch {
    return undefined; // not a micro-service ping reply
  }
}

export async function askNode<T>(nc: NatsConnection, guid: string, op: OpsOperation): Promise<T> {
  const reply = await nc.request(opsSubject(guid, op), new Uint8Array(), { timeout: 2_000 });
  return (decode(reply.data) as { result: T }).result;
}

/** The StorageRouters of the model; discovery waits for exactly these. */
export function modelNodes(nc: NatsConnection): Promise<ModelNode[]> {
  return request<ModelNode[]>(nc, modelSubject('storagerouter', 'list'), {});
}

/** Asks every live agent the same question; an agent that does not answer in time contributes `fallback`. */
export async function askEveryAgent<T>(nc: NatsConnection, op: OpsOperation, fallback: T): Promise<Array<{ node: string; guid: string; result: T }>> {
  const expected = (await modelNodes(nc).catch(() => [])).map((sr) => sr.guid);
  return Promise.all((await pingAgents(nc, { expected })).map(async (p) => {
    const guid = guidOf(p);
    return { node: p.metadata?.name ?? guid, guid, result: await askNode<T>(nc, guid, op).catch(() => fallback) };
  }));
}

/**
 * `ovs ls`: every StorageRouter of the model, up or down, with what its agent reports, and any agent that answers
 * without being in the model (`in_model: false`).
 */
export async function listNodes(nc: NatsConnection, model: ModelNode[], o: { waitMs?: number } = {}): Promise<Array<Record<string, unknown>>> {
  const pings = await pingAgents(nc, { expected: model.map((sr) => sr.guid), waitMs: o.waitMs });
  const up = new Map(pings.map((p) => [guidOf(p), p]));
  const inModel = new Set(model.map((sr) => sr.guid));
  const strangers = pings.filter((p) => !inModel.has(guidOf(p))).map((p) => ({ guid: guidOf(p), name: p.metadata?.name ?? guidOf(p), ip: null }));
  const rows = await Promise.all([...model, ...strangers].map(async (sr) => {
    const p = up.get(sr.guid);
    const info = p ? await askNode<Record<string, unknown>>(nc, sr.guid, 'info').catch(() => undefined) : undefined;
    return {
      name: sr.name,
      storagerouter_guid: sr.guid,
      ip: sr.ip ?? info?.ip ?? null,
      status: p ? 'up' : 'down',
      ready: info ? Boolean(info.ready) : false,
      version: p?.version ?? null,
      uptime_s: info?.uptime_s ?? null,
      http_url: info?.http_url ?? null,
      in_model: inModel.has(sr.guid),
    };
  }));
  return rows.sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

export function formatTree(node: string, tree: ActorInfo[]): string {
  const lines = [`${node}`];
  for (const a of [...tree].sort((x, y) => x.path.localeCompare(y.path))) {
    const depth = a.path.split('/').length;
    lines.push(`${'  '.repeat(depth)}${a.path.split('/').pop()}  ${a.status}  mailbox=${a.mailbox ?? 0}  restarts=${a.restarts}${a.lastError ? `  last_error="${a.lastError}"` : ''}`);
  }
  return lines.join('\n');
}
