import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Backend } from '../dataplane/backend/backend.js';
import { PAGE_BYTES, PAGE_ENTRIES, PageTable, type TableMeta } from '../dataplane/metadata/page-table.js';
import { MAX_VOLUME_BYTES } from '../dataplane/volume/volume-admin.js';
import { BadRequestError, MdsError, MdsNamespaceNotFoundError, MdsOwnerTagError, MdsRoleError } from '../errors.js';
import { faults } from '../testmode/faults.js';
import { KeyedMutex } from '../dataplane/registry/keyed-mutex.js';
import { catchUp, type CatchUpResult } from './builder.js';
import { loadRole, saveRole, type MdsRole, type RoleState } from './role.js';

const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

interface Hosted {
  table: PageTable;
  role: RoleState;
  dir: string;
}

export interface MdsServerOptions {
  /** `ip:port`, the identity the framework stores as an MDS service. */
  address: string;
  /** Where its tables live: one folder per namespace. */
  dir: string;
  backend: Backend;
  log: Logger;
  /** How often SLAVE tables catch up from the backend on their own (§A14 `mds_poll_secs`, default 300 s). */
  pollMs?: number;
  /** Someone else (its actor) calls `pollSlaves` on a schedule: no timer of its own. */
  externalPoll?: boolean;
}

/**
 * One metadata server (MDS service): many tables, one per volume namespace, each MASTER (takes its owner's pages
 * under the owner tag) or SLAVE (follows the backend: polls and `catch_up`). Serves in process and over NATS
 * (mds/nats-service.ts); its lifecycle is its own, not its volumes'.
 */
export class MdsServer {
  private readonly tables = new Map<string, Hosted>();
  private readonly locks = new KeyedMutex();
  private poller: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(readonly o: MdsServerOptions) {}

  get address(): string {
    return this.o.address;
  }

  async start(): Promise<void> {
    await mkdir(this.o.dir, { recursive: true });
    for (const ns of await readdir(this.o.dir)) {
      if (!NAMESPACE.test(ns)) continue;
      const dir = join(this.o.dir, ns);
      this.tables.set(ns, { table: await PageTable.open(dir), role: await loadRole(dir), dir });
    }
    if (this.o.externalPoll) return;
    this.poller = setInterval(() => void this.pollSlaves().catch((e: unknown) => this.o.log.warn({ err: e, mds: this.address }, 'MDS slave poll failed')), this.o.pollMs ?? 300_000);
    this.poller.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.poller);
    for (const [ns, h] of this.tables) await this.locks.run(ns, () => h.table.close());
    this.tables.clear();
  }

  list_namespaces(): string[] {
    return [...this.tables.keys()].sort();
  }

  async create_namespace(a: { ns: string }): Promise<void> {
    checkNamespace(a.ns);
    await this.locks.run(a.ns, async () => {
      if (this.tables.has(a.ns)) return;
      const dir = join(this.o.dir, a.ns);
      const table = await PageTable.open(dir);
      const role: RoleState = { role: 'SLAVE', ownerTag: 0 };
      await saveRole(dir, role);
      this.tables.set(a.ns, { table, role, dir });
    });
  }

  async remove_namespace(a: { ns: string }): Promise<void> {
    await this.locks.run(a.ns, async () => {
      const h = this.tables.get(a.ns);
      if (!h) return;
      this.tables.delete(a.ns);
      await h.table.close();
      await rm(h.dir, { recursive: true, force: true });
    });
  }

  get_role(a: { ns: string }): { role: MdsRole; owner_tag: number } {
    const h = this.hosted(a.ns);
    return { role: h.role.role, owner_tag: h.role.ownerTag };
  }

  async set_role(a: { ns: string; role: MdsRole; owner_tag?: number }): Promise<void> {
    await this.locks.run(a.ns, async () => {
      const h = this.hosted(a.ns);
      h.role = { role: a.role, ownerTag: a.role === 'MASTER' ? (a.owner_tag ?? 0) : h.role.ownerTag };
      await saveRole(h.dir, h.role);
    });
  }

  get_table_meta(a: { ns: string }): TableMeta {
    return { ...this.hosted(a.ns).table.meta };
  }

  /**
   * Replays what the backend has and the table lacks (a MASTER is up to date by its owner's pushes: 0). A dry run
   * only counts the TLogs: the "TLogs behind" of this table.
   */
  async catch_up(a: { ns: string; dry_run: boolean }): Promise<CatchUpResult> {
    if (faults.active('mds.catch_up', this.address)) throw new MdsError(`catch-up of ${a.ns} on ${this.address} failed (injected)`, { service: this.address, namespace: a.ns });
    const run = async (): Promise<CatchUpResult> => {
      const h = this.hosted(a.ns);
      if (h.role.role === 'MASTER' && !a.dry_run) return { tlogs: 0, full: false, corkId: h.table.meta.corkId };
      try {
        return await catchUp(h.table, this.o.backend, a.ns, a.dry_run);
      } catch (e) {
        throw new MdsError(`catch-up of ${a.ns} on ${this.address} failed: ${e instanceof Error ? e.message : String(e)}`, { service: this.address, namespace: a.ns });
      }
    };
    return a.dry_run ? run() : this.locks.run(a.ns, run);
  }

  /** Pages by number (zero pages for holes), in the order asked. */
  multiget(a: { ns: string; pages: number[] }): Buffer[] {
    const h = this.hosted(a.ns);
    return a.pages.map((p) => h.table.page(p));
  }

  /** Page numbers that hold locations (for a full copy of the table). */
  page_numbers(a: { ns: string }): number[] {
    return this.hosted(a.ns).table.pageNumbers();
  }

  /** The owner's durable pages and cork, only into a MASTER table under the owner's tag. */
  async multiset(a: { ns: string; owner_tag: number; pages: Map<number, Buffer>; meta?: Pick<TableMeta, 'corkId' | 'scrubId'>; cleared?: boolean }): Promise<void> {
    await this.locks.run(a.ns, async () => {
      const h = this.hosted(a.ns);
      if (h.role.role !== 'MASTER') throw new MdsRoleError(`table ${a.ns} on ${this.address} is a SLAVE: it takes no updates`, { service: this.address, namespace: a.ns, role: h.role.role });
      if (h.role.ownerTag !== a.owner_tag) {
        throw new MdsOwnerTagError(`table ${a.ns} on ${this.address} belongs to owner tag ${h.role.ownerTag}, not ${a.owner_tag}`, {
          service: this.address, namespace: a.ns, owner_tag: a.owner_tag, expected_owner_tag: h.role.ownerTag,
        });
      }
      checkPages(a.pages);
      if (a.cleared) await h.table.clear();
      for (const [p, data] of a.pages) h.table.setPage(p, data);
      // Without meta (a chunk of a larger push) the cork stays: pages running ahead of the cork are harmless.
      await h.table.barrier(a.meta ? { corkId: a.meta.corkId, scrubId: a.meta.scrubId } : {});
    });
  }

  private hosted(ns: string): Hosted {
    const h = this.tables.get(ns);
    if (!h) throw new MdsNamespaceNotFoundError(`${this.address} holds no table for namespace ${ns}`, { service: this.address, namespace: ns });
    return h;
  }

  /** Catches every SLAVE table up from the backend (one table's failure is logged; the next poll retries it). */
  async pollSlaves(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const [ns, h] of this.tables) {
        if (h.role.role !== 'SLAVE') continue;
        await this.catch_up({ ns, dry_run: false }).catch((e: unknown) => this.o.log.warn({ err: e, namespace: ns, mds: this.address }, 'slave catch-up from the backend failed; next poll retries'));
      }
    } finally {
      this.polling = false;
    }
  }
}

/** Page numbers of the largest volume (64 TiB of 4 KiB clusters): beyond, a write lands past what a file holds, or wraps. */
const MAX_PAGES = MAX_VOLUME_BYTES / 4096 / PAGE_ENTRIES;

/** Checked before anything changes: a bad page must not leave a table half updated (or unable to take a barrier). */
function checkPages(pages: Map<number, Buffer>): void {
  for (const [p, data] of pages) {
    if (!Number.isInteger(p) || p < 0 || p >= MAX_PAGES) throw new BadRequestError(`page number ${p} is beyond the largest volume (${MAX_PAGES} pages)`);
    if (data.length !== PAGE_BYTES) throw new BadRequestError(`page ${p} has ${data.length} bytes, not ${PAGE_BYTES}`);
  }
}

function checkNamespace(ns: string): void {
  if (!NAMESPACE.test(ns)) throw new BadRequestError(`not a namespace name: ${JSON.stringify(ns).slice(0, 80)}`);
}
