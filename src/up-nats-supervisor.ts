import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { sleep } from './supervisors/backoff.js';

/** Restart backoff of the embedded nats-server: doubling from the first, at most the last; reset after a healthy minute. */
const FIRST_RESTART_MS = 200;
const MAX_RESTART_MS = 5_000;
const HEALTHY_MS = 60_000;

/**
 * The nats-server `ovs up` spawned, supervised like any other child: when it dies (kill -9, a crash) it is started
 * again on the same store with backoff, and the agent reconnects by itself (its readiness says NATS is down until
 * then). Stopping it on purpose does not restart it.
 */
export class SupervisedNatsServer {
  private current: ChildProcess;
  private stopping = false;
  private restarts = 0;
  private readonly watching: Promise<void>;

  constructor(first: ChildProcess, private readonly start: () => Promise<ChildProcess>, private readonly log: Logger, private readonly onRestart: () => Promise<void> = async () => undefined) {
    this.current = first;
    this.watching = this.watch();
  }

  get pid(): number | undefined {
    return this.current.pid;
  }

  get child(): ChildProcess {
    return this.current;
  }

  /** Stops supervising, then the server through `stopChild`. */
  async stop(stopChild: (c: ChildProcess) => Promise<void>): Promise<void> {
    this.stopping = true;
    await stopChild(this.current);
    await this.watching;
  }

  private async watch(): Promise<void> {
    let delay = FIRST_RESTART_MS;
    for (;;) {
      const startedAt = Date.now();
      const exit = await exited(this.current);
      if (this.stopping) return;
      if (Date.now() - startedAt > HEALTHY_MS) delay = FIRST_RESTART_MS;
      this.log.error({ exit, restart_in_ms: delay }, 'embedded nats-server exited; restarting it');
      for (;;) {
        await sleep(delay);
        delay = Math.min(delay * 2, MAX_RESTART_MS);
        if (this.stopping) return;
        try {
          this.current = await this.start();
          this.restarts += 1;
          this.log.warn({ pid: this.current.pid, restarts: this.restarts }, 'embedded nats-server restarted');
          await this.onRestart().catch(() => undefined);
          break;
        } catch (e) {
          this.log.error({ err: e, restart_in_ms: delay }, 'embedded nats-server did not start; retrying');
        }
      }
    }
  }
}

function exited(child: ChildProcess): Promise<string> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(`code ${child.exitCode ?? child.signalCode}`);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`)));
}
