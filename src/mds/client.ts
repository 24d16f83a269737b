import type { NatsConnection } from 'nats';
import type { TableMeta } from '../dataplane/metadata/page-table.js';
import { BadRequestError, MdsUnavailableError, asOvsError } from '../errors.js';
import { faults } from '../testmode/faults.js';
import type { CatchUpResult } from './builder.js';
import type { MdsRole } from './role.js';
import type { MdsServer } from './server.js';
import { MAX_PAGES_PER_MESSAGE, decodeMessage, encodeMessage, mdsSubject, replyError } from './wire.js';

/** One MDS service, wherever it runs: in this process or behind its NATS subject. */
export interface MdsClient {
  readonly address: string;
  create_namespace(ns: string): Promise<void>;
  remove_namespace(ns: string): Promise<void>;
  list_namespaces(): Promise<string[]>;
  get_role(ns: string): Promise<{ role: MdsRole; owner_tag: number }>;
  set_role(ns: string, role: MdsRole, ownerTag?: number): Promise<void>;
  catch_up(ns: string, dryRun: boolean): Promise<CatchUpResult>;
  get_table_meta(ns: string): Promise<TableMeta>;
  page_numbers(ns: string): Promise<number[]>;
  multiget(ns: string, pages: number[]): Promise<Buffer[]>;
  multiset(ns: string, ownerTag: number, pages: Map<number, Buffer>, meta: Pick<TableMeta, 'corkId' | 'scrubId'>, cleared?: boolean): Promise<void>;
}

/** The MDS servers of this process by address: a client for one of them skips NATS. */
const localServers = new Map<string, MdsServer>();

export function registerLocalMds(server: MdsServer): void {
  localServers.set(server.address, server);
}

export function unregisterLocalMds(server: MdsServer): void {
  if (localServers.get(server.address) === server) localServers.delete(server.address);
}

type Op = { head: Record<string, unknown>; pages?: Buffer[] };
type Answer = { result: unknown; pages?: Buffer[] };

/** Runs one request on a server: what the NATS service and an in-process client both do. */
export async function dispatch(server: MdsServer, req: Op): Promise<Answer> {
  const h = req.head;
  const ns = typeof h.ns === 'string' ? h.ns : '';
  switch (h.op) {
    case 'create_namespace': return { result: await server.create_namespace({ ns }) ?? null };
    case 'remove_namespace': return { result: await server.remove_namespace({ ns }) ?? null };
    case 'list_namespaces': return { result: server.list_namespaces() };
    case 'get_role': return { result: server.get_role({ ns }) };
    case 'set_role': {
      if (h.role !== 'MASTER' && h.role !== 'SLAVE') throw new BadRequestError(`MDS role must be MASTER or SLAVE, not ${String(h.role).slice(0, 40)}`);
      return { result: await server.set_role({ ns, role: h.role, owner_tag: Number(h.owner_tag ?? 0) }) ?? null };
    }
    case 'catch_up': return { result: await server.catch_up({ ns, dry_run: h.dry_run === true }) };
    case 'get_table_meta': return { result: server.get_table_meta({ ns }) };
    case 'page_numbers': return { result: server.page_numbers({ ns }) };
    case 'multiget': {
      const pages = numbers(h.pages);
      if (pages.length > MAX_PAGES_PER_MESSAGE) throw new BadRequestError(`at most ${MAX_PAGES_PER_MESSAGE} pages per request`);
      return { result: pages, pages: server.multiget({ ns, pages }) };
    }
    case 'multiset': {
      const numbersOf = numbers(h.pages);
      const data = req.pages ?? [];
      if (numbersOf.length !== data.length) throw new BadRequestError(`multiset names ${numbersOf.length} pages and carries ${data.length}`);
      const meta = h.meta as Pick<TableMeta, 'corkId' | 'scrubId'> | undefined;
      await server.multiset({ ns, owner_tag: Number(h.owner_tag), pages: new Map(numbersOf.map((p, i) => [p, data[i]!])), ...(meta ? { meta } : {}), cleared: h.cleared === true });
      return { result: null };
    }
    default:
      throw new BadRequestError(`unknown MDS operation ${String(h.op).slice(0, 40)}`);
  }
}

function numbers(v: unknown): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && (x as number) >= 0)) throw new BadRequestError('pages must be a list of page numbers');
  return v as number[];
}

/** A client for the MDS service at `address`: in process when it runs here, else over NATS with `timeoutMs`. */
export function mdsClient(address: string, nc: NatsConnection | undefined, timeoutMs = 20_000): MdsClient {
  const call = async (req: Op): Promise<Answer> => {
    const local = localServers.get(address);
    if (local) {
      if (faults.active('mds.unresponsive', address)) throw new MdsUnavailableError(`MDS ${address} does not answer (injected)`, { service: address });
      return dispatch(local, req);
    }
    if (!nc) throw new MdsUnavailableError(`MDS ${address} is not served in this process and there is no NATS connection`, { service: address });
    let reply;
    try {
      reply = await nc.request(mdsSubject(address), encodeMessage(req.head, req.pages), { timeout: timeoutMs });
    } catch (e) {
      throw new MdsUnavailableError(`MDS ${address} does not answer: ${asOvsError(e).message}`, { service: address });
    }
    const { head, pages } = decodeMessage(reply.data);
    if (head.error) replyError(head);
    return { result: head.result, pages };
  };
  return {
    address,
    create_namespace: async (ns) => void (await call({ head: { op: 'create_namespace', ns } })),
    remove_namespace: async (ns) => void (await call({ head: { op: 'remove_namespace', ns } })),
    list_namespaces: async () => (await call({ head: { op: 'list_namespaces' } })).result as string[],
    get_role: async (ns) => (await call({ head: { op: 'get_role', ns } })).result as { role: MdsRole; owner_tag: number },
    set_role: async (ns, role, ownerTag) => void (await call({ head: { op: 'set_role', ns, role, owner_tag: ownerTag ?? 0 } })),
    catch_up: async (ns, dryRun) => (await call({ head: { op: 'catch_up', ns, dry_run: dryRun } })).result as CatchUpResult,
    get_table_meta: async (ns) => (await call({ head: { op: 'get_table_meta', ns } })).result as TableMeta,
    page_numbers: async (ns) => (await call({ head: { op: 'page_numbers', ns } })).result as number[],
    multiget: async (ns, pages) => {
      const out: Buffer[] = [];
      for (let i = 0; i < pages.length; i += MAX_PAGES_PER_MESSAGE) out.push(...((await call({ head: { op: 'multiget', ns, pages: pages.slice(i, i + MAX_PAGES_PER_MESSAGE) } })).pages ?? []));
      return out;
    },
    multiset: async (ns, ownerTag, pages, meta, cleared) => {
      const entries = [...pages];
      // Chunks before the last move pages only; the last one records the cork (pages ahead of a cork are harmless).
      for (let i = 0; i === 0 || i < entries.length; i += MAX_PAGES_PER_MESSAGE) {
        const chunk = entries.slice(i, i + MAX_PAGES_PER_MESSAGE);
        const last = i + MAX_PAGES_PER_MESSAGE >= entries.length;
        await call({
          head: { op: 'multiset', ns, owner_tag: ownerTag, pages: chunk.map(([p]) => p), ...(last ? { meta } : {}), cleared: i === 0 && cleared === true },
          pages: chunk.map(([, d]) => d),
        });
      }
    },
  };
}
