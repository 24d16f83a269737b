import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rename, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AGENT_BIN } from './install.js';

/** Exit status that asks systemd (`Restart=on-failure`) to start the unit again, now through the switched link. */
export const RELAUNCH_EXIT_CODE = 75;

/** How an agent process starts again on another release once it has stopped. */
export interface Relauncher {
  readonly mode: 'reexec' | 'systemd';
  /** Stops the agent, starts the release at `root` in its place and ends this process. */
  relaunch(root: string): Promise<void>;
}

/**
 * Under systemd the unit runs the release the link `OVS_RELEASE_LINK` points at: switch the link atomically, stop,
 * exit with {@link RELAUNCH_EXIT_CODE}; systemd starts the new one. By hand the agent starts its successor itself,
 * detached, with the same arguments, environment and standard streams, and exits once it has stopped: the
 * successor only binds its ports after this process released them.
 */
export function processRelauncher(stopAgent: () => Promise<void>, env: NodeJS.ProcessEnv = process.env): Relauncher {
  const link = env.OVS_RELEASE_LINK;
  if (link) {
    return {
      mode: 'systemd',
      async relaunch(root) {
        const tmp = join(dirname(link), `.${randomUUID()}`);
        await symlink(root, tmp, 'dir');
        await rename(tmp, link);
        await stopAgent().catch(() => undefined);
        process.exit(RELAUNCH_EXIT_CODE);
      },
    };
  }
  return {
    mode: 'reexec',
    async relaunch(root) {
      await stopAgent().catch(() => undefined);
      const child = spawn(process.execPath, [...process.execArgv, join(root, AGENT_BIN), ...process.argv.slice(2)], { detached: true, stdio: 'inherit', env, cwd: process.cwd() });
      child.unref();
      process.exit(0);
    },
  };
}
