import type { Logger } from 'pino';
import type { PageTable, TableMeta } from '../metadata/page-table.js';
import type { MdsClient } from '../../mds/client.js';
import { Mutex } from '../common/locks.js';

/** `MDSMetaDataBackendConfig` (§A14): MDS services as `ip:port`, the master first. */
export interface MdsBackendConfig {
  nodes: string[];
  /** A candidate further behind than this is passed over while a closer one answers (vPool `mds_tlogs`). */
  maxTlogsBehind: number;
}

export interface MdsLinkHost {
  readonly id: string;
  readonly ns: string;
  readonly ownerTag: number;
  readonly table: PageTable;
  readonly log: Logger;
  /** Stores the (rotated) configuration with the volume's configuration. */
  saveMdsConfig(cfg: MdsBackendConfig): Promise<void>;
  emit(type: string, fields: Record<string, unknown>): void;
}

/**
 * The volume's metadata backend (§A14, §C5): the owner's table is durable locally, and every barrier (an uncork, a
 * scrub's relocations, a rollback's rebuild) is pushed to the master MDS under the owner tag, so the master equals
 * the replay of the backend up to its cork. A master that fails is replaced by the next service in the list: it
 * gets the owner's whole table and the MASTER role, the rotated list is stored, and `volumedriver_error` code 25
 * (MDSFailover) asks the framework to restore safety. Unlike the original the volume never halts for this: it
 * holds its whole table; without any answering MDS it keeps serving, reports it, and tries again at the next barrier.
 */
export class MdsLink {
  private readonly mutex = new Mutex();
  /** The master holds the owner's table as of the last barrier. */
  private inSync = false;
  /** No service answered and that was reported; cleared when a master is taken again. */
  private outageReported = false;

  constructor(private readonly v: MdsLinkHost, private cfg: MdsBackendConfig, private readonly client: (address: string) => MdsClient) {}

  get config(): MdsBackendConfig {
    return { nodes: [...this.cfg.nodes], maxTlogsBehind: this.cfg.maxTlogsBehind };
  }

  /** Takes the master at the first service that answers (at open, after an owner change: a new owner tag). */
  attach(): Promise<void> {
    return this.mutex.run(() => this.ensureMaster());
  }

  /** The table's barrier: its changed pages go to the master. */
  onBarrier(pages: Map<number, Buffer>, meta: TableMeta, cleared: boolean): Promise<void> {
    return this.mutex.run(async () => {
      const master = this.cfg.nodes[0];
      if (master === undefined) return;
      if (this.inSync) {
        try {
          await this.client(master).multiset(this.v.ns, this.v.ownerTag, pages, { corkId: meta.corkId, scrubId: meta.scrubId }, cleared);
          return;
        } catch (e) {
          this.v.log.warn({ err: e, volume: this.v.id, mds: master }, 'MDS master did not take the metadata; failing over');
          this.inSync = false;
        }
      }
      await this.ensureMaster();
    });
  }

  /**
   * `update_metadata_backend_config`: a new first entry becomes master (gets the table, the MASTER role) before the
   * list is stored; if it cannot, nothing changes and the caller gets the error (never half-applied).
   */
  update(cfg: MdsBackendConfig): Promise<void> {
    return this.mutex.run(async () => {
      const next = cfg.nodes[0];
      if (next === undefined) throw new RangeError('a metadata backend configuration needs at least one MDS service');
      if (next !== this.cfg.nodes[0] || !this.inSync) await this.takeMaster(next);
      this.cfg = { nodes: [...cfg.nodes], maxTlogsBehind: cfg.maxTlogsBehind };
      this.inSync = true;
      await this.v.saveMdsConfig(this.config);
    });
  }

  private async ensureMaster(): Promise<void> {
    const nodes = this.cfg.nodes;
    if (nodes.length === 0) return;
    const errors: string[] = [];
    const reachable: Array<{ address: string; behind: number }> = [];
    for (const address of nodes) {
      if (address === nodes[0]) {
        try {
          await this.takeMaster(address);
          this.inSync = true;
          this.outageReported = false;
          return;
        } catch (e) {
          errors.push(`${address}: ${(e as Error).message}`);
          continue;
        }
      }
      // A service that answers without a table for the volume is a candidate too (last): it gets the whole table.
      const behind = await this.client(address).catch_up(this.v.ns, true).then(
        (r) => r.tlogs,
        (e: unknown) => ((e as { type?: string }).type === 'MDS_NAMESPACE_NOT_FOUND' ? Number.POSITIVE_INFINITY : undefined),
      );
      if (behind !== undefined) reachable.push({ address, behind });
    }
    // Prefer a candidate close to the backend; any answering one will do, as it gets the owner's whole table.
    const ordered = [...reachable.filter((c) => c.behind <= this.cfg.maxTlogsBehind), ...reachable.filter((c) => c.behind > this.cfg.maxTlogsBehind)];
    for (const { address } of ordered) {
      try {
        await this.takeMaster(address);
      } catch (e) {
        errors.push(`${address}: ${(e as Error).message}`);
        continue;
      }
      const old = nodes[0]!;
      this.cfg = { ...this.cfg, nodes: [address, ...nodes.filter((n) => n !== address)] };
      this.inSync = true;
      this.outageReported = false;
      await this.v.saveMdsConfig(this.config);
      this.v.log.warn({ volume: this.v.id, from: old, to: address }, 'MDS failover: a slave took over as master');
      this.v.emit('volumedriver_error', { code: 25, code_name: 'MDSFailover', volume_name: this.v.id, info: address });
      return;
    }
    // Once per outage: every later barrier tries again, quietly.
    if (this.outageReported) return;
    this.outageReported = true;
    this.v.log.error({ volume: this.v.id, errors }, 'no MDS service of the volume answers; its metadata is only on its owner until one does');
    this.v.emit('volumedriver_error', { code: 25, code_name: 'MDSFailover', volume_name: this.v.id, info: null, errors });
  }

  /** Makes `address` the master with the owner's tag and table (skipping the copy when it already equals it). */
  private async takeMaster(address: string): Promise<void> {
    const c = this.client(address);
    await c.create_namespace(this.v.ns);
    const { role, owner_tag } = await c.get_role(this.v.ns);
    const meta = await c.get_table_meta(this.v.ns);
    const mine = this.v.table.meta;
    const same = meta.corkId === mine.corkId && meta.scrubId === mine.scrubId && meta.usedClusters === mine.usedClusters && role === 'MASTER' && owner_tag === this.v.ownerTag;
    if (same) return;
    await c.set_role(this.v.ns, 'MASTER', this.v.ownerTag);
    const pages = new Map(this.v.table.pageNumbers().map((p) => [p, this.v.table.page(p)] as const));
    await c.multiset(this.v.ns, this.v.ownerTag, pages, { corkId: mine.corkId, scrubId: mine.scrubId }, true);
  }
}
