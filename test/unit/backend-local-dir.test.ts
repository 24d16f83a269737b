import test from 'ava';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BackendError, FencedError, ObjectExistsError, OWNER_TAG_OBJECT } from '../../src/dataplane/backend/backend.js';
import { LocalDirBackend } from '../../src/dataplane/backend/local-dir.js';
import { backendContract } from './backend-contract.js';

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

backendContract('local-dir', {
  fresh: async () => (await fresh()).b,
  peer: async (b) => new LocalDirBackend((b as LocalDirBackend).root),
});

test('a missing root has no namespaces', async (t) => {
  const { b } = await fresh();
  t.deepEqual(await new LocalDirBackend(path.join(b.root, 'missing')).listNamespaces(), []);
});

test('put from a file path leaves no temporaries behind', async (t) => {
  const { b, root } = await fresh();
  const src = path.join(root, '..', 'src-file');
  await fs.writeFile(src, 'from a file');
  await b.put('ns1', 'obj', { path: src });
  await t.throwsAsync(b.put('ns1', 'obj', Buffer.from('again')), { instanceOf: ObjectExistsError });
  await b.put('ns1', 'obj', Buffer.from('replaced'), { overwrite: true });
  t.deepEqual(await fs.readdir(path.join(root, 'ns1')), ['obj']);
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

test('fencing: the etag sidecar names the latest claim', async (t) => {
  const { b } = await fresh();
  const a = await b.claim('ns1', doc('A'));
  t.is(await b.currentEtag('ns1'), a.etag);
  const bTok = await new LocalDirBackend(b.root).claim('ns1', doc('B'));
  t.is(await b.currentEtag('ns1'), bTok.etag);
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

test('puts that arrive together leave no temporaries, whatever their outcome', async (t) => {
  const { b } = await fresh();
  const a = await b.claim('ns1', doc('A'));
  await b.put('ns1', 'taken', Buffer.from('first'));
  await Promise.allSettled([
    ...Array.from({ length: 20 }, (_, i) => b.put('ns1', `sco_${i}`, Buffer.from(`data ${i}`), { fence: a, overwrite: true })),
    b.put('ns1', 'stale', Buffer.from('x'), { fence: { ns: 'ns1', etag: 'not-the-current-etag' }, overwrite: true }),
    b.put('ns1', 'taken', Buffer.from('second')),
  ]);
  t.deepEqual((await fs.readdir(path.join(b.root, 'ns1'))).filter((f) => f.startsWith('.tmp-')), []);
});
