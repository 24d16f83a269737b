import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './eventually.js';

const BIN = new URL('../../src/bin/ovs.js', import.meta.url).pathname;

export interface AgentProcessOptions {
  natsUrl: string;
  name: string;
  ip: string;
  leaseTtlMs?: number;
  testTasks?: boolean;
  /** `--test-mode`: the agent serves `ovs.node.<sr>.test.*` (fault injection, direct model writes). */
  testMode?: boolean;
  queue?: boolean;
  dataDir?: string;
  extraArgs?: string[];
  /** The agent's entry point (default: this checkout's build), e.g. an installed release's `dist/src/bin/ovs.js`. */
  bin?: string;
  /** Where its output lines go, readable before it is ready (default: a new array). */
  logSink?: string[];
}

/** A real agent in its own process (`ovs agent`), with its own data dir. */
export class AgentProcess {
  private constructor(readonly child: ChildProcess, readonly dataDir: string, readonly guid: string, readonly log: string[], private readonly ownsDir: boolean) {}

  static async start(o: AgentProcessOptions): Promise<AgentProcess> {
    const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'ovs-agent-')));
    const ready = join(dataDir, 'ready.json');
    await rm(ready, { force: true });
    const args = [o.bin ?? BIN, 'agent', '--nats', o.natsUrl, '--data-dir', dataDir, '--name', o.name, '--ip', o.ip, '--lease-ttl-ms', String(o.leaseTtlMs ?? 1_500), '--heartbeat-ms', '1000', '--mount-root', dataDir];
    if (o.testTasks ?? true) args.push('--test-tasks');
    if (o.queue === false) args.push('--no-queue');
    if (o.testMode) args.push('--test-mode');
    args.push(...(o.extraArgs ?? []));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OVS_READY_FILE: ready, OVS_LOG_LEVEL: 'info' } });
    const log: string[] = o.logSink ?? [];
    child.stdout?.on('data', (b: Buffer) => log.push(b.toString()));
    child.stderr?.on('data', (b: Buffer) => log.push(b.toString()));
    const info = await waitFor('agent ready file', async () => {
      if (child.exitCode !== null) throw new Error(`agent exited: ${log.join('').slice(-2000)}`);
      // Not there yet, or (an older agent without the atomic write) half written: not ready yet either way.
      const text = await readFile(ready, 'utf8').catch(() => '');
      try {
        return JSON.parse(text) as { storagerouter_guid: string } | null;
      } catch {
        return null;
      }
    }, 30_000, 100).catch((e: unknown) => {
      // An agent that never got ready must not outlive the test that started it.
      child.kill('SIGKILL');
      throw e;
    });
    return new AgentProcess(child, dataDir, info.storagerouter_guid, log, o.dataDir === undefined);
  }

  kill9(): void {
    this.child.kill('SIGKILL');
  }

  /**
   * The agent's process now: after a rolling update it restarted itself on another release, so the process this
   * helper spawned is gone and `agent.pid` in the data dir names its successor.
   */
  async pid(): Promise<number | undefined> {
    const written = Number((await readFile(join(this.dataDir, 'agent.pid'), 'utf8').catch(() => '')).trim());
    if (Number.isInteger(written) && written > 0 && alive(written)) return written;
    return this.child.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** kill -9, then wait until the process is gone (NATS drops its subscriptions once its socket closes). */
  async kill9AndWait(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<number | null> {
    const successor = await this.pid();
    if (successor !== undefined && successor !== this.child.pid) {
      process.kill(successor, 'SIGTERM');
      await waitFor('the restarted agent to stop', async () => !alive(successor) || null, 20_000, 100).catch(() => process.kill(successor, 'SIGKILL'));
    }
    let code = this.child.exitCode;
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<number | null>((r) => this.child.once('exit', (c) => r(c)));
      this.child.kill('SIGTERM');
      code = await exited;
    }
    if (this.ownsDir) await rm(this.dataDir, { recursive: true, force: true });
    return code;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
