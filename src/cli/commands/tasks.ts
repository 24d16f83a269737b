import type { Command } from 'commander';
import type { TaskOptions } from '../task-run.js';
import { jsonOption, natsOption, toNumber } from './options.js';

/** `ovs task`, `ovs tasks` */
export function addTaskCommands(program: Command): void {
  program
    .command('task')
    .description('run a task: ovs task <module.task> [key=value ...] [--json \'{...}\']')
    .argument('<task>', 'module.task, e.g. storagerouter.get_version_info')
    .argument('[args...]', 'parameters as key=value')
    .option('--json [params]', 'parameters as a JSON map; also prints JSON')
    .option('--async', 'start asynchronously and follow progress until done')
    .option('--timeout <ms>', 'deadline for the task', toNumber, 300_000)
    .option('--idempotency-key <key>', 'retries with the same key answer the first outcome instead of running again (1..128 of A-Za-z0-9._:-)')
    .addOption(natsOption())
    .action(async (task: string, args: string[], o: TaskOptions) => (await import('../task-run.js')).runTask(task, args, o));

  program
    .command('tasks')
    .description('list every declared task with its owner and ensure_single mode')
    .addOption(jsonOption())
    .action(async (o: { json?: boolean }) => (await import('../task-run.js')).listTasks(o));
}
