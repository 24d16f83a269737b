// A verifying write load on one vDisk: fio --verify in short phases through a reconnecting qemu NBD client, so a
// failover or an agent restart shows as a pause, a wrong byte as a verify error, and a connection that stayed down
// beyond the reconnect delay as a connection loss (counted apart: it is not data loss).
//
// The qemu client is never replaced. qemu's rule (7.2, block/nbd.c and nbd/client-connection.c): after a lost
// connection its connect thread retries, sleeping 1, 2, 4, 8, then 16 s between attempts (refused connections and
// refused negotiations alike); requests wait for it up to `reconnect-delay`. Once that delay has passed, every request
// fails at once with EIO, but the thread keeps retrying, and the first request after it got through uses the new
// connection: the client serves again at most ~16 s after its edge does. (`open-timeout` only concerns the first
// connection, when the image is opened.) So a phase lost that way is followed by more fast-failing phases until the
// next retry, never by a client that stays broken.
import { runFio, startReconnectingNbd, type ReconnectingNbd } from '../../test/helpers/reconnecting-nbd.js';

export interface LoadFigures {
  phases: number;
  verifyErrors: number;
  connectionLosses: number;
  /** Times the qemu client was replaced: always 0 (it recovers by itself, see above); kept for the figures line. */
  reattaches: number;
  /** stderr tails of the phases that failed verification. */
  failures: string[];
}

export interface LoadOptions {
  host: string;
  port: number;
  exportName: string;
  sizeBytes: number;
  log: (m: string) => void;
  /** qemu's reconnect-delay in seconds (default 120). */
  reconnectDelayS?: number;
}

const VERIFY_FAILURE = /verify failed|bad magic|bad header|verify: |crc32c/i;
/** Pause after a lost phase: a client past its reconnect delay fails at once until its next retry. */
const LOST_PHASE_PAUSE_MS = 1_000;

export class VerifyingLoad {
  readonly figures: LoadFigures = { phases: 0, verifyErrors: 0, connectionLosses: 0, reattaches: 0, failures: [] };
  private stopping = false;
  private loop: Promise<void> | undefined;

  private constructor(private readonly front: ReconnectingNbd, private readonly o: LoadOptions) {}

  static async start(o: LoadOptions): Promise<VerifyingLoad> {
    const front = await startReconnectingNbd({ host: o.host, port: o.port, exportName: o.exportName, reconnectDelayS: o.reconnectDelayS ?? 120 });
    const load = new VerifyingLoad(front, o);
    load.loop = load.run(o.exportName).catch((e: Error) => o.log(`${o.exportName}: the load stopped: ${e.message}`));
    return load;
  }

  /** Phases that ended without a verify error or a lost connection. */
  get goodPhases(): number {
    return this.figures.phases - this.figures.verifyErrors - this.figures.connectionLosses;
  }

  private async run(name: string): Promise<void> {
    while (!this.stopping) {
      const r = await runFio({ uri: this.front.uri, sizeBytes: this.o.sizeBytes, runtimeS: 3, iodepth: 4 }).catch((e: Error) => ({ error: -1, stderr: e.message, writeIos: 0 }));
      this.figures.phases++;
      if (r.error === 0) continue;
      if (VERIFY_FAILURE.test(r.stderr)) {
        this.figures.verifyErrors++;
        this.figures.failures.push(r.stderr.slice(-600));
        this.o.log(`${name}: fio VERIFY ERROR: ${r.stderr.slice(-300)}`);
      } else {
        this.figures.connectionLosses++;
        const last = r.stderr.trim().split('\n').pop() ?? '';
        this.o.log(`${name}: fio phase lost its connection (error ${r.error}): ${last}; qemu-nbd: ${this.front.output().trim().split('\n').slice(-2).join(' | ')}`);
        await new Promise((res) => setTimeout(res, LOST_PHASE_PAUSE_MS));
      }
    }
  }

  /** What the qemu client printed so far. */
  get clientOutput(): string {
    return this.front.output();
  }

  /** Resolves once `n` more phases finished (the load goes on across the fault). */
  async phasesDone(n: number, timeoutMs = 180_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    const want = this.figures.phases + n;
    while (this.figures.phases < want) {
      if (Date.now() > until) return false;
      await new Promise((r) => setTimeout(r, 200));
    }
    return true;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    await this.front.stop();
  }
}
