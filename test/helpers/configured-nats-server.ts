import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real nats-server started from a config text (auth, TLS, roles) on a random port, with `env` for its variables. */
export class ConfiguredNatsServer {
  private constructor(readonly url: string, private readonly child: ChildProcess, readonly dir: string) {}

  static async start(config: string, env: Record<string, string> = {}): Promise<ConfiguredNatsServer> {
    const dir = await mkdtemp(join(tmpdir(), 'ovs-nats-conf-'));
    const conf = join(dir, 'nats.conf');
    await writeFile(conf, `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }\n${config}\n`);
    const child = spawn('nats-server', ['-c', conf, '-a', '127.0.0.1', '-p', '-1', '--ports_file_dir', dir], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    for (let i = 0; ; i++) {
      const ports = (await readdir(dir)).find((f) => f.endsWith('.ports'));
      if (ports) {
        const { nats } = JSON.parse(await readFile(join(dir, ports), 'utf8')) as { nats: string[] };
        const url = nats[0]!.replace(/^[a-z]+:\/\//, 'nats://').replace('0.0.0.0', '127.0.0.1');
        return new ConfiguredNatsServer(url, child, dir);
      }
      if (child.exitCode !== null || i > 200) throw new Error(`nats-server did not start: ${stderr.slice(-1000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
