import test from 'ava';
import pino from 'pino';
import { GatedOwner } from '../../src/actors/gated-owner.js';
import { NodeTree } from '../../src/actors/node-tree.js';
import type { Outcome } from '../../src/actors/task-owner.js';
import type { AgentServices } from '../../src/agent-services.js';
import { Supervision } from '../../src/supervisors/supervision.js';
import type { TaskDef } from '../../src/tasks/define.js';
import { deleteSnapshots, snapshotAllVdisks } from '../../src/tasks/generic/snapshot-tasks.js';

const log = pino({ level: 'silent' });

/** Services whose StorageDriver retention runs end when the test says so; everything else is not needed. */
function services(sdGuids: string[]) {
  const pending: Array<{ sd: string; settle: (fail?: Error) => void }> = [];
  const kept = new Map<string, Promise<unknown>>();
  const s = {
    view: { list: (type: string) => (type === 'storagedriver' ? sdGuids.map((guid) => ({ guid })) : []) },
    call: (task: string, params: Record<string, unknown>) => {
      if (task !== 'generic.delete_snapshots_storagedriver') return Promise.reject(new Error(`unexpected ${task}`));
      return new Promise((resolve, reject) => pending.push({ sd: String(params.storagedriver_guid), settle: (fail) => (fail ? reject(fail) : resolve({ deleted: 0 })) }));
    },
    spawn: (_task: string, work: () => Promise<unknown>, taskId: string) => {
      kept.set(taskId, work().catch(() => undefined));
      return Promise.resolve(taskId);
    },
  };
  return { s: s as unknown as AgentServices, pending, kept };
}

function submit(owner: GatedOwner<{ lease: 'cluster' }>, id: string, s: AgentServices, def: TaskDef = deleteSnapshots): { outcome: Promise<Outcome>; settled: () => boolean } {
  let done = false;
  const outcome = new Promise<Outcome>((settle) => {
    const ctx = { taskId: id, deadline: Date.now() + 60_000, log, owner: { lease: 'cluster' as const }, services: s, progress: () => undefined };
    owner.submit({ id, def, handler: def.handler!, params: {}, ctx, settle: (o) => { done = true; settle(o); } });
  });
  return { outcome, settled: () => done };
}

const turn = () => new Promise((r) => setImmediate(r));

test('delete_snapshots holds its DEFAULT turn until every StorageDriver of its group has finished', async (t) => {
  const supervision = new Supervision(log);
  const nodes = new NodeTree(supervision, log);
  const owner = new GatedOwner(supervision, nodes.node, 'cluster', () => Promise.resolve({ lease: 'cluster' as const }));
  const { s, pending } = services(['sd-aaaaaaaa-1', 'sd-bbbbbbbb-2']);

  const first = submit(owner, 'first', s);
  while (pending.length < 2) await turn();
  for (let i = 0; i < 5; i++) await turn();
  t.false(first.settled(), 'the run is not over while its group works');

  // A scheduled run arriving now is dropped: retention of the same cluster is still in progress.
  const second = await submit(owner, 'second', s).outcome;
  t.like(second, { ok: true, value: { ensure_single: 'discarded', running_task_id: 'first' } });
  t.is(pending.length, 2, 'the dropped run started no StorageDriver work');
  // And so are the hourly snapshots (snapshot_all_vdisks names delete_snapshots as its sibling).
  t.like(await submit(owner, 'snapshots', s, snapshotAllVdisks).outcome, { ok: true, value: { ensure_single: 'discarded', running_task_id: 'first' } });

  pending[0]!.settle();
  for (let i = 0; i < 5; i++) await turn();
  t.false(first.settled(), 'one member finished, the other still runs');
  pending[1]!.settle(new Error('vDisk x: boom'));
  const result = await first.outcome;
  t.true(result.ok);
  const value = (result as { value: { storagedrivers: number; task_ids: string[]; failed: Array<{ storagedriver_guid: string; error: string }> } }).value;
  t.is(value.storagedrivers, 2);
  t.is(value.task_ids.length, 2);
  t.deepEqual(value.failed.map((f) => [f.storagedriver_guid, f.error]), [['sd-bbbbbbbb-2', 'vDisk x: boom']]);

  // With the group over, the next run starts (once the owner has seen the first one end: a mailbox turn later).
  let third = submit(owner, 'third-0', s);
  for (let i = 1; pending.length < 4 && i < 100; i++) {
    await turn();
    if (third.settled()) third = submit(owner, `third-${i}`, s);
  }
  pending[2]!.settle();
  pending[3]!.settle();
  t.like(await third.outcome, { ok: true, value: { storagedrivers: 2 } });
  let after = await submit(owner, 'snapshots-after-0', s, snapshotAllVdisks).outcome;
  for (let i = 1; i < 100 && after.ok && !Array.isArray(after.value); i++) {
    await turn();
    after = await submit(owner, `snapshots-after-${i}`, s, snapshotAllVdisks).outcome;
  }
  t.deepEqual(after, { ok: true, value: [[], []] }, 'snapshots run again once no retention runs');
  nodes.stop();
});
