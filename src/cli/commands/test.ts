import { Option, type Command } from 'commander';
import type { ReadOptions } from '../store-read.js';
import { jsonOption, natsOption, toNumber } from './options.js';

/** `ovs test fault arm|clear|list`, `ovs test model put|delete`: an agent started with `--test-mode`. */
export function addTestCommands(program: Command): void {
  const testCmd = program.command('test').description('fault injection and direct model writes on an agent started with --test-mode');
  const fault = testCmd.command('fault').description('faults: ovs test fault arm <sr guid> <point> [match] | clear <sr guid> [point] | list <sr guid>');
  fault.command('arm')
    .argument('<storagerouter_guid>')
    .argument('<point>', 'mds.unresponsive | mds.catch_up | backend.put | scrub.step')
    .argument('[match]', 'fails hits whose subject starts with this (default: every hit)')
    .addOption(new Option('--times <n>', 'disarm after this many hits (default: until cleared)').argParser(toNumber))
    .addOption(jsonOption())
    .addOption(natsOption())
    .action(async (sr: string, point: string, match: string | undefined, o: ReadOptions & { times?: number }) => (await import('../test-admin.js')).armFault(sr, point, match, o));
  fault.command('clear').argument('<storagerouter_guid>').argument('[point]', 'only this point (default: every fault)').addOption(jsonOption()).addOption(natsOption())
    .action(async (sr: string, point: string | undefined, o: ReadOptions) => (await import('../test-admin.js')).clearFaults(sr, point, o));
  fault.command('list').argument('<storagerouter_guid>').addOption(jsonOption()).addOption(natsOption())
    .action(async (sr: string, o: ReadOptions) => (await import('../test-admin.js')).listFaults(sr, o));

  const model = testCmd.command('model').description('direct model writes (schema-checked, no task logic): put <sr guid> <type> [prop=value ...] | delete <sr guid> <type> <guid>');
  model.command('put')
    .argument('<storagerouter_guid>')
    .argument('<type>')
    .argument('[props...]', 'properties as prop=value')
    .option('--guid <guid>', 'create with this guid, or set the props on the object that has it')
    .addOption(jsonOption())
    .addOption(natsOption())
    .action(async (sr: string, type: string, props: string[], o: ReadOptions & { guid?: string }) => (await import('../test-admin.js')).putModel(sr, type, props, o));
  model.command('delete').argument('<storagerouter_guid>').argument('<type>').argument('<guid>').addOption(jsonOption()).addOption(natsOption())
    .action(async (sr: string, type: string, guid: string, o: ReadOptions) => (await import('../test-admin.js')).deleteModel(sr, type, guid, o));
}
