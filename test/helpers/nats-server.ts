import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real nats-server with JetStream on random ports and a temporary store, for one test file. */
export class NatsServer {
  private constructor(readonly url: string, readonly port: number, private readonly child: ChildProcess, readonly dir: string) {}

  /** Starts again on the port and store of a stopped server (a NATS restart). */
  static startAt(previous: NatsServer): Promise<NatsServer> {
    return NatsServer.start({ port: previous.port, dir: previous.dir });
  }

  static async start(opts: { maxPayload?: number; port?: number; dir?: string } = {}): Promise<NatsServer> {
    const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'ovs-nats-')));
    const { rm: remove, readdir: list } = await import('node:fs/promises');
    for (const f of await list(dir)) if (f.endsWith('.ports')) await remove(join(dir, f));
    const args = ['-js', '-a', '127.0.0.1', '-p', String(opts.port ?? -1), '-sd', join(dir, 'js'), '--ports_file_dir', dir];
    if (opts.maxPayload) {
      const { writeFile } = await import('node:fs/promises');
      const conf = join(dir, 'nats.conf');
      await writeFile(conf, `max_payload: ${opts.maxPayload}\n`);
      args.push('-c', conf);
    }
    const child = spawn('nats-server', args, { stdio: 'ignore' });
    try {
      const url = await portsFileUrl(dir, child);
      return new NatsServer(url, Number(new URL(url).port), child, dir);
    } catch (e) {
      // A server the caller never gets a handle to would keep the test worker alive for good.
      child.kill('SIGKILL');
      throw e;
    }
  }

  /** Stops the server (SIGTERM); with `keepStore` the JetStream store survives for a restart. */
  async stop(keepStore = false): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    if (!keepStore) await rm(this.dir, { recursive: true, force: true });
  }
}

/** The client URL from nats-server's ports file; a file caught half-written is read again. */
async function portsFileUrl(dir: string, child: ChildProcess): Promise<string> {
  const until = Date.now() + 10_000;
  for (;;) {
    const portsFile = (await readdir(dir)).find((f) => f.endsWith('.ports'));
    if (portsFile) {
      try {
        const ports = JSON.parse(await readFile(join(dir, portsFile), 'utf8')) as { nats: string[] };
        return ports.nats[0]!.replace('0.0.0.0', '127.0.0.1');
      } catch {
        // written while we read it: try again
      }
    }
    if (Date.now() > until || child.exitCode !== null) throw new Error('nats-server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}
