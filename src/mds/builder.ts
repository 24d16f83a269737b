import type { Backend } from '../dataplane/backend/backend.js';
import type { PageTable } from '../dataplane/metadata/page-table.js';
import { allTLogs } from '../dataplane/snapshots/persistor.js';
import { downloadSnapshots, replay, volumeChain } from '../dataplane/volume/chain.js';

/** What a catch-up did or, as a dry run, would do. */
export interface CatchUpResult {
  /** TLogs replayed (or to replay): the "TLogs behind" an operator sees. */
  tlogs: number;
  full: boolean;
  corkId: string | null;
}

/**
 * The builder (volumedriver.md §C5): makes a table equal to the replay of the volume's backend chain up to its
 * last written TLog. Incremental (own TLogs after the table's cork) while the table's cork is in the chain and its
 * scrub id matches the backend's; otherwise a full rebuild, ancestors first. Replication only ever goes through
 * the backend, so a table never needs its master to catch up.
 */
export async function catchUp(table: PageTable, backend: Backend, ns: string, dryRun: boolean): Promise<CatchUpResult> {
  const doc = await downloadSnapshots(backend, ns);
  const written = allTLogs(doc).filter((t) => t.written).map((t) => t.id);
  const chain = await volumeChain(backend, { ns, doc });
  const lastCork = written[written.length - 1] ?? null;
  const fresh = table.meta.corkId === null && table.meta.usedClusters === 0;
  const corkAt = table.meta.corkId === null ? -1 : written.indexOf(table.meta.corkId);
  const full = !fresh && (table.meta.scrubId !== doc.scrubId || (table.meta.corkId !== null && corkAt < 0));
  const ownTodo = full || fresh ? written : written.slice(corkAt + 1);
  const ancestors = full || fresh ? chain.filter((l) => l.depth > 0) : [];
  const tlogs = ownTodo.length + ancestors.reduce((n, l) => n + l.tlogs.length, 0);
  if (dryRun || (tlogs === 0 && table.meta.scrubId === doc.scrubId && !full)) return { tlogs, full, corkId: lastCork };
  if (full) await table.clear();
  await replay(backend, table, [...ancestors, { ns, depth: 0, tlogs: ownTodo }]);
  await table.barrier({ corkId: lastCork, scrubId: doc.scrubId });
  return { tlogs, full, corkId: lastCork };
}
