import type { Command } from 'commander';
import type { ReadOptions } from '../store-read.js';
import { jsonOption, natsOption } from './options.js';

/** `ovs update check|start|status`: rolling updates from a release tarball (npm run release). */
export function addUpdateCommands(program: Command): void {
  const update = program.command('update').description('rolling updates: ovs update check [--source <tgz|url>] | start [--components framework] | status');
  update.command('check')
    .description("every node's installed and candidate release, downtime and prerequisites")
    .option('--source <tgz|url>', 'set the update source first (/ovs/framework/update/source)')
    .addOption(jsonOption())
    .addOption(natsOption())
    .action(async (o: ReadOptions & { source?: string }) => (await import('../update-read.js')).updateCheck(o));
  update.command('start')
    .description('update every node, one at a time: its vDisks move away, it restarts on the candidate, they come back')
    .option('--components <list>', 'components, comma separated', 'framework')
    .addOption(jsonOption())
    .addOption(natsOption())
    .action(async (o: ReadOptions & { components: string }) => (await import('../update-read.js')).updateStart(o));
  update.command('status')
    .description('the current or last update, node by node')
    .addOption(jsonOption())
    .addOption(natsOption())
    .action(async (o: ReadOptions) => (await import('../update-read.js')).updateStatus(o));
}
