import type { Command } from 'commander';
import type { ReadOptions } from '../store-read.js';
import { jsonOption, natsOption } from './options.js';

/** `ovs mds list|vdisk`, `ovs scrub status`: what an operator reads about metadata servers and scrubbing. */
export function addMdsCommands(program: Command): void {
  const mds = program.command('mds').description('metadata servers: ovs mds list [--vpool <vpool>] | vdisk <vdisk> | add <vpool> <storagerouter> --capacity <n> | remove <guid>');
  mds.command('list')
    .description('every MDS service: address, StorageRouter, load of its capacity, namespaces, master and slave vDisks')
    .option('--vpool <vpool>', 'only the services of this vPool (name or guid)')
    .addOption(jsonOption())
    .addOption(natsOption())
    .action(async (o: ReadOptions & { vpool?: string }) => (await import('../mds-read.js')).listMds(o));
  mds.command('vdisk')
    .argument('<vdisk>', 'vDisk name or guid')
    .description("a vDisk's MDS services in order (master first) with each one's role and how many TLogs it is behind")
    .addOption(jsonOption())
    .addOption(natsOption())
    .action(async (vdisk: string, o: ReadOptions) => (await import('../mds-read.js')).vdiskMds(vdisk, o));
  mds.command('add')
    .argument('<vpool>', 'vPool name or guid')
    .argument('<storagerouter>', 'StorageRouter name, IP or guid (it must serve the vPool)')
    .description('one more MDS service of the vPool on that node, with an explicit capacity (vDisks it should carry; -1 unlimited, 0 draining)')
    .requiredOption('--capacity <n>', 'capacity in vDisks')
    .addOption(jsonOption())
    .addOption(natsOption())
    .action(async (vpool: string, sr: string, o: ReadOptions & { capacity: string }) => (await import('../mds-read.js')).addMds(vpool, sr, o));
  mds.command('remove')
    .argument('<guid>', 'MDS service guid (see ovs mds list)')
    .description('removes an MDS service that serves no vDisk (set its capacity to 0 and run mds_checkup first)')
    .addOption(jsonOption())
    .addOption(natsOption())
    .action(async (guid: string, o: ReadOptions) => (await import('../mds-read.js')).removeMds(guid, o));

  program.command('scrub').description('scrubbing: ovs scrub status [vpool] [--vdisks]')
    .command('status')
    .argument('[vpool]', 'vPool name or guid (default: every vPool)')
    .description('last scrub, work pending and scrubs running, per vPool or with --vdisks per vDisk')
    .option('--vdisks', 'one line per vDisk')
    .addOption(jsonOption())
    .addOption(natsOption())
    .action(async (vpool: string | undefined, o: ReadOptions & { vdisks?: boolean }) => (await import('../mds-read.js')).scrubStatus(vpool, o));
}
