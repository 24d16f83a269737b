import { Option, type Command } from 'commander';
import type { UpFlags } from '../runtime.js';
import type { VolumeServeFlags } from '../volume-serve.js';
import { logFormatOption, toNumber } from './options.js';

/** `ovs up`, `ovs agent`: the long-running commands of the control plane. */
export function addRuntimeCommands(program: Command): void {
  program
    .command('up')
    .description('bring up a single-node cluster: nats-server -js + one agent (the embedded default)')
    .option('--data-dir <dir>', 'data directory', './.ovs')
    .option('--nats-port <n>', 'port of the spawned nats-server', toNumber, 4222)
    .option('--http-port <n>', 'HTTP port of the agent (/healthz, /readyz)', toNumber, 8870)
    .option('--nats <urls>', 'use an existing NATS cluster instead of spawning nats-server (several URLs separated by commas)')
    .option('--secure', 'spawned nats-server with TLS and passwords (agent, operator, reader roles); writes DIR/context.json for --context')
    .addOption(logFormatOption())
    .action(async (o: UpFlags) => (await import('../runtime.js')).runUp(o));

  program
    .command('agent')
    .description('run one agent (one StorageRouter) against an existing NATS')
    .option('--config <file>', 'agent configuration file (JSON)')
    .option('--nats <urls>', 'NATS URL, or several separated by commas')
    .option('--data-dir <dir>', 'data directory (identity)')
    .option('--name <name>', 'StorageRouter name (default: host name)')
    .option('--ip <ip>', 'management IP (default 127.0.0.1)')
    .option('--http-port <n>', 'HTTP port; 0 = any free port', toNumber)
    .option('--lease-ttl-ms <n>', 'singleton lease time-to-live', toNumber)
    .option('--heartbeat-ms <n>', 'heartbeat interval', toNumber)
    .option('--mount-root <dir>', 'where vPool mount points live (default /mnt)')
    .addOption(new Option('--test-tasks', 'register the test-only tasks').hideHelp())
    .addOption(new Option('--test-mode', 'serve ovs.node.<sr>.test.*: fault injection and direct model writes (never in production)').hideHelp())
    .addOption(new Option('--no-queue', 'do not answer public requests (only forwarded ones)').hideHelp())
    .option('--node-heartbeat-ms <n>', 'liveness beat for dashboards and ovs ls', toNumber)
    .option('--scheduler-tick-ms <n>', 'how often the scheduler checks its schedules', toNumber)
    .addOption(new Option('--test-crash-loop-ms <n>', 'spawn a test actor crashing this often').argParser(toNumber).hideHelp())
    .addOption(logFormatOption())
    .action(async (flags: Record<string, unknown>) => (await import('../runtime.js')).runAgent(flags));
}

/** `ovs volume serve` */
export function addVolumeCommands(program: Command): void {
  program
    .command('volume')
    .description('the data plane on its own')
    .command('serve')
    .description('serve one volume over NBD, standalone; SIGTERM flushes and exits')
    .requiredOption('--dir <dir>', 'local data directory (write cache, TLogs, metadata)')
    .requiredOption('--backend <dir>', 'backend directory (namespaces of objects)')
    .requiredOption('--name <name>', 'volume name = NBD export name')
    .requiredOption('--size <bytes>', 'volume size in bytes (grown when larger than the existing volume)')
    .option('--port <n>', 'NBD port', toNumber, 10809)
    .option('--host <ip>', 'listen address', '127.0.0.1')
    .option('--cluster-size <bytes>', 'cluster size for a new volume', toNumber)
    .option('--sco-clusters <n>', 'clusters per SCO for a new volume', toNumber)
    .option('--no-direct-io', 'large SCO reads and writes go through the page cache too (default: O_DIRECT where possible)')
    .option('--read-cache <MiB>', 'read cache of recently written and read clusters (default: 1/16 of memory, at most 2048; 0: none)', toNumber)
    .addOption(logFormatOption())
    .action(async (o: VolumeServeFlags) => (await import('../volume-serve.js')).runVolumeServe(o));
}
