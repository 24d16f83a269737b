import type { Command } from 'commander';
import { CONFIG_OPERATIONS } from '../../protocol/subjects.js';
import type { ReadOptions } from '../store-read.js';
import { jsonOption, natsOption } from './options.js';

/** `ovs model list|get`, `ovs config get|set|list` */
export function addStoreCommands(program: Command): void {
  const model = program.command('model').description('read the model: ovs model list <type> [prop=value ...] | get <type> <guid>');
  model
    .command('list')
    .argument('<type>')
    .argument('[filters...]')
    .addOption(jsonOption())
    .addOption(natsOption())
    .action(async (type: string, filters: string[], o: ReadOptions) => (await import('../store-read.js')).listModel(type, filters, o));
  model
    .command('get')
    .argument('<type>')
    .argument('<guid>')
    .addOption(jsonOption())
    .addOption(natsOption())
    .action(async (type: string, guid: string, o: ReadOptions) => (await import('../store-read.js')).getModel(type, guid, o));

  const domain = program.command('domain').description('failure domains: ovs domain create|delete|assign|unassign (model list domain / storagerouterdomain to read)');
  domain.command('create').argument('<name>').addOption(jsonOption()).addOption(natsOption())
    .action(async (name: string, o: ReadOptions) => (await import('../domain-admin.js')).createDomain(name, o));
  domain.command('delete').argument('<domain_guid>').addOption(jsonOption()).addOption(natsOption())
    .action(async (guid: string, o: ReadOptions) => (await import('../domain-admin.js')).deleteDomain(guid, o));
  domain.command('assign').argument('<storagerouter_guid>').argument('<domain_guid>').option('--recovery', 'a recovery (backup) domain, not a regular one')
    .addOption(jsonOption()).addOption(natsOption())
    .action(async (sr: string, d: string, o: ReadOptions & { recovery?: boolean }) => (await import('../domain-admin.js')).assignDomain(sr, d, o));
  domain.command('unassign').argument('<storagerouter_guid>').argument('<domain_guid>').addOption(jsonOption()).addOption(natsOption())
    .action(async (sr: string, d: string, o: ReadOptions) => (await import('../domain-admin.js')).unassignDomain(sr, d, o));

  const config = program.command('config').description('configuration keys: ovs config get|set|list <key> [value]');
  for (const op of CONFIG_OPERATIONS) {
    config
      .command(op)
      .argument(op === 'list' ? '[key]' : '<key>')
      .argument(op === 'set' ? '<value>' : '[unused]')
      .addOption(jsonOption())
      .addOption(natsOption())
      .action(async (key: string | undefined, value: string | undefined, o: ReadOptions) => (await import('../store-read.js')).configOp(op, key, value, o));
  }
}
