#!/usr/bin/env node
// Only commander and the command table load here; each command imports its implementation when it runs, so
// `ovs --help` and argument errors answer in about the time node itself needs to start.
import { Command } from 'commander';
import { addClusterCommands } from '../cli/commands/cluster.js';
import { addMdsCommands } from '../cli/commands/mds.js';
import { addConnectionOptions } from '../cli/commands/options.js';
import { addRuntimeCommands, addVolumeCommands } from '../cli/commands/runtime.js';
import { addStoreCommands } from '../cli/commands/store.js';
import { addTaskCommands } from '../cli/commands/tasks.js';
import { addTestCommands } from '../cli/commands/test.js';
import { addUpdateCommands } from '../cli/commands/update.js';
import { ownVersion } from '../host/versions.js';

const program = new Command('ovs').description('Open vStorage on NATS: cluster runtime and CLI').version(ownVersion()).showHelpAfterError();
addConnectionOptions(program);
addRuntimeCommands(program);
addTaskCommands(program);
addStoreCommands(program);
addClusterCommands(program);
addMdsCommands(program);
addVolumeCommands(program);
addTestCommands(program);
addUpdateCommands(program);

program.parseAsync().catch(async (e: unknown) => (await import('../cli/output.js')).fail(e, false));
