import type { Logger } from 'pino';
import type { AgentServices } from '../../agent-services.js';

/**
 * The DTL checkup that follows a change of a vDisk's owner or its creation (spec §2.3, §3.16, §3.24): its failure
 * is logged, never the caller's failure. `async` starts it as an async task (the original's `.delay`) and returns.
 */
export async function dtlCheckupAfter(s: AgentServices, log: Logger, vdiskGuid: string, how: 'inline' | 'async'): Promise<void> {
  const run = (): Promise<unknown> =>
    s.call('vdisk.dtl_checkup', { vdisk_guid: vdiskGuid }).catch((err: unknown) => {
      log.warn({ err, vdisk_guid: vdiskGuid }, 'DTL checkup after the change failed');
      throw err;
    });
  if (how === 'inline') {
    await run().catch(() => undefined);
    return;
  }
  await s.spawn('vdisk.dtl_checkup', run).catch((err: unknown) => log.warn({ err, vdisk_guid: vdiskGuid }, 'DTL checkup did not start'));
}
