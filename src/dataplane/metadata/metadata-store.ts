import type { PageTable } from './page-table.js';

interface Cork {
  tlogId: string;
  map: Map<number, Buffer>;
}

/**
 * Volume-side metadata (C5): writes since the last uploaded TLog live in per-TLog cork maps; uncorking the oldest
 * applies it to the table once that TLog and the snapshots file that flags it are in the backend, so the table
 * never runs ahead of the backend.
 */
export class MetadataStore {
  private corks: Cork[] = [];

  constructor(readonly table: PageTable) {}

  read(ca: number): Buffer | undefined {
    for (let i = this.corks.length - 1; i >= 0; i--) {
      const hit = this.corks[i]!.map.get(ca);
      if (hit) return hit;
    }
    return this.table.get(ca);
  }

  write(ca: number, loc: Buffer): void {
    const cork = this.corks[this.corks.length - 1];
    if (!cork) throw new Error('metadata store has no open cork');
    cork.map.set(ca, loc);
  }

  /** Starts a new cork for the TLog that becomes current. */
  cork(tlogId: string): void {
    this.corks.push({ tlogId, map: new Map() });
  }

  /** Applies the oldest cork (which must be `tlogId`) to the table, durably, with the table's cork = tlogId. */
  async uncork(tlogId: string): Promise<void> {
    const oldest = this.corks[0];
    if (!oldest || oldest.tlogId !== tlogId) throw new Error(`uncork ${tlogId}: oldest cork is ${oldest?.tlogId ?? 'none'}`);
    for (const [ca, loc] of oldest.map) this.table.set(ca, loc);
    await this.table.barrier({ corkId: tlogId });
    this.corks.shift();
  }

  /** Drops all corks (rollback, restart rebuild). */
  reset(): void {
    this.corks = [];
  }

  get corkIds(): string[] {
    return this.corks.map((c) => c.tlogId);
  }

  usedClusters(): number {
    return this.table.meta.usedClusters;
  }
}
