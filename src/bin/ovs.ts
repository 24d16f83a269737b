#!/usr/bin/env node
import { Command, Option } from 'commander';
import { createLogger } from '../log.js';
import { connectClient, defaultNatsUrl, request } from '../client.js';
import { OvsError } from '../errors.js';
import { H } from '../protocol/headers.js';
import { taskEventSubject } from '../protocol/subjects.js';
import { decode } from '../protocol/codec.js';
import { buildTaskTable } from '../tasks/table.js';
import { fullName } from '../tasks/define.js';
import { human, keyValues } from '../cli/format.js';
import { up } from '../up.js';
import { Agent } from '../agent.js';
import { loadAgentConfig } from '../config/agent-config.js';
import { serveVolume } from '../cli/volume-serve.js';
import { askEveryAgent, askNode, formatTree, listNodes } from '../cli/cluster.js';
import type { ActorInfo } from '../supervisors/supervision.js';

const program = new Command('ovs').description('Open vStorage on NATS: cluster runtime and CLI').showHelpAfterError();

function output(value: unknown, json: boolean): void {
  process.stdout.write((json ? JSON.stringify(value, null, 2) : human(value)) + '\n');
}

function progressBar(fraction: number): string {
  const f = Math.max(0, Math.min(1, fraction));
  const filled = Math.round(f * 30);
  return `[${'#'.repeat(filled)}${' '.repeat(30 - filled)}] ${String(Math.round(f * 100)).padStart(3)}%`;
}

function fail(e: unknown, json: boolean): never {
  if (e instanceof OvsError) {
    if (json) process.stdout.write(JSON.stringify({ error: e.toWire() }, null, 2) + '\n');
    else process.stderr.write(`error ${e.type}${e.retryable ? ' (retryable)' : ''}: ${e.message}\n`);
  } else if ((e as { code?: string })?.code === '503') {
    process.stderr.write('error: no agent answered on NATS (is the cluster up, and is --nats right?)\n');
  } else {
    process.stderr.write(`error: ${(e as Error)?.message ?? String(e)}\n`);
  }
  process.exit(1);
}

function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    const hard = setTimeout(() => process.exit(1), 10_000);
    hard.unref();
    stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

program
  .command('up')
  .description('bring up a single-node cluster: nats-server -js + one agent (the embedded default)')
  .option('--data-dir <dir>', 'data directory', './.ovs')
  .option('--nats-port <n>', 'port of the spawned nats-server', (v) => Number(v), 4222)
  .option('--http-port <n>', 'HTTP port of the agent (/healthz, /readyz)', (v) => Number(v), 8870)
  .option('--nats <url>', 'use an existing NATS cluster instead of spawning nats-server')
  .action(async (o: { dataDir: string; natsPort: number; httpPort: number; nats?: string }) => {
    const log = createLogger({ proc: 'ovs-up' });
    const { stop, agent } = await up({ dataDir: o.dataDir, natsPort: o.natsPort, httpPort: o.httpPort, natsUrl: o.nats, log });
    onSignals(stop);
    const sd = agent.services.view.list('storagedriver', { storagerouter_guid: agent.storagerouterGuid })[0];
    const edge = (sd?.ports as { edge?: number } | undefined)?.edge;
    process.stderr.write(
      `\novs is up: StorageRouter ${agent.storagerouterGuid}\n  NATS       ${agent.opts.natsUrl}\n  dashboard  ${agent.httpUrl}/\n` +
        (sd ? `  vPool      pool1, StorageDriver ${sd.guid}, NBD on 127.0.0.1:${edge}\n` +
          `  try        npx ovs task vdisk.create_new volume_name=disk1 volume_size=1073741824 storagedriver_guid=${sd.guid} --nats ${agent.opts.natsUrl}\n` +
          `             qemu-io -f raw nbd://127.0.0.1:${edge}/disk1 -c 'write -P 0x5a 0 1M'\n\n` : '\n'),
    );
  });

program
  .command('agent')
  .description('run one agent (one StorageRouter) against an existing NATS')
  .option('--config <file>', 'agent configuration file (JSON)')
  .option('--nats <url>', 'NATS URL')
  .option('--data-dir <dir>', 'data directory (identity)')
  .option('--name <name>', 'StorageRouter name (default: host name)')
  .option('--ip <ip>', 'management IP (default 127.0.0.1)')
  .option('--http-port <n>', 'HTTP port; 0 = any free port', (v) => Number(v))
  .option('--lease-ttl-ms <n>', 'singleton lease time-to-live', (v) => Number(v))
  .option('--heartbeat-ms <n>', 'heartbeat interval', (v) => Number(v))
  .option('--mount-root <dir>', 'where vPool mount points live (default /mnt)')
  .addOption(new Option('--test-tasks', 'register the test-only tasks').hideHelp())
  .addOption(new Option('--no-queue', 'do not answer public requests (only forwarded ones)').hideHelp())
  .option('--node-heartbeat-ms <n>', 'liveness beat for dashboards and ovs ls', (v) => Number(v))
  .option('--scheduler-tick-ms <n>', 'how often the scheduler checks its schedules', (v) => Number(v))
  .addOption(new Option('--test-crash-loop-ms <n>', 'spawn a test actor crashing this often').argParser((v) => Number(v)).hideHelp())
  .action(async (flags: Record<string, unknown>) => {
    const cfg = await loadAgentConfig(flags);
    const log = createLogger({ proc: 'ovs-agent', name: cfg.name });
    const agent = new Agent({ ...cfg, log });
    await agent.start();
    onSignals(() => agent.stop());
    if (cfg.readyFile) {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(cfg.readyFile, JSON.stringify({ storagerouter_guid: agent.storagerouterGuid, http_url: agent.httpUrl }));
    }
  });

program
  .command('task')
  .description('run a task: ovs task <module.task> [key=value ...] [--json \'{...}\']')
  .argument('<task>', 'module.task, e.g. storagerouter.get_version_info')
  .argument('[args...]', 'parameters as key=value')
  .option('--json [params]', 'parameters as a JSON map; also prints JSON')
  .option('--async', 'start asynchronously and follow progress until done')
  .option('--timeout <ms>', 'deadline for the task', (v) => Number(v), 300_000)
  .option('--nats <url>', 'NATS URL', defaultNatsUrl())
  .action(async (task: string, args: string[], o: { json?: string | boolean; async?: boolean; timeout: number; nats: string }) => {
    const json = o.json !== undefined;
    try {
      const params = { ...(typeof o.json === 'string' ? (JSON.parse(o.json) as Record<string, unknown>) : {}), ...keyValues(args) };
      const nc = await connectClient(o.nats);
      const subject = `ovs.task.${task}`;
      if (!o.async) {
        output(await request(nc, subject, params, { timeoutMs: o.timeout }), json);
      } else {
        const { task_id } = await request<{ task_id: string }>(nc, subject, params, { timeoutMs: o.timeout, headers: { [H.async]: '1' } });
        if (!json) process.stderr.write(`started ${task} as ${task_id}\n`);
        const sub = nc.subscribe(taskEventSubject(task_id));
        void (async () => {
          for await (const m of sub) {
            const e = decode(m.data) as { progress?: number; message?: string };
            if (!json && e.progress !== undefined) process.stderr.write(`\r  ${progressBar(e.progress)} ${e.message ?? ''}`);
          }
        })();
        const rec = await request<{ status: string; result?: unknown; error?: unknown }>(nc, 'ovs.task.result', { task_id, wait_ms: o.timeout }, { timeoutMs: o.timeout + 5_000 });
        sub.unsubscribe();
        output(rec, json);
        if (rec.status === 'FAILURE') process.exitCode = 1;
      }
      await nc.close();
    } catch (e) {
      fail(e, json);
    }
  });

program
  .command('tasks')
  .description('list every declared task with its owner and ensure_single mode')
  .option('--json', 'print JSON')
  .action((o: { json?: boolean }) => {
    const rows = [...buildTaskTable().values()].map((d) => ({
      task: fullName(d),
      owner: d.owner.kind,
      ensure_single: d.ensureSingle.mode,
      status: d.handler ? 'available' : `pending: ${d.pending ?? ''}`,
    }));
    output(rows, Boolean(o.json));
  });

const model = program.command('model').description('read the model: ovs model list <type> [prop=value ...] | get <type> <guid>');
model
  .command('list')
  .argument('<type>')
  .argument('[filters...]')
  .option('--json', 'print JSON')
  .option('--nats <url>', 'NATS URL', defaultNatsUrl())
  .action(async (type: string, filters: string[], o: { json?: boolean; nats: string }) => {
    try {
      const nc = await connectClient(o.nats);
      output(await request(nc, `ovs.model.${type}.list`, { filter: keyValues(filters) }), Boolean(o.json));
      await nc.close();
    } catch (e) {
      fail(e, Boolean(o.json));
    }
  });
model
  .command('get')
  .argument('<type>')
  .argument('<guid>')
  .option('--json', 'print JSON')
  .option('--nats <url>', 'NATS URL', defaultNatsUrl())
  .action(async (type: string, guid: string, o: { json?: boolean; nats: string }) => {
    try {
      const nc = await connectClient(o.nats);
      output(await request(nc, `ovs.model.${type}.get`, { guid }), Boolean(o.json));
      await nc.close();
    } catch (e) {
      fail(e, Boolean(o.json));
    }
  });

const config = program.command('config').description('configuration keys: ovs config get|set|list <key> [value]');
for (const op of ['get', 'set', 'list'] as const) {
  config
    .command(op)
    .argument(op === 'list' ? '[key]' : '<key>')
    .argument(op === 'set' ? '<value>' : '[unused]')
    .option('--json', 'print JSON')
    .option('--nats <url>', 'NATS URL', defaultNatsUrl())
    .action(async (key: string | undefined, value: string | undefined, o: { json?: boolean; nats: string }) => {
      try {
        const nc = await connectClient(o.nats);
        const params: Record<string, unknown> = key === undefined ? {} : { key };
        if (op === 'set') params.value = keyValues([`v=${value ?? ''}`]).v;
        output(await request(nc, `ovs.config.${op}`, params), Boolean(o.json));
        await nc.close();
      } catch (e) {
        fail(e, Boolean(o.json));
      }
    });
}

async function withNats<T>(url: string, json: boolean, fn: (nc: Awaited<ReturnType<typeof connectClient>>) => Promise<T>): Promise<void> {
  try {
    const nc = await connectClient(url);
    try {
      const out = await fn(nc);
      if (out !== undefined) output(out, json);
    } finally {
      await nc.close();
    }
  } catch (e) {
    fail(e, json);
  }
}

async function resolveNode(nc: Awaited<ReturnType<typeof connectClient>>, node: string): Promise<string> {
  const srs = await request<Array<{ guid: string; name: string }>>(nc, 'ovs.model.storagerouter.list', {});
  const hit = srs.find((s) => s.guid === node || s.name === node);
  if (!hit) throw new Error(`no StorageRouter named or with guid '${node}'`);
  return hit.guid;
}

program
  .command('ls')
  .description('nodes of the cluster: status, readiness, version, uptime')
  .option('--json', 'print JSON')
  .option('--nats <url>', 'NATS URL', defaultNatsUrl())
  .action((o: { json?: boolean; nats: string }) =>
    withNats(o.nats, Boolean(o.json), async (nc) => listNodes(nc, await request(nc, 'ovs.model.storagerouter.list', {}))));

program
  .command('info')
  .argument('<node>', 'StorageRouter name or guid')
  .description('what one agent reports about itself')
  .option('--json', 'print JSON')
  .option('--nats <url>', 'NATS URL', defaultNatsUrl())
  .action((node: string, o: { json?: boolean; nats: string }) => withNats(o.nats, Boolean(o.json), async (nc) => askNode(nc, await resolveNode(nc, node), 'info')));

program
  .command('stats')
  .description('per task and node: requests, errors, mean and max latency')
  .option('--json', 'print JSON')
  .option('--nats <url>', 'NATS URL', defaultNatsUrl())
  .action((o: { json?: boolean; nats: string }) =>
    withNats(o.nats, Boolean(o.json), async (nc) => {
      const answers = await askEveryAgent<Array<Record<string, number | string>>>(nc, 'stats', []);
      return answers.flatMap(({ node, result }) =>
        result.map((s) => ({ node, task: s.task, count: s.count, errors: s.errors, mean_ms: Number(s.mean_ms).toFixed(2), max_ms: Number(s.max_ms).toFixed(2) })));
    }));

program
  .command('tree')
  .description('the live supervised actor tree of every node: actors, mailbox depth, restarts')
  .option('--json', 'print JSON')
  .option('--nats <url>', 'NATS URL', defaultNatsUrl())
  .action((o: { json?: boolean; nats: string }) =>
    withNats(o.nats, Boolean(o.json), async (nc) => {
      const trees: Record<string, ActorInfo[]> = Object.fromEntries((await askEveryAgent<ActorInfo[]>(nc, 'tree', [])).map((a) => [a.node, a.result]));
      if (o.json) return trees;
      process.stdout.write(Object.entries(trees).map(([n, t]) => formatTree(n, t)).join('\n\n') + '\n');
      return undefined;
    }));

const volume = program.command('volume').description('the data plane on its own');
volume
  .command('serve')
  .description('serve one volume over NBD, standalone; SIGTERM flushes and exits')
  .requiredOption('--dir <dir>', 'local data directory (write cache, TLogs, metadata)')
  .requiredOption('--backend <dir>', 'backend directory (namespaces of objects)')
  .requiredOption('--name <name>', 'volume name = NBD export name')
  .requiredOption('--size <bytes>', 'volume size in bytes (grown when larger than the existing volume)')
  .option('--port <n>', 'NBD port', (v) => Number(v), 10809)
  .option('--host <ip>', 'listen address', '127.0.0.1')
  .option('--cluster-size <bytes>', 'cluster size for a new volume', (v) => Number(v))
  .option('--sco-clusters <n>', 'clusters per SCO for a new volume', (v) => Number(v))
  .option('--no-direct-io', 'large SCO reads and writes go through the page cache too (default: O_DIRECT where possible)')
  .option('--read-cache <MiB>', 'read cache of recently written and read clusters (default: 1/16 of memory, at most 2048; 0: none)', (v) => Number(v))
  .action(async (o: { dir: string; backend: string; name: string; size: string; port: number; host: string; clusterSize?: number; scoClusters?: number; directIo: boolean; readCache?: number }) => {
    const log = createLogger({ proc: 'ovs-volume' });
    const geometry = { ...(o.clusterSize ? { clusterSize: o.clusterSize } : {}), ...(o.scoClusters ? { scoMultiplier: o.scoClusters } : {}) };
    const readCacheBytes = o.readCache === undefined ? undefined : Math.max(0, o.readCache) * 2 ** 20;
    const served = await serveVolume({ ...o, geometry, readCacheBytes, log });
    onSignals(served.stop);
    process.stderr.write(`serving ${o.name} on nbd://${o.host}:${served.port}/${o.name}\n`);
  });

program.parseAsync().catch((e: unknown) => fail(e, false));
