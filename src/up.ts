import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { connect, type ConnectionOptions } from 'nats';
import type { Logger } from 'pino';
import { Agent } from './agent.js';
import { SupervisedNatsServer } from './up-nats-supervisor.js';
import { natsConnectOptions, type NatsAuth } from './config/nats-auth.js';
import { NatsConnectionConfigError } from './errors/security.js';
import { prepareSecureNats } from './security/secure-nats.js';

export interface UpOptions {
  dataDir: string;
  natsPort: number;
  httpPort: number;
  /** Use an existing NATS cluster instead of spawning nats-server. */
  natsUrl?: string;
  /** Credentials and TLS for that existing cluster. */
  natsAuth?: NatsAuth;
  /**
   * TLS and the three roles' passwords on the spawned nats-server, a bearer token on the agent's HTTP port (all but
   * /healthz and /readyz); writes `DIR/context.json` for clients.
   */
  secure?: boolean;
  log: Logger;
}

/** How the spawned nats-server is started when not plainly: its config file and how to connect to it. */
interface NatsServerSecurity {
  configFile: string;
  connect: Partial<ConnectionOptions>;
}

/** Starts `nats-server -js` with its store under the data dir, bound to loopback. */
export async function startNatsServer(dataDir: string, port: number, log: Logger, security?: NatsServerSecurity): Promise<{ child: ChildProcess; url: string }> {
  const storeDir = join(dataDir, 'nats');
  await mkdir(storeDir, { recursive: true });
  const args = security ? ['-c', security.configFile] : ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir, '-n', 'ovs-embedded'];
  const child = spawn('nats-server', args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (b: Buffer) => {
    const line = b.toString().trim();
    if (/\[(ERR|FTL|WRN)\]/.test(line)) log.warn({ nats_server: line }, 'nats-server');
  });
  const url = `nats://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`nats-server exited with code ${code}; is port ${port} free?`))));
  const until = Date.now() + 20_000;
  for (;;) {
    try {
      const nc = await Promise.race([connect({ servers: url, timeout: 1_000, ...security?.connect }), exited]);
      await nc.jetstream().views.kv('ovs_probe', { history: 1 }).catch(() => undefined);
      await nc.close();
      return { child, url };
    } catch (e) {
      if (Date.now() > until || child.exitCode !== null) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolvePromise();
    });
    child.kill('SIGTERM');
  });
}

/** `ovs up`: the embedded single-node cluster. Returns a stop function (agent first, then nats-server). */
export async function up(o: UpOptions): Promise<{ stop: () => Promise<void>; agent: Agent; contextFile?: string; httpTokenFile?: string }> {
  const dataDir = resolve(o.dataDir);
  await mkdir(dataDir, { recursive: true });
  const marker = join(dataDir, 'ovs-up.json');
  await rm(marker, { force: true });
  if (o.secure && o.natsUrl) throw new NatsConnectionConfigError('--secure', 'secures the nats-server `ovs up` spawns; with --nats, give that cluster\'s credentials (--context, --user, ...) instead');
  const secure = o.secure ? await prepareSecureNats(dataDir, o.natsPort, join(dataDir, 'nats')) : undefined;
  const natsAuth: NatsAuth | undefined = secure?.agentAuth ?? o.natsAuth;
  const security = secure ? { configFile: secure.configFile, connect: natsConnectOptions(secure.agentAuth) } : undefined;
  const first = o.natsUrl ? undefined : await startNatsServer(dataDir, o.natsPort, o.log, security);
  let writeMarker = async (): Promise<void> => undefined;
  const nats = first ? new SupervisedNatsServer(first.child, async () => (await startNatsServer(dataDir, o.natsPort, o.log, security)).child, o.log.child({ component: 'nats-server' }), () => writeMarker()) : undefined;
  const natsUrl = o.natsUrl ?? first!.url;
  const agent = new Agent({ natsUrl, ...(natsAuth ? { natsAuth } : {}), ...(secure ? { httpToken: secure.httpToken } : {}), dataDir: join(dataDir, 'agent'), log: o.log, httpPort: o.httpPort });
  try {
    await agent.start();
  } catch (e) {
    if (nats) await nats.stop((c) => stopChild(c, 5_000));
    throw e;
  }
  await ensureDemoVpool(agent, join(dataDir, 'backend'), o.log);
  writeMarker = () => writeFile(marker, JSON.stringify({ nats_url: natsUrl, http_url: agent.httpUrl, storagerouter_guid: agent.storagerouterGuid, nats_pid: nats?.pid ?? null }, null, 2) + '\n');
  await writeMarker();
  const stop = async (): Promise<void> => {
    await rm(marker, { force: true });
    await agent.stop();
    if (nats) await nats.stop((c) => stopChild(c, 5_000));
  };
  return { stop, agent, ...(secure ? { contextFile: secure.contextFile, httpTokenFile: secure.httpTokenFile } : {}) };
}

/** The embedded default comes with a vPool `pool1` on a local-directory backend, so there is something to use. */
async function ensureDemoVpool(agent: Agent, backendPath: string, log: Logger): Promise<void> {
  const view = agent.services.view;
  if (view.list('vpool').length > 0) return;
  const sr = view.get('storagerouter', agent.storagerouterGuid);
  await agent.services.call('storagerouter.add_vpool', { parameters: { vpool_name: 'pool1', storagerouter_ip: String(sr.ip), backend_info: { type: 'local', path: backendPath } } }, Date.now() + 60_000);
  log.info({ vpool: 'pool1', backend: backendPath }, 'demo vPool created');
}
