import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './eventually.js';

interface Member {
  name: string;
  clientPort: number;
  clusterPort: number;
  child?: ChildProcess;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * A JetStream cluster of real nats-servers on loopback (routes between all of them), each with its own store under one
 * temporary directory. Members can be started later than the others: a server added to the cluster.
 */
export class NatsCluster {
  private constructor(private readonly members: Member[], readonly dir: string) {}

  static async create(size: number): Promise<NatsCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'ovs-nats-cluster-'));
    const members: Member[] = [];
    for (let i = 0; i < size; i++) members.push({ name: `n${i + 1}`, clientPort: await freePort(), clusterPort: await freePort() });
    return new NatsCluster(members, dir);
  }

  /** Client URLs of the members started so far. */
  get urls(): string[] {
    return this.members.filter((m) => m.child).map((m) => `nats://127.0.0.1:${m.clientPort}`);
  }

  get url(): string {
    return this.urls.join(',');
  }

  /** Client URLs of every member, started or not (what an agent is configured with). */
  get allUrls(): string {
    return this.members.map((m) => `nats://127.0.0.1:${m.clientPort}`).join(',');
  }

  /** Stops one member, by default gracefully, or with SIGKILL as a crash (its store stays; `start(index)` brings it back). */
  async stopMember(index: number, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const m = this.members[index]!;
    const c = m.child;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill(signal);
      await exited;
    }
    m.child = undefined;
  }

  async start(index: number): Promise<void> {
    const m = this.members[index]!;
    const routes = this.members.map((o) => `nats-route://127.0.0.1:${o.clusterPort}`).join(', ');
    const conf = join(this.dir, `${m.name}.conf`);
    await writeFile(conf, [
      `server_name: ${m.name}`,
      `listen: 127.0.0.1:${m.clientPort}`,
      `jetstream { store_dir: "${join(this.dir, m.name)}" }`,
      `cluster { name: ovs-test, listen: 127.0.0.1:${m.clusterPort}, routes: [${routes}] }`,
      '',
    ].join('\n'));
    m.child = spawn('nats-server', ['-c', conf, '--ports_file_dir', join(this.dir)], { stdio: 'ignore' });
    await waitFor(`nats-server ${m.name} listening`, async () => {
      if (m.child!.exitCode !== null) throw new Error(`nats-server ${m.name} exited`);
      const files = await readdir(this.dir);
      const ports = files.find((f) => f.startsWith('nats-server_') && f.endsWith(`${m.child!.pid}.ports`));
      return ports ? JSON.parse(await readFile(join(this.dir, ports), 'utf8')) as unknown : undefined;
    }, 10_000, 50);
  }

  async stop(): Promise<void> {
    for (const m of this.members) {
      const c = m.child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await exited;
      }
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
