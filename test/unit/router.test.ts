import test from 'ava';
import type { NatsConnection } from 'nats';
import { z } from 'zod';
import type { LocalOwner } from '../../src/actors/local-owner.js';
import { NotAvailableError, ObjectNotFoundError } from '../../src/errors.js';
import type { ModelObject, ModelReader } from '../../src/model/schema.js';
import { defineTask, type Owner, type TaskDef } from '../../src/tasks/define.js';
import { Router, type Location, type OwnerLookup } from '../../src/transport/router.js';

const ME = 'sr-me';
const OTHER = 'sr-other';

/** A model of two nodes with one StorageDriver each and a vDisk on each; an in-memory double of the read side. */
const objects: Record<string, ModelObject[]> = {
  storagerouter: [{ guid: ME }, { guid: OTHER }],
  vpool: [{ guid: 'vp1' }],
  storagedriver: [{ guid: 'sd-here', storagerouter_guid: ME }, { guid: 'sd-there', storagerouter_guid: OTHER }],
  vdisk: [{ guid: 'vd-here', storagedriver_guid: 'sd-here' }, { guid: 'vd-there', storagedriver_guid: 'sd-there' }, { guid: 'vd-orphan', storagedriver_guid: null }],
};
const model: ModelReader = {
  find: (type, guid) => objects[type]?.find((o) => o.guid === guid),
  get(type, guid) {
    const o = this.find(type, guid);
    if (!o) throw new ObjectNotFoundError(type, guid);
    return o;
  },
  list: (type) => objects[type] ?? [],
  reverse: () => [],
};

function owner(name: string): LocalOwner {
  return { name, resources: () => Promise.resolve(undefined), submit: () => undefined };
}

const nodeOwner = owner('storagerouter');
const clusterOwner = owner('cluster');
const sdOwner = owner('storagedriver:sd-here');
const vdiskOwner = owner('vdisk:vd-here');

function router(o: { singletons?: Record<string, LocalOwner>; holders?: Record<string, string>; vdisks?: Record<string, LocalOwner> } = {}): Router {
  const owners: OwnerLookup = {
    node: () => nodeOwner,
    singleton: (lease) => o.singletons?.[lease],
    storagedriver: (guid) => (guid === 'sd-here' ? sdOwner : undefined),
    vdisk: (guid) => (o.vdisks ?? { "vd-here": vdiskOwner })[guid],
  };
  // Forwarding is not exercised here: the NATS connection is never touched by locate().
  return new Router({ me: ME, nc: {} as NatsConnection, model, leases: { holderOf: (lease) => o.holders?.[lease] }, owners });
}

function task(owner: Owner): TaskDef {
  return defineTask({ module: 't', name: 'x', summary: '', params: z.object({}).passthrough(), owner, pending: 'test' });
}

function describe(l: Location): string {
  if ('remote' in l) return `remote:${l.remote}`;
  if ('waitFor' in l) return `wait:${l.waitFor}`;
  return `here:${l.here?.name ?? 'none'}`;
}

const cases: Array<{ title: string; owner: Owner; params: Record<string, unknown>; r?: Parameters<typeof router>[0]; expect: string }> = [
  { title: 'any runs where it arrives, without an owner', owner: { kind: 'any' }, params: {}, expect: 'here:none' },
  { title: 'node: this StorageRouter', owner: { kind: 'node', param: 'sr' }, params: { sr: ME }, expect: 'here:storagerouter' },
  { title: 'node: another StorageRouter', owner: { kind: 'node', param: 'sr' }, params: { sr: OTHER }, expect: `remote:${OTHER}` },
  { title: 'cluster: singleton held here', owner: { kind: 'cluster' }, params: {}, r: { singletons: { cluster: clusterOwner } }, expect: 'here:cluster' },
  { title: 'cluster: lease held elsewhere', owner: { kind: 'cluster' }, params: {}, r: { holders: { cluster: OTHER } }, expect: `remote:${OTHER}` },
  { title: 'cluster: nobody holds it yet', owner: { kind: 'cluster' }, params: {}, expect: 'wait:cluster' },
  { title: 'cluster: a stale lease naming this agent without a running singleton', owner: { kind: 'cluster' }, params: {}, r: { holders: { cluster: ME } }, expect: 'wait:cluster' },
  { title: 'vpool: its lease elsewhere', owner: { kind: 'vpool', param: 'vp' }, params: { vp: 'vp1' }, r: { holders: { 'vpool.vp1': OTHER } }, expect: `remote:${OTHER}` },
  { title: 'vpool: not in this view yet, but its lease is held elsewhere', owner: { kind: 'vpool', param: 'vp' }, params: { vp: 'vp-new' }, r: { holders: { 'vpool.vp-new': OTHER } }, expect: `remote:${OTHER}` },
  { title: 'storagedriver here', owner: { kind: 'storagedriver', param: 'sd' }, params: { sd: 'sd-here' }, expect: 'here:storagedriver:sd-here' },
  { title: 'storagedriver on another node', owner: { kind: 'storagedriver', param: 'sd' }, params: { sd: 'sd-there' }, expect: `remote:${OTHER}` },
  { title: 'vdisk here', owner: { kind: 'vdisk', param: 'vd' }, params: { vd: 'vd-here' }, expect: 'here:vdisk:vd-here' },
  { title: 'vdisk on another node', owner: { kind: 'vdisk', param: 'vd' }, params: { vd: 'vd-there' }, expect: `remote:${OTHER}` },
];

for (const c of cases) {
  test(`locate: ${c.title}`, (t) => {
    t.is(describe(router(c.r).locate(task(c.owner), c.params)), c.expect);
  });
}

test('locate: unknown objects are OBJECT_NOT_FOUND, whatever the owner kind', (t) => {
  for (const [kind, type] of [['node', 'storagerouter'], ['vpool', 'vpool'], ['vdisk', 'vdisk'], ['storagedriver', 'storagedriver']] as const) {
    const e = t.throws(() => router().locate(task({ kind, param: 'g' }), { g: 'nope' }), { instanceOf: ObjectNotFoundError });
    t.like(e?.details, { object_type: type, guid: 'nope' });
  }
});

test('locate: a vDisk without an owner, or whose actor is not running here, is NOT_AVAILABLE (retryable)', (t) => {
  t.throws(() => router().locate(task({ kind: 'vdisk', param: 'vd' }), { vd: 'vd-orphan' }), { instanceOf: NotAvailableError });
  const e = t.throws(() => router({ vdisks: {} }).locate(task({ kind: 'vdisk', param: 'vd' }), { vd: 'vd-here' }), { instanceOf: NotAvailableError });
  t.true(e?.retryable);
});

test('locate has no side effects: the same question twice gives the same answer and spawns nothing', (t) => {
  const r = router();
  const first = describe(r.locate(task({ kind: 'vdisk', param: 'vd' }), { vd: 'vd-here' }));
  t.is(describe(r.locate(task({ kind: 'vdisk', param: 'vd' }), { vd: 'vd-here' })), first);
  t.throws(() => router({ vdisks: {} }).locate(task({ kind: 'vdisk', param: 'vd' }), { vd: 'vd-here' }));
});
