import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { OWNER_TAG_OBJECT, type Backend, type FenceToken } from '../backend/backend.js';
import type { Geometry } from '../common/geometry.js';
import { isTLogName, newTLogName, scoName } from '../common/names.js';
import { sharedClusterCache } from '../cache/cluster-cache.js';
import { ScoStore } from '../datastore/sco-store.js';
import { InvalidOperationError, SnapshotNotFoundError } from '../errors.js';
import { MetadataStore } from '../metadata/metadata-store.js';
import { PageTable } from '../metadata/page-table.js';
import { packLoc } from '../metadata/location.js';
import { SNAPSHOTS_OBJECT, allTLogs, findSnapshot, freshSnapshotsFile, isSnapshotInBackend, loadLocal, localSnapshotsPath, saveLocal } from '../snapshots/persistor.js';
import type { SnapshotsFile } from '../snapshots/types.js';
import { readTLog, validateTLog } from '../tlog/reader.js';
import type { TLogRecord } from '../tlog/record.js';
import { TLogWriter } from '../tlog/writer.js';
import { crc32 } from '../common/crc32.js';
import { FAILOVERCACHE_CONFIG_OBJECT, VOLUME_CONFIG_OBJECT, newVolumeConfig, type VolumeConfig } from './config.js';
import { downloadSnapshots, namespacesByDepth, replay, volumeChain } from './chain.js';
import { catchUp } from '../../mds/builder.js';
import type { MdsClient } from '../../mds/client.js';
import { Volume, type VolumeDirs, type VolumeEvent } from './volume.js';
import type { DtlTimeouts } from './dtl-link.js';

export interface OpenContext {
  /** `<dataRoot>/<vpool>` of this node. */
  root: string;
  backend: Backend;
  nodeId: string;
  log: Logger;
  emit: VolumeEvent;
  /** Large SCO I/O with O_DIRECT where the filesystem allows it (default on; off compares against the page cache). */
  directIo?: boolean;
  /** Bytes of the process's read cache (0: none). */
  readCacheBytes?: number;
  dtlTimeouts?: DtlTimeouts;
  /** The volume's MDS services, for a backend restart that starts from a table instead of the whole chain. */
  mdsClient?: (address: string, timeoutMs?: number) => MdsClient;
  /** Told where a backend restart got its metadata from. */
  onMetadataSource?: (ns: string, source: MetadataSource) => void;
}

/** Where a backend restart's table came from: an MDS service's copy plus the TLogs it lacked, or the whole chain. */
export type MetadataSource = { from: 'mds'; service: string; tlogs_replayed: number; full_rebuild: boolean } | { from: 'backend'; tlogs_replayed: number };

/** A service that does not answer quickly is skipped: the backend has everything anyway. */
const MDS_SEED_TIMEOUT_MS = 3_000;

export function volumeDirs(root: string, ns: string): VolumeDirs {
  return { wc: join(root, 'wc', ns), tlogs: join(root, 'tlogs', ns), md: join(root, 'md', ns), mds: join(root, 'mds', ns) };
}

async function makeDirs(d: VolumeDirs): Promise<void> {
  for (const p of [d.wc, d.tlogs, d.md, d.mds]) await mkdir(p, { recursive: true });
}

export async function removeLocal(root: string, ns: string): Promise<void> {
  const d = volumeDirs(root, ns);
  for (const p of [d.wc, d.tlogs, d.md, d.mds]) await rm(p, { recursive: true, force: true });
}

/** The claims (owner tag doc nonces) this node wrote for the volume: the latest and the one before. */
const CLAIMS_FILE = 'claims.json';

/**
 * Claims the namespace. The nonce is recorded locally first (next to the previous one), so a crash between the two
 * steps still finds its own claim in the backend.
 */
async function claim(ctx: OpenContext, cfg: VolumeConfig, dirs: VolumeDirs) {
  const nonce = randomUUID();
  await writeFile(join(dirs.md, CLAIMS_FILE), JSON.stringify([nonce, ...(await localClaims(dirs)).slice(0, 1)]));
  return ctx.backend.claim(cfg.ns, Buffer.from(JSON.stringify({ ownerTag: cfg.ownerTag, nodeId: ctx.nodeId, nonce })));
}

async function localClaims(dirs: VolumeDirs): Promise<string[]> {
  // Unreadable or torn (a crash while writing it): no record, so the fallback in localStateIsCurrent decides.
  return readFile(join(dirs.md, CLAIMS_FILE), 'utf8').then((s) => JSON.parse(s) as unknown).then((v) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []), () => []);
}

/**
 * Whether the latest claim of the namespace is this node's own. Otherwise another node ran the volume since (a
 * failover while this node was stalled or cut off): the local copy misses what that node wrote, and the SCO numbers
 * it would continue with are that node's too, so uploading from it would overwrite that node's data.
 */
async function localStateIsCurrent(ctx: OpenContext, ns: string, dirs: VolumeDirs): Promise<boolean> {
  const doc = JSON.parse((await ctx.backend.get(ns, OWNER_TAG_OBJECT)).toString('utf8')) as { nodeId?: string; nonce?: string };
  const mine = await localClaims(dirs);
  // Local state written before claims were recorded: the node that claimed last is all there is to go by.
  return mine.length > 0 ? doc.nonce !== undefined && mine.includes(doc.nonce) : doc.nodeId === ctx.nodeId;
}

/**
 * A new volume (C4 create) or clone (C4 clone): namespace, claim, configs, fresh snapshots file, table (empty, or
 * the replayed ancestor chain tagged with clone depths), first SCO number 1.
 */
export async function createVolume(
  ctx: OpenContext,
  o: { volumeId: string; sizeBytes: number; geometry: Geometry; ownerTag: number; parent?: { ns: string; snapshot: string } },
): Promise<Volume> {
  const cfg = newVolumeConfig(o.volumeId, o.sizeBytes, o.geometry, o.ownerTag, o.parent ?? null);
  const dirs = volumeDirs(ctx.root, cfg.ns);
  await removeLocal(ctx.root, cfg.ns);
  await makeDirs(dirs);
  await ctx.backend.createNamespace(cfg.ns);
  const tlogId = newTLogName();
  const doc = freshSnapshotsFile(tlogId, o.parent ?? null);
  let fence: FenceToken;
  try {
    fence = await claim(ctx, cfg, dirs);
    await ctx.backend.put(cfg.ns, VOLUME_CONFIG_OBJECT, Buffer.from(JSON.stringify(cfg)), { fence, overwrite: true });
    await ctx.backend.put(cfg.ns, FAILOVERCACHE_CONFIG_OBJECT, Buffer.from('null'), { fence, overwrite: true });
    await saveLocal(localSnapshotsPath(dirs.md), doc);
    await ctx.backend.put(cfg.ns, SNAPSHOTS_OBJECT, Buffer.from(JSON.stringify(doc)), { fence, overwrite: true });
  } catch (e) {
    // Nothing refers to a half-created namespace yet: removing it lets the caller retry with the same id.
    await ctx.backend.deleteNamespace(cfg.ns).catch(() => undefined);
    await removeLocal(ctx.root, cfg.ns).catch(() => undefined);
    throw e;
  }
  await writeFile(join(dirs.md, 'volume.json'), JSON.stringify(cfg));
  const table = await PageTable.open(dirs.mds);
  const chain = await volumeChain(ctx.backend, { ns: cfg.ns, doc });
  await replay(ctx.backend, table, chain);
  await table.barrier({ corkId: null, scrubId: doc.scrubId });
  return assemble(ctx, cfg, doc, fence, dirs, table, namespacesByDepth(chain), { nextSco: 1, tlogId, append: false, localTLogs: [] });
}

/** Checks that a parent snapshot exists and is in the backend before a clone is made of it. */
export async function checkCloneSource(backend: Backend, parentNs: string, snapshot: string): Promise<void> {
  const doc = await downloadSnapshots(backend, parentNs);
  const s = findSnapshot(doc, snapshot);
  if (!s) throw new SnapshotNotFoundError(`snapshot ${snapshot} not found on ${parentNs}`, { snapshot_id: snapshot });
  if (!isSnapshotInBackend(s)) throw new InvalidOperationError(`snapshot ${snapshot} of ${parentNs} is not in the backend yet`);
  if (s.deleting) throw new InvalidOperationError(`snapshot ${snapshot} of ${parentNs} is being deleted`, { snapshot_id: snapshot });
}

/** Whether local state exists for a volume on this node. */
export async function hasLocalState(root: string, ns: string): Promise<boolean> {
  return stat(localSnapshotsPath(volumeDirs(root, ns).md)).then(() => true, () => false);
}

/** Whether local state exists for a volume on this node and no other node claimed the volume since (see restartLocal). */
export async function hasCurrentLocalState(ctx: OpenContext, ns: string): Promise<boolean> {
  return (await hasLocalState(ctx.root, ns)) && localStateIsCurrent(ctx, ns, volumeDirs(ctx.root, ns));
}

/**
 * Local restart (C4): claim again; the table catches up from backend TLogs after its cork; local TLogs not yet
 * uploaded are validated (closed: CRC; current: whole records; every location inside its SCO file) and cut at
 * the first damage; they are replayed into cork maps and their uploads re-queued; the current SCO continues.
 */
export async function restartLocal(ctx: OpenContext, ns: string, ownerTag: number): Promise<Volume> {
  const dirs = volumeDirs(ctx.root, ns);
  const cfg: VolumeConfig = { ...(JSON.parse(await readFile(join(dirs.md, 'volume.json'), 'utf8')) as VolumeConfig), ownerTag };
  if (!(await localStateIsCurrent(ctx, ns, dirs))) {
    ctx.log.warn({ namespace: ns }, 'local copy of the volume is stale (another node claimed it since): restarting from the backend');
    return restartFromBackend(ctx, ns, ownerTag);
  }
  const doc = (await loadLocal(localSnapshotsPath(dirs.md)))!;
  const fence = await claim(ctx, cfg, dirs);
  await ctx.backend.put(ns, VOLUME_CONFIG_OBJECT, Buffer.from(JSON.stringify(cfg)), { fence, overwrite: true });
  const table = await PageTable.open(dirs.mds);
  const written = allTLogs(doc).filter((t) => t.written).map((t) => t.id);
  const corkAt = table.meta.corkId === null ? -1 : written.indexOf(table.meta.corkId);
  const chain = await volumeChain(ctx.backend, { ns, doc });
  if (corkAt < 0 && table.meta.corkId !== null) {
    await table.clear();
    await replay(ctx.backend, table, chain);
  } else {
    // Ancestors are immutable; only own TLogs after the cork are new to the table.
    const own = chain.filter((l) => l.depth === 0).map((l) => ({ ...l, tlogs: written.slice(corkAt + 1) }));
    const ancestors = table.meta.corkId === null && table.meta.usedClusters === 0 ? chain.filter((l) => l.depth > 0) : [];
    await replay(ctx.backend, table, [...ancestors, ...own]);
  }
  await table.barrier({ corkId: written[written.length - 1] ?? null, scrubId: doc.scrubId });

  const pending = allTLogs(doc).filter((t) => !t.written);
  const sco = new ScoStore(dirs.wc, cfg.clusterSize, cfg.scoMultiplier, { directIo: ctx.directIo });
  await sco.init();
  const local = await validateLocalTLogs(dirs, sco, cfg, doc, pending.map((t) => t.id));
  await sco.close();
  const lastSco = Math.max(doc.lastScoNumber, ...local.map((l) => l.lastSco));
  const current = local[local.length - 1];
  return assemble(ctx, cfg, doc, fence, dirs, table, namespacesByDepth(chain), {
    nextSco: current?.openSco ? current.openSco.number : lastSco + 1,
    tlogId: current?.id ?? newTLogName(),
    append: true,
    localTLogs: local,
  });
}

interface LocalTLog {
  id: string;
  records: TLogRecord[];
  closed: boolean;
  lastSco: number;
  scosClosed: number;
  /** For the current TLog: the SCO left open (number, next cursor, running CRC). */
  openSco?: { number: number; cursor: number; crc: number };
}

async function validateLocalTLogs(dirs: VolumeDirs, sco: ScoStore, cfg: VolumeConfig, doc: SnapshotsFile, ids: string[]): Promise<LocalTLog[]> {
  const out: LocalTLog[] = [];
  const present = new Set((await readdir(dirs.tlogs)).filter(isTLogName));
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const isLast = i === ids.length - 1;
    const buf = present.has(id) ? await readFile(join(dirs.tlogs, id)) : Buffer.alloc(0);
    const closed = !isLast;
    const check = validateTLog(buf, { closed });
    let records = (await readTLog(buf.subarray(0, check.validBytes))).filter((r) => r.kind !== 'tlog_crc');
    // Every location must lie inside its SCO file; cut at the first that does not (torn SCO tail).
    let cut = records.length;
    const lengths = new Map<number, number>();
    for (let r = 0; r < records.length; r++) {
      const rec = records[r]!;
      if (rec.kind !== 'loc') continue;
      if (!lengths.has(rec.loc.number)) lengths.set(rec.loc.number, await sco.length(scoName(rec.loc.number)));
      if ((rec.loc.offset + 1) * cfg.clusterSize > lengths.get(rec.loc.number)!) {
        cut = r;
        break;
      }
    }
    const damaged = cut < records.length || (closed && check.error !== undefined);
    records = records.slice(0, cut);
    const locs = records.filter((r): r is Extract<TLogRecord, { kind: 'loc' }> => r.kind === 'loc');
    const lastSco = locs.reduce((m, r) => Math.max(m, r.loc.number), 0);
    const entry: LocalTLog = { id, records, closed: closed && !damaged, lastSco, scosClosed: records.filter((r) => r.kind === 'sco_crc').length };
    out.push(entry);
    if (damaged || isLast) {
      // This TLog becomes the current one: rewrite it with the valid records, continue its last SCO if open.
      const lastRec = records[records.length - 1];
      if (lastRec?.kind === 'loc') {
        const cursor = lastRec.loc.offset + 1;
        const data = Buffer.alloc(cursor * cfg.clusterSize);
        sco.read(scoName(lastRec.loc.number), 0, cursor, data, 0);
        entry.openSco = { number: lastRec.loc.number, cursor, crc: crc32(data) };
      }
      entry.closed = false;
      doc.current = [...doc.current.filter((t) => t.written || ids.slice(0, i + 1).includes(t.id))];
      const sizeOf = locs.length * cfg.clusterSize;
      const ref = doc.current.find((t) => t.id === id);
      if (ref) ref.size = sizeOf;
      await rewriteTLog(join(dirs.tlogs, id), records);
      for (const later of ids.slice(i + 1)) await rm(join(dirs.tlogs, later), { force: true });
      break;
    }
  }
  await saveLocal(localSnapshotsPath(dirs.md), doc);
  return out;
}

async function rewriteTLog(path: string, records: TLogRecord[]): Promise<void> {
  await rm(path, { force: true });
  const w = await TLogWriter.open(path);
  w.add(records);
  await w.sync();
  await w.abandon();
}

/**
 * Backend restart (C4; phase 1 without DTL): local state wiped; the snapshots file from the backend, trimmed to
 * what is written; the table rebuilt by replay; SCO numbering continues after `lastScoNumber`.
 */
export async function restartFromBackend(ctx: OpenContext, ns: string, ownerTag: number): Promise<Volume> {
  await removeLocal(ctx.root, ns);
  const dirs = volumeDirs(ctx.root, ns);
  await makeDirs(dirs);
  const cfg: VolumeConfig = { ...(JSON.parse((await ctx.backend.get(ns, VOLUME_CONFIG_OBJECT)).toString('utf8')) as VolumeConfig), ownerTag };
  const fence = await claim(ctx, cfg, dirs);
  await ctx.backend.put(ns, VOLUME_CONFIG_OBJECT, Buffer.from(JSON.stringify(cfg)), { fence, overwrite: true });
  const doc = await downloadSnapshots(ctx.backend, ns);
  for (const s of doc.snapshots) s.tlogs = s.tlogs.filter((t) => t.written);
  doc.current = doc.current.filter((t) => t.written);
  const tlogId = newTLogName();
  doc.current.push({ id: tlogId, written: false, size: 0 });
  await saveLocal(localSnapshotsPath(dirs.md), doc);
  await writeFile(join(dirs.md, 'volume.json'), JSON.stringify(cfg));
  const table = await PageTable.open(dirs.mds);
  const chain = await volumeChain(ctx.backend, { ns, doc });
  const seeded = await seedFromMds(ctx, cfg, table);
  let source: MetadataSource;
  if (seeded) {
    // The copy equals the replay up to its cork (I5): only what it lacks is replayed (all of it if scrubbed since).
    const r = await catchUp(table, ctx.backend, ns, false);
    source = { from: 'mds', service: seeded, tlogs_replayed: r.tlogs, full_rebuild: r.full };
  } else {
    await replay(ctx.backend, table, chain);
    source = { from: 'backend', tlogs_replayed: chain.reduce((n, l) => n + l.tlogs.length, 0) };
  }
  ctx.onMetadataSource?.(ns, source);
  const written = allTLogs(doc).filter((t) => t.written);
  await table.barrier({ corkId: written[written.length - 1]?.id ?? null, scrubId: doc.scrubId });
  return assemble(ctx, cfg, doc, fence, dirs, table, namespacesByDepth(chain), { nextSco: doc.lastScoNumber + 1, tlogId, append: false, localTLogs: [] });
}

/**
 * Copies the table of the first MDS service of the volume that answers and holds it (pages and cork), or nothing.
 * Returns the service's address.
 */
async function seedFromMds(ctx: OpenContext, cfg: VolumeConfig, table: PageTable): Promise<string | undefined> {
  for (const address of cfg.mdsBackend?.nodes ?? []) {
    if (!ctx.mdsClient) return undefined;
    const c = ctx.mdsClient(address, MDS_SEED_TIMEOUT_MS);
    try {
      const meta = await c.get_table_meta(cfg.ns);
      const numbers = await c.page_numbers(cfg.ns);
      const pages = await c.multiget(cfg.ns, numbers);
      numbers.forEach((p, i) => table.setPage(p, pages[i]!));
      await table.barrier({ corkId: meta.corkId, scrubId: meta.scrubId });
      return address;
    } catch (e) {
      ctx.log.info({ err: e, volume: cfg.volumeId, mds: address }, 'MDS service could not give the table; trying the next one');
      await table.clear();
    }
  }
  return undefined;
}

async function assemble(
  ctx: OpenContext,
  cfg: VolumeConfig,
  doc: SnapshotsFile,
  fence: Awaited<ReturnType<Backend['claim']>>,
  dirs: VolumeDirs,
  table: PageTable,
  nsForDepth: string[],
  o: { nextSco: number; tlogId: string; append: boolean; localTLogs: LocalTLog[] },
): Promise<Volume> {
  const meta = new MetadataStore(table);
  const sco = new ScoStore(dirs.wc, cfg.clusterSize, cfg.scoMultiplier, { directIo: ctx.directIo });
  await sco.init();
  const lastScoOfTLog = new Map<string, number>();
  const loc = Buffer.alloc(8);
  for (const l of o.localTLogs) {
    meta.cork(l.id);
    for (const r of l.records) if (r.kind === 'loc') meta.write(r.ca, Buffer.from(packLoc(r.loc, loc)));
    if (l.lastSco > 0) lastScoOfTLog.set(l.id, l.lastSco);
  }
  if (!meta.corkIds.includes(o.tlogId)) meta.cork(o.tlogId);
  const current = o.localTLogs.find((l) => l.id === o.tlogId);
  const tlog = await TLogWriter.open(join(dirs.tlogs, o.tlogId), { append: o.append });
  if (current?.openSco) await sco.openSco(current.openSco.number, current.openSco.cursor, current.openSco.crc);
  const volume = new Volume({
    cfg, doc, backend: ctx.backend, fence, dirs, sco, tlog, meta, nsForDepth,
    nextScoNumber: current?.openSco ? current.openSco.number + 1 : o.nextSco,
    scosInCurrentTLog: current?.scosClosed ?? 0,
    lastScoOfTLog,
    log: ctx.log,
    emit: ctx.emit,
    cache: ctx.readCacheBytes ? sharedClusterCache(cfg.clusterSize, ctx.readCacheBytes)?.view() : undefined,
    dtlTimeouts: ctx.dtlTimeouts,
  });
  // A deletion cut short by a crash or a move: the snapshot stays, clones may be made of it again.
  const interrupted = doc.snapshots.filter((s) => s.deleting);
  for (const s of interrupted) delete s.deleting;
  if (interrupted.length > 0) void volume.queueSnapshotsUpload();
  // Local TLogs not in the backend go there again, in order: their SCOs first, then (closed ones) the TLog.
  for (const l of o.localTLogs) {
    const scos = [...new Set(l.records.flatMap((r) => (r.kind === 'loc' ? [r.loc.number] : [])))].filter((n) => n !== l.openSco?.number);
    volume.requeueUpload(l.closed ? l.id : undefined, scos);
  }
  return volume;
}
