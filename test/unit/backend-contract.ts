import test from 'ava';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Backend, BackendError, FencedError, NamespaceExistsError, NamespaceMissingError, ObjectExistsError, ObjectMissingError, OWNER_TAG_OBJECT } from '../../src/dataplane/backend/backend.js';

/** How the contract gets backends of one implementation. */
export interface BackendFixture {
  /** A backend of its own (a fresh vPool) with namespace `ns1` created. */
  fresh(): Promise<Backend>;
  /** Another client of the same vPool's backend, as a second node would have. */
  peer(b: Backend): Promise<Backend>;
}

export const ownerDoc = (who: string): Buffer => Buffer.from(JSON.stringify({ ownerTag: 1, nodeId: who, nonce: Math.random() }));

let scratch: string | undefined;
async function tempFile(content: string): Promise<string> {
  scratch ??= await fs.mkdtemp(path.join(os.tmpdir(), 'ovs-contract-'));
  const p = path.join(scratch, `src-${Math.random().toString(36).slice(2)}`);
  await fs.writeFile(p, content);
  return p;
}

/** The Backend contract (volumedriver.md C3, C8) every implementation must keep, as ava tests titled `<label>: ...`. */
export function backendContract(label: string, fx: BackendFixture): void {
  test.after.always(async () => {
    if (scratch) await fs.rm(scratch, { recursive: true, force: true });
  });

  test(`${label}: namespaces: create, exists, list, duplicate, delete`, async (t) => {
    const b = await fx.fresh();
    await b.createNamespace('ns2');
    t.true(await b.namespaceExists('ns1'));
    t.false(await b.namespaceExists('nope'));
    t.deepEqual(await b.listNamespaces(), ['ns1', 'ns2']);
    const dup = await t.throwsAsync(b.createNamespace('ns1'), { instanceOf: NamespaceExistsError });
    t.is(dup?.type, 'BACKEND_NAMESPACE_EXISTS');
    await b.put('ns2', 'x', Buffer.from('x'));
    await b.deleteNamespace('ns2');
    t.deepEqual(await b.listNamespaces(), ['ns1']);
    await t.throwsAsync(b.deleteNamespace('ns2'), { instanceOf: NamespaceMissingError });
    await t.throwsAsync(b.list('ns2'), { instanceOf: NamespaceMissingError });
    await t.throwsAsync(b.get('ns2', 'x'), { instanceOf: NamespaceMissingError });
    await t.throwsAsync(b.put('ns2', 'x', Buffer.from('x')), { instanceOf: NamespaceMissingError });
    await t.throwsAsync(b.claim('ns2', ownerDoc('A')), { instanceOf: NamespaceMissingError });
    await b.createNamespace('ns2');
    t.deepEqual(await b.list('ns2'), [], 'a namespace created again starts empty');
  });

  test(`${label}: objects: round trip, size, exists, ranged reads, delete`, async (t) => {
    const b = await fx.fresh();
    const data = Buffer.from(Array.from({ length: 10000 }, (_, i) => i & 0xff));
    await b.put('ns1', '00_00000001_00', data);
    t.deepEqual(await b.get('ns1', '00_00000001_00'), data);
    t.is(await b.size('ns1', '00_00000001_00'), 10000);
    t.true(await b.exists('ns1', '00_00000001_00'));
    t.false(await b.exists('ns1', 'other'));
    t.deepEqual(await b.getRange('ns1', '00_00000001_00', 4096, 100), data.subarray(4096, 4196));
    t.deepEqual(await b.getRange('ns1', '00_00000001_00', 9990, 100), data.subarray(9990), 'short read at the end');
    t.is((await b.getRange('ns1', '00_00000001_00', 20000, 10)).length, 0);
    await t.throwsAsync(b.getRange('ns1', '00_00000001_00', -1, 10), { instanceOf: BackendError });
    await t.throwsAsync(b.get('ns1', 'other'), { instanceOf: ObjectMissingError });
    await t.throwsAsync(b.getRange('ns1', 'other', 0, 1), { instanceOf: ObjectMissingError });
    await t.throwsAsync(b.size('ns1', 'other'), { instanceOf: ObjectMissingError });
    await b.delete('ns1', '00_00000001_00');
    t.false(await b.exists('ns1', '00_00000001_00'));
    await t.throwsAsync(b.delete('ns1', '00_00000001_00'), { instanceOf: ObjectMissingError });
    await b.delete('ns1', '00_00000001_00', { mayNotExist: true });
    await b.put('ns1', 'empty', Buffer.alloc(0));
    t.is((await b.get('ns1', 'empty')).length, 0);
    t.is(await b.size('ns1', 'empty'), 0);
  });

  test(`${label}: put from a file path and overwrite rules`, async (t) => {
    const b = await fx.fresh();
    await b.put('ns1', 'obj', { path: await tempFile('from a file') });
    t.is((await b.get('ns1', 'obj')).toString(), 'from a file');
    const dup = await t.throwsAsync(b.put('ns1', 'obj', Buffer.from('again')), { instanceOf: ObjectExistsError });
    t.is(dup?.type, 'BACKEND_OBJECT_EXISTS');
    t.is((await b.get('ns1', 'obj')).toString(), 'from a file');
    await b.put('ns1', 'obj', Buffer.from('replaced'), { overwrite: true });
    t.is((await b.get('ns1', 'obj')).toString(), 'replaced');
    await b.delete('ns1', 'obj');
    await b.put('ns1', 'obj', Buffer.from('after a delete'));
    t.is((await b.get('ns1', 'obj')).toString(), 'after a delete');
    t.deepEqual(await b.list('ns1'), ['obj']);
  });

  test(`${label}: names with path tricks are refused`, async (t) => {
    const b = await fx.fresh();
    for (const bad of ['..', '.', '../ns1', 'a/b', '/etc', 'a\\b', '', '.hidden', '.lock', 'a..b', 'x'.repeat(256), 'sp ace', 'é', 'a*', 'a>']) {
      const e = await t.throwsAsync(b.put('ns1', bad, Buffer.from('x')), { instanceOf: BackendError }, bad);
      t.false(e?.retryable);
      await t.throwsAsync(b.get('ns1', bad), { instanceOf: BackendError });
      await t.throwsAsync(b.createNamespace(bad), { instanceOf: BackendError });
    }
    await t.throwsAsync(b.list('../vpool1'), { instanceOf: BackendError });
    await b.put('ns1', 'x'.repeat(255), Buffer.from('ok'));
    await b.put('ns1', 'tlog_1.json-a_b', Buffer.from('ok'));
    await b.put('ns1', 'ends.', Buffer.from('ok'));
    t.deepEqual(await b.list('ns1'), ['ends.', 'tlog_1.json-a_b', 'x'.repeat(255)]);
    await t.throwsAsync(b.put('ns1', OWNER_TAG_OBJECT, Buffer.from('x')), { instanceOf: BackendError });
    await t.throwsAsync(b.delete('ns1', OWNER_TAG_OBJECT), { instanceOf: BackendError });
  });

  test(`${label}: list is sorted, filters by prefix and shows owner_tag once claimed`, async (t) => {
    const b = await fx.fresh();
    await b.put('ns1', 'b', Buffer.from('1'));
    await b.put('ns1', 'a', Buffer.from('1'));
    await b.put('ns1', 'tlog_x', Buffer.from('1'));
    t.deepEqual(await b.list('ns1'), ['a', 'b', 'tlog_x']);
    await b.claim('ns1', ownerDoc('A'));
    t.deepEqual(await b.list('ns1'), ['a', 'b', OWNER_TAG_OBJECT, 'tlog_x']);
    t.deepEqual(await b.list('ns1', 'tlog_'), ['tlog_x']);
    await b.delete('ns1', 'b');
    t.deepEqual(await b.list('ns1'), ['a', OWNER_TAG_OBJECT, 'tlog_x']);
  });

  test(`${label}: fencing: a newer claim by another node fences the old owner`, async (t) => {
    const b = await fx.fresh();
    const other = await fx.peer(b);
    await b.put('ns1', 'obj', Buffer.from('v0'));
    const a = await b.claim('ns1', ownerDoc('A'));
    await b.put('ns1', 'obj', Buffer.from('v1'), { fence: a, overwrite: true });
    const bTok = await other.claim('ns1', ownerDoc('B'));
    t.not(a.etag, bTok.etag);
    t.is((JSON.parse((await b.get('ns1', OWNER_TAG_OBJECT)).toString()) as { nodeId: string }).nodeId, 'B');
    t.is(await b.size('ns1', OWNER_TAG_OBJECT), (await b.get('ns1', OWNER_TAG_OBJECT)).length);
    const e = await t.throwsAsync(b.put('ns1', 'obj', Buffer.from('A2'), { fence: a, overwrite: true }), { instanceOf: FencedError });
    t.is(e?.type, 'FENCED');
    await t.throwsAsync(b.put('ns1', 'new', Buffer.from('A2'), { fence: a }), { instanceOf: FencedError });
    await t.throwsAsync(b.delete('ns1', 'obj', { fence: a }), { instanceOf: FencedError });
    await t.throwsAsync(b.delete('ns1', 'missing', { fence: a, mayNotExist: true }), { instanceOf: FencedError });
    t.is((await b.get('ns1', 'obj')).toString(), 'v1');
    t.false(await b.exists('ns1', 'new'));
    t.deepEqual(await b.list('ns1'), ['obj', OWNER_TAG_OBJECT]);
    await other.put('ns1', 'obj', Buffer.from('B1'), { fence: bTok, overwrite: true });
    await other.put('ns1', 'new', Buffer.from('B'), { fence: bTok });
    t.is((await b.get('ns1', 'obj')).toString(), 'B1');
    await other.delete('ns1', 'new', { fence: bTok });
    t.false(await b.exists('ns1', 'new'));
    await t.throwsAsync(b.put('ns1', 'obj', Buffer.from('x'), { fence: { ns: 'other', etag: bTok.etag }, overwrite: true }), { instanceOf: FencedError });
    // The old owner claims again (a restart): the node that held the namespace before is fenced in turn.
    const a2 = await b.claim('ns1', ownerDoc('A'));
    await t.throwsAsync(other.put('ns1', 'obj', Buffer.from('B2'), { fence: bTok, overwrite: true }), { instanceOf: FencedError });
    await b.put('ns1', 'obj', Buffer.from('A3'), { fence: a2, overwrite: true });
    t.is((await other.get('ns1', 'obj')).toString(), 'A3');
  });

  test(`${label}: fencing: an unclaimed namespace fences everyone`, async (t) => {
    const b = await fx.fresh();
    await t.throwsAsync(b.put('ns1', 'obj', Buffer.from('x'), { fence: { ns: 'ns1', etag: 'whatever' } }), { instanceOf: FencedError });
    t.false(await b.exists('ns1', 'obj'));
  });

  test(`${label}: concurrent fenced puts and a claim serialize`, async (t) => {
    const b = await fx.fresh();
    const a = await b.claim('ns1', ownerDoc('A'));
    const puts = Array.from({ length: 20 }, (_, i) => b.put('ns1', `p${i}`, Buffer.from(String(i)), { fence: a }).then(() => 'ok', (e: unknown) => (e instanceof FencedError ? 'fenced' : e)));
    const claim = (await fx.peer(b)).claim('ns1', ownerDoc('B'));
    const results = await Promise.all(puts);
    await claim;
    t.true(results.every((r) => r === 'ok' || r === 'fenced'), String(results.find((r) => r !== 'ok' && r !== 'fenced')));
    t.is((await b.list('ns1', 'p')).length, results.filter((r) => r === 'ok').length);
  });

  test(`${label}: puts that arrive together each get their own outcome`, async (t) => {
    const b = await fx.fresh();
    const a = await b.claim('ns1', ownerDoc('A'));
    const stale = { ns: 'ns1', etag: 'not-the-current-etag' };
    await b.put('ns1', 'taken', Buffer.from('first'));
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 20 }, (_, i) => b.put('ns1', `sco_${i}`, Buffer.from(`data ${i}`), { fence: a, overwrite: true })),
      b.put('ns1', 'stale', Buffer.from('x'), { fence: stale, overwrite: true }),
      b.put('ns1', 'taken', Buffer.from('second')), // no overwrite: refused, the first stays
      b.put('ns1', 'plain', Buffer.from('unfenced')),
    ]);
    t.true(outcomes.slice(0, 20).every((o) => o.status === 'fulfilled'));
    t.true(outcomes[20]!.status === 'rejected' && (outcomes[20] as PromiseRejectedResult).reason instanceof FencedError);
    t.true(outcomes[21]!.status === 'rejected' && (outcomes[21] as PromiseRejectedResult).reason instanceof ObjectExistsError);
    t.is(outcomes[22]!.status, 'fulfilled');
    for (let i = 0; i < 20; i++) t.is((await b.get('ns1', `sco_${i}`)).toString(), `data ${i}`);
    t.is((await b.get('ns1', 'taken')).toString(), 'first');
    t.false(await b.exists('ns1', 'stale'));
  });

  test(`${label}: concurrent overwrites of one name leave exactly one of them`, async (t) => {
    const b = await fx.fresh();
    const peer = await fx.peer(b);
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? b : peer).put('ns1', 'snapshots.json', Buffer.from(`v${i}`), { overwrite: true })));
    t.regex((await b.get('ns1', 'snapshots.json')).toString(), /^v\d$/);
    t.deepEqual(await peer.list('ns1'), ['snapshots.json']);
  });
}
