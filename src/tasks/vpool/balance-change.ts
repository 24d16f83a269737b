import { z } from 'zod';
import type { AgentServices } from '../../agent-services.js';
import { asOvsError, VpoolError } from '../../errors.js';
import type { ModelObject } from '../../model/schema.js';
import { exportBalances, movesOfBalances, planRebalance, type BalanceRecord, type ScheduledMove } from '../../policies/rebalance.js';
import { defineTask } from '../define.js';
import { guid, guidList } from '../params.js';
import { answeringStorageDrivers } from '../storagedriver/answering.js';

const balanceRecord = z
  .object({
    storagedriver_guid: guid,
    hosted_guids: guidList,
    limit: z.number().int().min(-1),
    balance: guidList,
    overflow: guidList,
    added: guidList,
  })
  .strict();

export interface BalanceChangeResult {
  vpool_guid: string;
  moved: number;
  /** vDisk guid → StorageRouter guid it now lives on; absent when nothing moved. */
  moves?: Record<string, string>;
  /** vDisk guid → why it was left alone (gone, already there). */
  skipped?: Record<string, string>;
  failed?: Record<string, { type: string; message: string }>;
}

/** The vPool's StorageDrivers as the rebalancer sees them; those whose agent does not answer keep what they have. */
async function computedBalances(s: AgentServices, vpoolGuid: string): Promise<BalanceRecord[]> {
  const sds = s.view.list('storagedriver', { vpool_guid: vpoolGuid });
  const answering = await answeringStorageDrivers(s, sds);
  const nodes = sds.map((sd) => ({
    storagedriver: sd.guid,
    storagerouter: String(sd.storagerouter_guid),
    vdisks: s.view.list('vdisk', { storagedriver_guid: sd.guid }).map((v) => v.guid),
    excluded: !answering.has(sd.guid),
  }));
  return exportBalances(nodes, planRebalance(nodes));
}

/** Every balance must be of a StorageDriver of this vPool (the original's ValueError); nothing moves otherwise. */
function checkBalances(s: AgentServices, vpool: ModelObject, balances: readonly BalanceRecord[]): void {
  const foreign = balances.map((b) => b.storagedriver_guid).filter((g) => s.view.get('storagedriver', g).vpool_guid !== vpool.guid);
  if (foreign.length > 0) throw new VpoolError(`balances of StorageDrivers outside vPool ${String(vpool.name)}: ${foreign.join(', ')}`, { vpool_guid: vpool.guid, storagedriver_guids: foreign });
}

type Outcomes = Required<Omit<BalanceChangeResult, 'vpool_guid' | 'moved'>>;

async function runMove(s: AgentServices, vpoolGuid: string, m: ScheduledMove, deadline: number, r: Outcomes): Promise<void> {
  const vdisk = s.view.find('vdisk', m.vdisk);
  const targetSr = String(s.view.get('storagedriver', m.to).storagerouter_guid);
  if (!vdisk) r.skipped[m.vdisk] = 'the vDisk no longer exists';
  else if (vdisk.vpool_guid !== vpoolGuid) r.failed[m.vdisk] = { type: 'VPOOL_ERROR', message: `vDisk ${m.vdisk} is not in this vPool` };
  else if (vdisk.storagedriver_guid === m.to) r.skipped[m.vdisk] = 'already on its destination';
  else {
    try {
      await s.call('vdisk.move', { vdisk_guid: m.vdisk, target_storagerouter_guid: targetSr, force: false }, deadline);
      r.moves[m.vdisk] = targetSr;
    } catch (e) {
      const err = asOvsError(e);
      r.failed[m.vdisk] = { type: err.type, message: err.message };
    }
  }
}

export const balanceChange = defineTask({
  module: 'vpool',
  name: 'balance_change',
  summary: 'Execute a balance change (vDisk moves) for a vPool at its singleton; an empty list spreads its vDisks evenly first',
  params: z
    .object({
      vpool_guid: guid,
      execute_only_for_srs: guidList.nullable().optional(),
      exported_balances: z.array(balanceRecord).max(10_000),
    })
    .strict(),
  owner: { kind: 'vpool', param: 'vpool_guid' },
  ensureSingle: { mode: 'DEDUPED', ignoreArguments: ['execute_only_for_srs', 'exported_balances'] },
  async handler({ vpool_guid, execute_only_for_srs, exported_balances }, { services: s, deadline, log, progress }): Promise<BalanceChangeResult> {
    const vpool = s.view.get('vpool', vpool_guid);
    for (const sr of execute_only_for_srs ?? []) s.view.get('storagerouter', sr);
    const balances = exported_balances.length > 0 ? exported_balances : await computedBalances(s, vpool_guid);
    checkBalances(s, vpool, balances);
    // Unlike the original, omitting execute_only_for_srs executes every balance, as its docstring promises.
    const only = execute_only_for_srs ? new Set(execute_only_for_srs) : undefined;
    const { moves, problems } = movesOfBalances(balances, (b) => !only || only.has(String(s.view.get('storagedriver', b.storagedriver_guid).storagerouter_guid)));
    if (problems.length > 0) throw new VpoolError(`the balances cannot be executed: ${problems.join('; ')}`, { vpool_guid, problems });
    const r: Outcomes = { moves: {}, skipped: {}, failed: {} };
    for (const [i, m] of moves.entries()) {
      progress(i / moves.length, `vDisk ${i + 1} of ${moves.length}`);
      await runMove(s, vpool_guid, m, deadline, r);
    }
    const moved = Object.keys(r.moves).length;
    if (moves.length > 0) log.info({ vpool_guid, moved, skipped: r.skipped, failed: r.failed }, 'balance change executed');
    const out: BalanceChangeResult = { vpool_guid, moved };
    // Only what has entries: a run with nothing to do answers {vpool_guid, moved: 0}, as before.
    if (moved > 0) out.moves = r.moves;
    if (Object.keys(r.skipped).length > 0) out.skipped = r.skipped;
    if (Object.keys(r.failed).length > 0) out.failed = r.failed;
    return out;
  },
});
