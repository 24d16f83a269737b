import { z } from 'zod';
import { defineTask } from '../define.js';
import { guid, guidList, record } from '../params.js';
import { NotImplementedError } from '../../errors.js';

export const balanceChange = defineTask({
  module: 'vpool',
  name: 'balance_change',
  summary: 'Execute a computed balance change (vDisk moves) for a vPool, at its singleton',
  params: z
    .object({
      vpool_guid: guid,
      execute_only_for_srs: guidList.nullable().optional(),
      exported_balances: z.array(record).max(10_000),
    })
    .strict(),
  owner: { kind: 'vpool', param: 'vpool_guid' },
  ensureSingle: { mode: 'DEDUPED', ignoreArguments: ['execute_only_for_srs', 'exported_balances'] },
  async handler({ vpool_guid, exported_balances }, { services }) {
    services.view.get('vpool', vpool_guid);
    if (exported_balances.length === 0) return { vpool_guid, moved: 0 };
    throw new NotImplementedError('vpool.balance_change', 'moving vDisks needs phase 2 (several agents, migration)');
  },
});
