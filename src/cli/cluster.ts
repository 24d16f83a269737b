import type { NatsConnection } from 'nats';
import { decode } from '../protocol/codec.js';
import { SERVICE_NAME, opsSubject } from '../ops/discovery.js';
import type { ActorInfo } from '../supervisors/supervision.js';

interface Ping {
  id: string;
  name: string;
  version: string;
  metadata?: Record<string, string>;
}

/** Every agent that answers `$SRV.PING.ovs-agent` within `waitMs`. */
export async function pingAgents(nc: NatsConnection, waitMs = 750): Promise<Ping[]> {
  const out: Ping[] = [];
  try {
    const replies = await nc.requestMany(`$SRV.PING.${SERVICE_NAME}`, new Uint8Array(), { maxWait: waitMs });
    for await (const m of replies) {
      try {
        out.push(JSON.parse(Buffer.from(m.data).toString('utf8')) as Ping);
      } catch {
        // not a micro-service ping reply
      }
    }
  } catch (e) {
    // No agent answers at all: that is an empty cluster, not an error (`ovs ls` then shows every node down).
    if ((e as { code?: string }).code !== '503') throw e;
  }
  return out;
}

export async function askNode<T>(nc: NatsConnection, guid: string, op: 'info' | 'tree' | 'stats' | 'tasks'): Promise<T> {
  const reply = await nc.request(opsSubject(guid, op), new Uint8Array(), { timeout: 2_000 });
  return (decode(reply.data) as { result: T }).result;
}

/** Asks every live agent the same question; an agent that does not answer in time contributes `fallback`. */
export async function askEveryAgent<T>(nc: NatsConnection, op: 'info' | 'tree' | 'stats' | 'tasks', fallback: T): Promise<Array<{ node: string; guid: string; result: T }>> {
  return Promise.all((await pingAgents(nc)).map(async (p) => {
    const guid = p.metadata?.storagerouter_guid ?? '';
    return { node: p.metadata?.name ?? guid, guid, result: await askNode<T>(nc, guid, op).catch(() => fallback) };
  }));
}

/** `ovs ls`: every StorageRouter of the model, up or down, with what its agent reports. */
export async function listNodes(nc: NatsConnection, model: Array<{ guid: string; name: string; ip: string }>): Promise<Array<Record<string, unknown>>> {
  const pings = await pingAgents(nc);
  const up = new Map(pings.map((p) => [p.metadata?.storagerouter_guid ?? '', p]));
  const rows = await Promise.all(model.map(async (sr) => {
    const p = up.get(sr.guid);
    const info = p ? await askNode<Record<string, unknown>>(nc, sr.guid, 'info').catch(() => undefined) : undefined;
    return {
      name: sr.name,
      storagerouter_guid: sr.guid,
      ip: sr.ip,
      status: p ? 'up' : 'down',
      ready: info ? Boolean(info.ready) : false,
      version: p?.version ?? null,
      uptime_s: info?.uptime_s ?? null,
      http_url: info?.http_url ?? null,
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
