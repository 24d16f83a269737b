// A verifying write load on one vDisk: fio --verify in short phases through a reconnecting qemu NBD client, so a
// failover or an agent restart shows as a pause, a wrong byte as a verify error, and a connection that stayed down
// beyond the reconnect delay as a connection loss (counted apart: it is not data loss).
import { runFio, startReconnectingNbd, type ReconnectingNbd } from '../../test/helpers/reconnecting-nbd.js';

export interface LoadFigures {
  phases: number;
  verifyErrors: number;
  connectionLosses: number;
  /** Times the qemu client was replaced because it kept failing after its edge came back. */
  reattaches: number;
  /** stderr tails of the phases that failed verification. */
  failures: string[];
}

const VERIFY_FAILURE = /verify failed|bad magic|bad header|verify: |crc32c/i;

export class VerifyingLoad {
  readonly figures: LoadFigures = { phases: 0, verifyErrors: 0, connectionLosses: 0, reattaches: 0, failures: [] };
  private stopping = false;
  private loop: Promise<void> | undefined;

  private constructor(private front: ReconnectingNbd, private readonly o: { host: string; port: number; exportName: string; sizeBytes: number; log: (m: string) => void }) {}

  static async start(o: { host: string; port: number; exportName: string; sizeBytes: number; log: (m: string) => void }): Promise<VerifyingLoad> {
    const front = await startReconnectingNbd({ host: o.host, port: o.port, exportName: o.exportName, reconnectDelayS: 120 });
    const load = new VerifyingLoad(front, o);
    load.loop = load.run(o.exportName).catch((e: Error) => o.log(`${o.exportName}: the load stopped: ${e.message}`));
    return load;
  }

  private async run(name: string): Promise<void> {
    let lossesInARow = 0;
    while (!this.stopping) {
      if (lossesInARow >= 3) {
        // Seen after kill -9 of the edge it reconnects to: qemu answers EIO for good although the edge serves again.
        this.o.log(`${name}: replacing the qemu client after ${lossesInARow} lost phases in a row`);
        await this.front.stop();
        // The edge may still be down (its agent killed): try again a little later.
        const front = await startReconnectingNbd({ host: this.o.host, port: this.o.port, exportName: this.o.exportName, reconnectDelayS: 120 }).catch(() => undefined);
        if (!front) {
          await new Promise((r) => setTimeout(r, 2_000));
          continue;
        }
        this.front = front;
        this.figures.reattaches++;
        lossesInARow = 0;
      }
      const r = await runFio({ uri: this.front.uri, sizeBytes: this.o.sizeBytes, runtimeS: 3, iodepth: 4 }).catch((e: Error) => ({ error: -1, stderr: e.message, writeIos: 0 }));
      this.figures.phases++;
      if (r.error === 0) {
        lossesInARow = 0;
        continue;
      }
      if (VERIFY_FAILURE.test(r.stderr)) {
        this.figures.verifyErrors++;
        this.figures.failures.push(r.stderr.slice(-600));
        this.o.log(`${name}: fio VERIFY ERROR: ${r.stderr.slice(-300)}`);
      } else {
        this.figures.connectionLosses++;
        lossesInARow++;
        const last = r.stderr.trim().split('\n').pop() ?? '';
        this.o.log(`${name}: fio phase lost its connection (error ${r.error}): ${last}; qemu-nbd: ${this.front.output().trim().split('\n').slice(-2).join(' | ')}`);
      }
    }
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
