import test from 'ava';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BackendError, FencedError, NamespaceMissingError, ObjectExistsError, ObjectMissingError, OWNER_TAG_OBJECT } from '../../src/dataplane/backend/backend.js';
import { LocalDirBackend, NamespaceExistsError } from '../../src/dataplane/backend/local-dir.js';

const dirs: string[] = [];
test.after.always(async () => {
  await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function fresh(opts?: ConstructorParameters<typeof LocalDirBackend>[1]): Promise<{ b: LocalDirBackend; root: string }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ovs-ldb-'));
  dirs.push(root);
  const b = new LocalDirBackend(path.join(root, 'vpool1'), opts);
  await b.createNamespace('ns1');
  return { b, root: b.root };
}

const doc = (who: string): Buffer => Buffer.from(JSON.stringify({ ownerTag: 1, nodeId: who, nonce: Math.random() }));

test('namespaces: create, exists, list, duplicate, delete', async (t) => {
  const { b } = await fresh();
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
  t.deepEqual(await new LocalDirBackend(path.join(b.root, 'missing')).listNamespaces(), []);
});

test('objects: round trip, size, exists, ranged reads, delete', async (t) => {
  const { b } = await fresh();
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
});

test('put from a file path and overwrite rules', async (t) => {
  const { b, root } = await fresh();
  const src = path.join(root, '..', 'src-file');
  await fs.writeFile(src, 'from a file');
  await b.put('ns1', 'obj', { path: src });
  t.is((await b.get('ns1', 'obj')).toString(), 'from a file');
  await t.throwsAsync(b.put('ns1', 'obj', Buffer.from('again')), { instanceOf: ObjectExistsError });
  t.is((await b.get('ns1', 'obj')).toString(), 'from a file');
  await b.put('ns1', 'obj', Buffer.from('replaced'), { overwrite: true });
  t.is((await b.get('ns1', 'obj')).toString(), 'replaced');
  t.deepEqual(await b.list('ns1'), ['obj'], 'no temp files left behind');
});

test('names with path tricks are refused', async (t) => {
  const { b } = await fresh();
  for (const bad of ['..', '.', '../ns1', 'a/b', '/etc', 'a\\b', '', '.hidden', '.lock', 'a..b', 'x'.repeat(256), 'sp ace', 'é']) {
    const e = await t.throwsAsync(b.put('ns1', bad, Buffer.from('x')), { instanceOf: BackendError }, bad);
    t.false(e?.retryable);
    await t.throwsAsync(b.get('ns1', bad), { instanceOf: BackendError });
    await t.throwsAsync(b.createNamespace(bad), { instanceOf: BackendError });
  }
  await t.throwsAsync(b.list('../vpool1'), { instanceOf: BackendError });
  await b.put('ns1', 'x'.repeat(255), Buffer.from('ok'));
  await b.put('ns1', 'tlog_1.json-a_b', Buffer.from('ok'));
  await t.throwsAsync(b.put('ns1', OWNER_TAG_OBJECT, Buffer.from('x')), { instanceOf: BackendError });
});

test('list hides temp files, the lock dir and the etag sidecar; sorted; prefix', async (t) => {
  const { b, root } = await fresh();
  await b.put('ns1', 'b', Buffer.from('1'));
  await b.put('ns1', 'a', Buffer.from('1'));
  await b.put('ns1', 'tlog_x', Buffer.from('1'));
  await b.claim('ns1', doc('A'));
  await fs.writeFile(path.join(root, 'ns1', '.tmp-0123456789abcdef'), 'partial');
  await fs.mkdir(path.join(root, 'ns1', '.lock'));
  t.deepEqual(await b.list('ns1'), ['a', 'b', OWNER_TAG_OBJECT, 'tlog_x']);
  t.deepEqual(await b.list('ns1', 'tlog_'), ['tlog_x']);
});

test('fencing: a newer claim fences the old owner', async (t) => {
  const { b } = await fresh();
  const other = new LocalDirBackend(b.root); // a second client instance on the same directory
  await b.put('ns1', 'obj', Buffer.from('v0'));
  const a = await b.claim('ns1', doc('A'));
  await b.put('ns1', 'obj', Buffer.from('v1'), { fence: a, overwrite: true });
  const bTok = await other.claim('ns1', doc('B'));
  t.not(a.etag, bTok.etag);
  t.is(await b.currentEtag('ns1'), bTok.etag);
  t.is((JSON.parse((await b.get('ns1', OWNER_TAG_OBJECT)).toString()) as { nodeId: string }).nodeId, 'B');
  const e = await t.throwsAsync(b.put('ns1', 'obj', Buffer.from('A2'), { fence: a, overwrite: true }), { instanceOf: FencedError });
  t.is(e?.type, 'FENCED');
  await t.throwsAsync(b.put('ns1', 'new', Buffer.from('A2'), { fence: a }), { instanceOf: FencedError });
  await t.throwsAsync(b.delete('ns1', 'obj', { fence: a }), { instanceOf: FencedError });
  t.is((await b.get('ns1', 'obj')).toString(), 'v1');
  t.false(await b.exists('ns1', 'new'));
  t.deepEqual(await b.list('ns1'), ['obj', OWNER_TAG_OBJECT]);
  await other.put('ns1', 'obj', Buffer.from('B1'), { fence: bTok, overwrite: true });
  await other.put('ns1', 'new', Buffer.from('B'), { fence: bTok });
  t.is((await b.get('ns1', 'obj')).toString(), 'B1');
  await other.delete('ns1', 'new', { fence: bTok });
  t.false(await b.exists('ns1', 'new'));
  await t.throwsAsync(b.put('ns1', 'obj', Buffer.from('x'), { fence: { ns: 'other', etag: bTok.etag }, overwrite: true }), { instanceOf: FencedError });
});

test('fencing: an unclaimed namespace fences everyone', async (t) => {
  const { b } = await fresh();
  await t.throwsAsync(b.put('ns1', 'obj', Buffer.from('x'), { fence: { ns: 'ns1', etag: 'whatever' } }), { instanceOf: FencedError });
});

test('fencing across processes: a child claims, the parent is fenced', async (t) => {
  const { b } = await fresh();
  const a = await b.claim('ns1', doc('parent'));
  await b.put('ns1', 'obj', Buffer.from('parent'), { fence: a });
  const mod = new URL('../../src/dataplane/backend/local-dir.js', import.meta.url).href;
  const script = `
    const { LocalDirBackend } = await import(${JSON.stringify(mod)});
    const b = new LocalDirBackend(${JSON.stringify(b.root)});
    const tok = await b.claim('ns1', Buffer.from('{"nodeId":"child"}'));
    await b.put('ns1', 'obj', Buffer.from('child'), { fence: tok, overwrite: true });
    process.stdout.write(tok.etag);`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  t.is(await b.currentEtag('ns1'), stdout);
  await t.throwsAsync(b.put('ns1', 'obj', Buffer.from('parent again'), { fence: a, overwrite: true }), { instanceOf: FencedError });
  await t.throwsAsync(b.delete('ns1', 'obj', { fence: a }), { instanceOf: FencedError });
  t.is((await b.get('ns1', 'obj')).toString(), 'child');
  await b.put('ns1', 'obj', Buffer.from('parent with new token'), { fence: { ns: 'ns1', etag: stdout }, overwrite: true });
});

test('concurrent fenced puts and a claim serialize', async (t) => {
  const { b } = await fresh();
  const a = await b.claim('ns1', doc('A'));
  const puts = Array.from({ length: 20 }, (_, i) => b.put('ns1', `p${i}`, Buffer.from(String(i)), { fence: a }).then(() => 'ok', (e: unknown) => (e instanceof FencedError ? 'fenced' : e)));
  const claim = new LocalDirBackend(b.root).claim('ns1', doc('B'));
  const results = await Promise.all(puts);
  await claim;
  t.true(results.every((r) => r === 'ok' || r === 'fenced'));
  t.is((await b.list('ns1', 'p')).length, results.filter((r) => r === 'ok').length);
});

test('a stale lock dir is broken, a fresh one is waited for', async (t) => {
  const { b, root } = await fresh();
  const a = await b.claim('ns1', doc('A'));
  const lock = path.join(root, 'ns1', '.lock');
  await fs.mkdir(lock);
  const old = new Date(Date.now() - 60_000);
  await fs.utimes(lock, old, old);
  await b.put('ns1', 'obj', Buffer.from('x'), { fence: a });
  t.true(await b.exists('ns1', 'obj'));
  await t.throwsAsync(fs.stat(lock), { code: 'ENOENT' });

  await fs.mkdir(lock);
  let done = false;
  const p = b.put('ns1', 'obj2', Buffer.from('y'), { fence: a }).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 150));
  t.false(done, 'waits while another process holds the lock');
  await fs.rmdir(lock);
  await p;
  t.true(done);
});

test('fault injection makes chosen puts fail without side effects', async (t) => {
  let n = 0;
  const { b } = await fresh({ failPut: (_ns, name) => name.startsWith('00_') && ++n === 2 });
  await b.put('ns1', '00_00000001_00', Buffer.from('1'));
  const e = await t.throwsAsync(b.put('ns1', '00_00000002_00', Buffer.from('2')), { instanceOf: BackendError });
  t.true(e?.retryable);
  t.false(await b.exists('ns1', '00_00000002_00'));
  await b.put('ns1', '00_00000002_00', Buffer.from('2'));
  await b.put('ns1', 'snapshots.json', Buffer.from('{}'));
  t.deepEqual(await b.list('ns1'), ['00_00000001_00', '00_00000002_00', 'snapshots.json']);
});

test('puts that arrive together are installed as one group, each with its own outcome', async (t) => {
  const { b } = await fresh();
  const a = await b.claim('ns1', doc('A'));
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
  // No temporaries are left behind, whatever the outcome.
  t.deepEqual((await fs.readdir(path.join(b.root, 'ns1'))).filter((f) => f.startsWith('.tmp-')), []);
});
