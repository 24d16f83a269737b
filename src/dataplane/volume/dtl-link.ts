import type { Logger } from 'pino';
import { DtlClient } from '../dtl/client.js';
import { DTL_STATE_CODES, type DtlConfig, type DtlConfigMode, type DtlState, type StoredDtlConfig } from '../dtl/config.js';
import type { DtlEntry } from '../dtl/messages.js';

/** What the link needs of its volume; the Volume implements it. */
export interface DtlVolume {
  readonly id: string;
  readonly ns: string;
  readonly clusterSize: number;
  readonly ownerTag: number;
  readonly log: Logger;
  emit(type: string, fields: Record<string, unknown>): void;
  /** Stores the configuration in the backend (`failovercache_configuration`), fenced. */
  persistDtlConfig(stored: StoredDtlConfig): Promise<void>;
  /**
   * With I/O paused and every write committed: closes the open SCO and, when writes exist that are neither in the
   * backend nor on the new DTL, rolls the TLog; then calls `attach` with that TLog (the DTL is caught up once it is in
   * the backend), before any further write.
   */
  cutForDtl(attach: (cut: string | undefined) => void): Promise<void>;
  isTLogWritten(id: string): boolean;
}

export interface DtlTimeouts {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

export const DEFAULT_DTL_TIMEOUTS: DtlTimeouts = { connectTimeoutMs: 1000, requestTimeoutMs: 60_000 };

/** One SCO's share of a write on its way to the DTL (the volume's own pending part, passed as is). */
export interface DtlPart {
  sco: { readonly number: number };
  offset: number;
  firstCa: number;
  n: number;
  data: Buffer;
}

/**
 * A volume's DTL (spec C6): its configuration, its client and the state machine OK_STANDALONE / DEGRADED / CATCHUP /
 * OK_SYNC. Any DTL error turns the volume DEGRADED and I/O goes on unprotected; `retry()` (the checker) attaches again.
 */
export class DtlLink {
  config: DtlConfig | null = null;
  configMode: DtlConfigMode = 'AUTOMATIC';
  private current: DtlState = 'OK_STANDALONE';
  private announced: DtlState = 'OK_STANDALONE';
  private client: DtlClient | undefined;
  /** In CATCHUP: the TLog whose upload puts every write that is not on the DTL into the backend. */
  private catchupTLog: string | undefined;
  /** Attaches run one at a time; a newer configuration supersedes an attach in progress. */
  private generation = 0;
  private attaching: Promise<void> = Promise.resolve();
  lastError: string | undefined;
  /** The stored configuration says the DTL must not be replayed; the next attach (which clears it) says otherwise. */
  private storedBackendComplete = false;

  constructor(
    private readonly v: DtlVolume,
    private readonly timeouts: DtlTimeouts = DEFAULT_DTL_TIMEOUTS,
  ) {}

  get state(): DtlState {
    return this.current;
  }

  /** Whether writes go to the DTL now. */
  get protecting(): boolean {
    return this.client !== undefined && (this.current === 'OK_SYNC' || this.current === 'CATCHUP');
  }

  /** The stored configuration of a volume that starts; attach() connects to it. */
  load(stored: StoredDtlConfig): void {
    this.config = stored.config;
    this.configMode = stored.configMode;
    this.storedBackendComplete = stored.backendComplete === true;
    this.setState(stored.config ? 'DEGRADED' : 'OK_STANDALONE', { quiet: true });
    this.announced = this.current;
  }

  /**
   * `set_manual_dtl_config`: stores the configuration and attaches to it. The same configuration again only retries
   * a DEGRADED link. Resolves once the link is OK_SYNC, CATCHUP or DEGRADED (an unreachable DTL is not an error here).
   */
  async setConfig(config: DtlConfig | null): Promise<void> {
    const same = sameConfig(config, this.config) && this.configMode === 'MANUAL';
    this.config = config;
    this.configMode = 'MANUAL';
    await this.v.persistDtlConfig({ config, configMode: 'MANUAL', backendComplete: this.storedBackendComplete });
    if (same && this.current !== 'DEGRADED') return;
    await this.reattach();
  }

  /** The checker: a DEGRADED link with a configuration tries again. */
  async retry(): Promise<void> {
    if (this.current === 'DEGRADED' && this.config) await this.reattach();
  }

  /** Attaches to the configured DTL (from a restart or a new configuration). */
  reattach(): Promise<void> {
    const generation = ++this.generation;
    const run = this.attaching.then(() => (generation === this.generation ? this.attach() : undefined));
    this.attaching = run.catch(() => undefined);
    return run;
  }

  private async attach(): Promise<void> {
    const old = this.client;
    this.client = undefined;
    old?.close();
    this.catchupTLog = undefined;
    const config = this.config;
    if (!config) {
      this.setState('OK_STANDALONE');
      return;
    }
    // Quiet: a new target is not a failure, and the framework must not run a checkup for it.
    this.setState('DEGRADED', { quiet: true });
    let client: DtlClient | undefined;
    try {
      const broken: { client?: DtlClient } = {};
      client = await DtlClient.connect(config.host, config.port, {
        ...this.timeouts,
        mode: config.mode === 'Synchronous' ? 'sync' : 'async',
        // An idle volume learns at once that its DTL went away, not at its next write.
        onBroken: (e) => broken.client && this.fail(broken.client, e),
      });
      broken.client = client;
      await client.register(this.v.ns, this.v.clusterSize, BigInt(this.v.ownerTag));
      await client.clear();
      if (this.storedBackendComplete) {
        await this.v.persistDtlConfig({ config, configMode: this.configMode });
        this.storedBackendComplete = false;
      }
      const attached = client;
      await this.v.cutForDtl((cut) => {
        if (!sameConfig(config, this.config)) throw new Error('the DTL configuration changed while attaching');
        this.client = attached;
        this.lastError = undefined;
        if (cut !== undefined && !this.v.isTLogWritten(cut)) {
          this.catchupTLog = cut;
          this.setState('CATCHUP');
        } else {
          this.setState('OK_SYNC');
        }
      });
    } catch (e) {
      client?.close();
      this.noteFailure(e);
    }
  }

  /**
   * Puts a write's clusters in line for the DTL before it returns (the caller holds the write mutex, so the DTL gets
   * them in reservation order). The promise: sync mode, the DTL has them; async mode, the queue has room again.
   * Undefined when the link does not protect writes now.
   */
  send(parts: readonly DtlPart[]): Promise<void> | undefined {
    const client = this.client;
    if (!client || !this.protecting) return undefined;
    const cs = this.v.clusterSize;
    const sectorsPerCluster = cs / 512;
    const entries: DtlEntry[] = [];
    for (const p of parts) {
      for (let i = 0; i < p.n; i++) {
        entries.push({
          location: { scoNumber: p.sco.number, offset: p.offset + i },
          lba: BigInt((p.firstCa + i) * sectorsPerCluster),
          data: p.data.subarray(i * cs, (i + 1) * cs),
        });
      }
    }
    return client.add(entries).catch((e: unknown) => this.fail(client, e));
  }

  /** Makes what was sent durable on the DTL (a volume flush). A failure degrades the link, the flush itself succeeds. */
  async flush(): Promise<void> {
    const client = this.client;
    if (!client || !this.protecting) return;
    await client.flush().catch((e: unknown) => this.fail(client, e));
  }

  /** A TLog and its SCOs up to `lastSco` are in the backend: the DTL may drop them; CATCHUP may be over. */
  tlogWritten(lastSco: number): void {
    if (this.current === 'CATCHUP' && this.catchupTLog !== undefined && this.v.isTLogWritten(this.catchupTLog)) {
      this.catchupTLog = undefined;
      this.setState('OK_SYNC');
    }
    const client = this.client;
    if (client && this.protecting && lastSco > 0) void client.removeUpTo(lastSco).catch((e: unknown) => this.fail(client, e));
  }

  /**
   * Everything is in the backend and the DTL's entries must never be replayed (a rollback reuses SCO numbers): clear
   * it, or, if that fails, tell a future new owner not to replay it.
   */
  async discardEntries(): Promise<void> {
    const client = this.client;
    if (client && this.protecting) {
      const ok = await client.clear().then(() => true, (e: unknown) => (this.fail(client, e), false));
      if (ok) return;
    }
    await this.markBackendComplete();
  }

  private async markBackendComplete(): Promise<void> {
    if (!this.config || this.storedBackendComplete) return;
    await this.v.persistDtlConfig({ config: this.config, configMode: this.configMode, backendComplete: true });
    this.storedBackendComplete = true;
  }

  /** The volume goes to another node with everything in the backend: the DTL's entries are dropped, never replayed. */
  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.generation++;
    await this.markBackendComplete();
    if (client) await client.unregister().catch(() => undefined);
    client?.close();
  }

  /** The volume stops: the DTL keeps its entries (a restart elsewhere replays them). */
  close(): void {
    this.generation++;
    const client = this.client;
    this.client = undefined;
    client?.close();
  }

  private fail(client: DtlClient, e: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.close();
    this.noteFailure(e);
  }

  private noteFailure(e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    this.lastError = message;
    const wasProtecting = this.current !== 'DEGRADED';
    this.setState('DEGRADED');
    if (wasProtecting) this.v.log.warn({ volume: this.v.id, dtl: this.config, err: message }, 'DTL failed; the volume runs unprotected until it attaches again');
    else this.v.log.info({ volume: this.v.id, dtl: this.config, err: message }, 'DTL not reachable; will retry');
  }

  /** A quiet change (the DEGRADED an attach passes through) is not announced; the next event starts from what was. */
  private setState(next: DtlState, o: { quiet?: boolean } = {}): void {
    this.current = next;
    const old = this.announced;
    if (o.quiet || old === next) return;
    this.announced = next;
    this.v.log.info({ volume: this.v.id, from: old, to: next, dtl: this.config }, 'DTL state changed');
    this.v.emit('dtl_state_transition', { volume_name: this.v.id, volume_id: this.v.id, old_state: DTL_STATE_CODES[old], new_state: DTL_STATE_CODES[next] });
  }
}

function sameConfig(a: DtlConfig | null, b: DtlConfig | null): boolean {
  return a === b || (a !== null && b !== null && a.host === b.host && a.port === b.port && a.mode === b.mode);
}
