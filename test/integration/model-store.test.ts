import test from 'ava';
import { connect, type NatsConnection } from 'nats';
import { LinkedObjectError, MissingMandatoryFieldsError, ObjectNotFoundError, UniqueConstraintError, ValidationError } from '../../src/errors.js';
import { ComputedFields } from '../../src/model/computed.js';
import { ModelStore } from '../../src/model/store.js';
import { MODEL_TYPES } from '../../src/model/types.js';
import { ModelView } from '../../src/model/view.js';
import { encode } from '../../src/protocol/codec.js';
import { uniqueKey } from '../../src/model/uniques.js';
import { buildModel } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsServer } from '../helpers/nats-server.js';

let ns: NatsServer;
const conns: NatsConnection[] = [];

/** Two independent writers (separate connections, separate views), as two agents would be. */
async function writer(bucket: string, staleClaimMs?: number): Promise<ModelStore> {
  const nc = await connect({ servers: ns.url });
  conns.push(nc);
  const kv = await nc.jetstream().views.kv(bucket, { history: 1 });
  const view = new ModelView(MODEL_TYPES);
  await view.start(kv);
  return new ModelStore(kv, view, { staleClaimMs });
}

test.before(async () => {
  ns = await NatsServer.start();
});

test.after.always(async () => {
  for (const nc of conns) await nc.close();
  await ns?.stop();
});

test('concurrent read-modify-write from two writers loses no update', async (t) => {
  const [w1, w2] = [await writer('m1'), await writer('m1')];
  const sr = await w1.create('storagerouter', { name: 'sr', ip: '10.0.0.1', heartbeats: {} });
  const bump = (w: ModelStore, n: number): Promise<unknown> =>
    Promise.all(Array.from({ length: n }, (_, i) => w.update('storagerouter', sr.guid, (d) => {
      const hb = d.heartbeats as Record<string, number>;
      hb.count = (hb.count ?? 0) + 1;
      hb[`w${i}-${Math.random()}`] = 1;
    }).catch(() => undefined)));
  await Promise.all([bump(w1, 4), bump(w2, 4)]);
  const final = await waitFor('both views converge', () => {
    const a = w1.view.find('storagerouter', sr.guid)?.heartbeats as Record<string, number>;
    const b = w2.view.find('storagerouter', sr.guid)?.heartbeats as Record<string, number>;
    return a && b && a.count === b.count ? a : undefined;
  });
  // Every update that reported success is in the final value; none overwrote another.
  t.is(final.count, Object.keys(final).filter((k) => k.startsWith('w')).length);
  t.true(final.count! >= 5, 'most updates get through the retries');
});

test('unique values hold under concurrent creators; the loser gets a typed error', async (t) => {
  const [w1, w2] = [await writer('m2'), await writer('m2')];
  const results = await Promise.allSettled([
    w1.create('storagerouter', { name: 'same-name', ip: '10.0.0.2' }),
    w2.create('storagerouter', { name: 'same-name', ip: '10.0.0.3' }),
  ]);
  t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.true(rejected?.reason instanceof UniqueConstraintError);
  // The loser released its claim on the ip it did not get to use.
  const loserIp = (results[0].status === 'rejected') ? '10.0.0.2' : '10.0.0.3';
  await t.notThrowsAsync(w1.create('storagerouter', { name: 'another', ip: loserIp }));
});

test('a unique claim left by a writer that died before writing its record is taken over', async (t) => {
  const w = await writer('m3', 300);
  const nc = conns[conns.length - 1]!;
  const kv = await nc.jetstream().views.kv('m3');
  await kv.create(uniqueKey('storagerouter', 'name', 'orphaned'), encode({ guid: 'dead-writer' }));
  await t.throwsAsync(w.create('storagerouter', { name: 'orphaned', ip: '10.0.0.4' }), { instanceOf: UniqueConstraintError }, 'a young claim may be a create in flight');
  await new Promise((r) => setTimeout(r, 400));
  await t.notThrowsAsync(w.create('storagerouter', { name: 'orphaned', ip: '10.0.0.4' }));
});

test('renaming moves the unique claim: the old value is free again', async (t) => {
  const w = await writer('m4');
  const sr = await w.create('storagerouter', { name: 'old', ip: '10.0.0.5' });
  await w.update('storagerouter', sr.guid, (d) => { d.name = 'new'; });
  await t.notThrowsAsync(w.create('storagerouter', { name: 'old', ip: '10.0.0.6' }));
  await t.throwsAsync(w.create('storagerouter', { name: 'new', ip: '10.0.0.7' }), { instanceOf: UniqueConstraintError });
});

test('relations: reverse lists, mandatory fields, missing targets, linked deletes', async (t) => {
  const w = await writer('m5');
  const built = await buildModel(w, { storagerouters: [1], disks: [[1, 1], [2, 1]], partitions: [[1, 1, ['DB']], [2, 2, []]] });
  const srGuid = built.storagerouters.get(1)!;
  t.is(w.view.reverse('storagerouter', srGuid, 'disks').length, 2);
  t.is(w.view.reverse('disk', built.disks.get(1)!, 'partitions').length, 1);
  await t.throwsAsync(w.delete('storagerouter', srGuid), { instanceOf: LinkedObjectError });
  await t.throwsAsync(w.create('disk', { name: 'x', state: 'OK', size: 1, is_ssd: false, storagerouter_guid: 'nope' }), { instanceOf: ObjectNotFoundError });
  await t.throwsAsync(w.create('disk', { name: 'x', state: 'OK', size: 1, storagerouter_guid: srGuid }), { instanceOf: MissingMandatoryFieldsError });
  await t.throwsAsync(w.create('disk', { name: 'x', state: 'BROKEN', size: 1, is_ssd: false, storagerouter_guid: srGuid }), { instanceOf: ValidationError });
  await w.delete('diskpartition', built.partitions.get(2)!);
  await w.delete('disk', built.disks.get(2)!);
  t.is(w.view.reverse('storagerouter', srGuid, 'disks').length, 1);
  const computed = new ComputedFields(w.view);
  const expanded = computed.expand('storagerouter', w.view.get('storagerouter', srGuid));
  t.deepEqual((expanded.partition_config as Record<string, string[]>).DB, [built.partitions.get(1)!]);
  t.is(expanded.status, 'OK');
  await w.update('diskpartition', built.partitions.get(1)!, (p) => { p.state = 'MISSING'; });
  computed.invalidate('storagerouter', srGuid);
  t.is(computed.expand('storagerouter', w.view.get('storagerouter', srGuid)).status, 'FAILURE', 'a MISSING partition fails the StorageRouter');
});
