import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ConfigStore } from '../config/store.js';
import { BadRequestError, UpdateRefusedError, UpdateSourceError } from '../errors.js';
import { ownVersion } from '../host/versions.js';
import { decodeParams } from '../protocol/codec.js';
import { UPDATE_OPERATIONS, updateOperationOf, updateWildcard, type UpdateOperation } from '../protocol/subjects.js';
import { replyTo } from '../transport/envelope.js';
import { parseWith } from '../transport/validate.js';
import { fetchRelease, readManifest, UPDATE_SOURCE_KEY } from './release.js';
import { AGENT_BIN, installRelease, pruneReleases, runningRoot } from './install.js';
import type { Relauncher } from './relaunch.js';

/** Releases kept besides the running one; older ones are removed after an install. */
const KEEP_RELEASES = 2;

export interface NodeUpdateStatus {
  version: string;
  root: string;
  /** How this agent restarts on another release (`reexec`, `systemd`), or null when it cannot (inside `ovs up`). */
  relaunch: Relauncher['mode'] | null;
  /** The configured source's version as this node reads it; absent when no source is configured. */
  candidate?: string;
  /** Why this node cannot read the configured source. */
  candidate_error?: string;
}

const statusParams = z.object({}).strict();
const installParams = z.object({ source: z.string().min(1).max(4096).optional() }).strict();
const restartParams = z.object({ version: z.string().regex(/^[0-9A-Za-z.+-]{1,64}$/) }).strict();

/**
 * One agent's part of a rolling update, on `ovs.node.<sr>.update.status|install|restart`: installing a candidate
 * beside the running release (nothing stops), and restarting on an installed one. The cluster-wide order lives in
 * the update runner; this only does what one node can.
 */
export class NodeUpdateService {
  private sub: Subscription | undefined;
  private restarting = false;

  constructor(
    private readonly me: string,
    private readonly nc: NatsConnection,
    private readonly config: ConfigStore,
    private readonly dataDir: string,
    private readonly log: Logger,
    private readonly relauncher: Relauncher | undefined,
  ) {}

  get releasesDir(): string {
    return join(this.dataDir, 'releases');
  }

  start(): void {
    this.sub = this.nc.subscribe(updateWildcard(this.me), { callback: (_e, m) => void this.onRequest(m) });
  }

  stop(): void {
    this.sub?.unsubscribe();
  }

  private async onRequest(m: Msg): Promise<void> {
    await replyTo(m, this.me, (encoding) => {
      const op = updateOperationOf(m.subject);
      if (!UPDATE_OPERATIONS.includes(op as UpdateOperation)) {
        throw new BadRequestError(`unknown update operation '${op ?? m.subject}'; use ${UPDATE_OPERATIONS.join(', ')}`, { subject: m.subject });
      }
      return this.run(op as UpdateOperation, decodeParams(m.data, encoding));
    });
  }

  private async run(op: UpdateOperation, params: Record<string, unknown>): Promise<unknown> {
    switch (op) {
      case 'status':
        parseWith(statusParams, params, 'update.status');
        return this.status();
      case 'install':
        return this.install(parseWith(installParams, params, 'update.install').source);
      case 'restart':
        return this.restart(parseWith(restartParams, params, 'update.restart').version);
    }
  }

  async status(): Promise<NodeUpdateStatus> {
    const status: NodeUpdateStatus = { version: ownVersion(), root: runningRoot(), relaunch: this.relauncher?.mode ?? null };
    const source = await this.config.get<string>(UPDATE_SOURCE_KEY);
    if (typeof source !== 'string' || source === '') return status;
    try {
      status.candidate = await this.withRelease(source, async (file) => (await readManifest(file)).version);
    } catch (e) {
      status.candidate_error = (e as Error).message;
    }
    return status;
  }

  private async install(given: string | undefined): Promise<unknown> {
    const source = given ?? (await this.config.get<string>(UPDATE_SOURCE_KEY));
    if (typeof source !== 'string' || source === '') throw new UpdateSourceError(`no update source is configured (set ${UPDATE_SOURCE_KEY} to a release tarball path or URL)`, { key: UPDATE_SOURCE_KEY });
    const release = await this.withRelease(source, (file) => installRelease(file, this.releasesDir, this.log));
    await pruneReleases(this.releasesDir, KEEP_RELEASES).catch((e: unknown) => this.log.warn({ err: e }, 'update: pruning old releases failed'));
    return release;
  }

  /** Runs `work` on a local copy of the release; a download is removed afterwards, a path is left alone. */
  private async withRelease<T>(source: string, work: (file: string) => Promise<T>): Promise<T> {
    const file = await fetchRelease(source, join(this.releasesDir, '.downloads'));
    try {
      return await work(file);
    } finally {
      if (file !== source) await rm(file, { force: true });
    }
  }

  /** Answers first, then stops the agent and starts it again from the release (the requester sees the node go). */
  private restart(version: string): unknown {
    if (version === ownVersion()) return { restarting: false, version };
    if (!this.relauncher) throw new UpdateRefusedError('this agent runs inside `ovs up` and cannot restart itself; stop it and start the new release by hand', { storagerouter_guid: this.me });
    const root = join(this.releasesDir, version);
    if (!existsSync(join(root, AGENT_BIN))) throw new UpdateRefusedError(`release ${version} is not installed on this node; install it first`, { version });
    if (this.restarting) return { restarting: true, version };
    this.restarting = true;
    this.log.warn({ from: ownVersion(), to: version, root }, 'update: restarting on another release');
    setTimeout(() => void this.relauncher?.relaunch(root), 50);
    return { restarting: true, version };
  }
}
