import type { Logger } from 'pino';
import type { AgentServices } from '../../agent-services.js';

/**
 * The checkups that follow a vDisk's creation or a change of its owner (spec §2.3 vdisk_checkup, §3.16, §3.24): its
 * DTL, then its MDS safety. Their failures are logged, never the caller's failure. `async` starts them as an async
 * task (the original's `.delay`) and returns.
 */
export async function vdiskCheckupAfter(s: AgentServices, log: Logger, vdiskGuid: string, how: 'inline' | 'async'): Promise<void> {
  const run = async (): Promise<unknown> => {
    const dtl = await s.call('vdisk.dtl_checkup', { vdisk_guid: vdiskGuid }).catch((err: unknown) => {
      log.warn({ err, vdisk_guid: vdiskGuid }, 'DTL checkup after the change failed');
      return err;
    });
    await s.call('mds.ensure_safety', { vdisk_guid: vdiskGuid }).catch((err: unknown) => {
      log.warn({ err, vdisk_guid: vdiskGuid }, 'MDS ensure_safety after the change failed; the next mds_checkup tries again');
    });
    if (dtl instanceof Error) throw dtl;
    return dtl;
  };
  if (how === 'inline') {
    await run().catch(() => undefined);
    return;
  }
  await s.spawn('vdisk.vdisk_checkup', run).catch((err: unknown) => log.warn({ err, vdisk_guid: vdiskGuid }, 'vDisk checkup did not start'));
}
