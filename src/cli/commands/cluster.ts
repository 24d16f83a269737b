import type { Command } from 'commander';
import type { ClusterOptions } from '../cluster-commands.js';
import { jsonOption, natsOption } from './options.js';

/** `ovs ls`, `ovs info`, `ovs stats`, `ovs tree`: what the agents report about themselves. */
export function addClusterCommands(program: Command): void {
  program
    .command('ls')
    .description('nodes of the cluster: status, readiness, version, uptime')
    .addOption(jsonOption())
    .addOption(natsOption())
    .action(async (o: ClusterOptions) => (await import('../cluster-commands.js')).runLs(o));

  program
    .command('info')
    .argument('<node>', 'StorageRouter name or guid')
    .description('what one agent reports about itself')
    .addOption(jsonOption())
    .addOption(natsOption())
    .action(async (node: string, o: ClusterOptions) => (await import('../cluster-commands.js')).runInfo(node, o));

  program
    .command('stats')
    .description('per task and node: requests, errors, mean and max latency')
    .addOption(jsonOption())
    .addOption(natsOption())
    .action(async (o: ClusterOptions) => (await import('../cluster-commands.js')).runStats(o));

  program
    .command('tree')
    .description('the live supervised actor tree of every node: actors, mailbox depth, restarts')
    .addOption(jsonOption())
    .addOption(natsOption())
    .action(async (o: ClusterOptions) => (await import('../cluster-commands.js')).runTree(o));
}
