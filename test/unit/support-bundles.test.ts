import test from 'ava';
import { request as httpRequest } from 'node:http';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadNamePart, isDownloadName, publishDownload, pruneDownloads } from '../../src/bundles/downloads.js';
import { hprmConfig, hprmParameters } from '../../src/bundles/hprm.js';
import { dumpJournal } from '../../src/bundles/journal.js';
import { isLogBundleName, logBundleBase } from '../../src/bundles/log-bundle.js';
import { agentLogFiles, rotationsOf } from '../../src/bundles/log-sources.js';
import { redactSecrets } from '../../src/bundles/redact.js';
import { HealthServer } from '../../src/http/health-server.js';

const cache = { read: true, write: false, path: '/mnt/cache', size: 2 };

const VALID: Array<[string, unknown]> = [
  ['block only', { port: 8080, identifier: 'hprm1', block: cache }],
  ['fragment only', { port: 1, identifier: 'a-b', fragment: cache }],
  ['both, largest size and port', { port: 65535, identifier: '0' + 'a'.repeat(20) + 'z', block: cache, fragment: { ...cache, size: 10240 } }],
];

const INVALID: Array<[string, unknown, string]> = [
  ['no cache type', { port: 8080, identifier: 'hprm1' }, 'at least one cache type'],
  ['port 0', { port: 0, identifier: 'hprm1', block: cache }, 'port'],
  ['port 65536', { port: 65536, identifier: 'hprm1', block: cache }, 'port'],
  ['port as a string', { port: '8080', identifier: 'hprm1', block: cache }, 'port'],
  ['identifier too short', { port: 8080, identifier: 'ab', block: cache }, 'identifier'],
  ['identifier with upper case', { port: 8080, identifier: 'Hprm1', block: cache }, 'identifier'],
  ['identifier ending with -', { port: 8080, identifier: 'hprm-', block: cache }, 'identifier'],
  ['identifier too long', { port: 8080, identifier: 'a'.repeat(24), block: cache }, 'identifier'],
  ['size 0', { port: 8080, identifier: 'hprm1', block: { ...cache, size: 0 } }, 'size'],
  ['size over 10240 GiB', { port: 8080, identifier: 'hprm1', block: { ...cache, size: 10241 } }, 'size'],
  ['fractional size', { port: 8080, identifier: 'hprm1', block: { ...cache, size: 1.5 } }, 'size'],
  ['path missing', { port: 8080, identifier: 'hprm1', block: { read: true, write: true, size: 1 } }, 'path'],
  ['size missing', { port: 8080, identifier: 'hprm1', block: { read: true, write: true, path: '/x' } }, 'size'],
  ['empty path', { port: 8080, identifier: 'hprm1', block: { ...cache, path: '   ' } }, 'empty'],
  ['path with ..', { port: 8080, identifier: 'hprm1', block: { ...cache, path: '/mnt/../etc' } }, '..'],
  ['path with /./', { port: 8080, identifier: 'hprm1', block: { ...cache, path: '/mnt/./cache' } }, '/./'],
  ['path ending in /.', { port: 8080, identifier: 'hprm1', block: { ...cache, path: '/mnt/cache/.' } }, '/./'],
  ['relative path', { port: 8080, identifier: 'hprm1', block: { ...cache, path: 'mnt/cache' } }, 'absolute'],
  ['read missing', { port: 8080, identifier: 'hprm1', block: { write: true, path: '/x', size: 1 } }, 'read'],
  ['ALBA backend cache', { port: 8080, identifier: 'hprm1', block: { read: true, write: true, backend_info: { preset: 'p' }, connection_info: {} } }, 'ALBA'],
  ['unknown key', { port: 8080, identifier: 'hprm1', block: cache, blok: cache }, 'blok'],
];

for (const [what, params] of VALID) {
  test(`hprm parameters accepted: ${what}`, (t) => {
    t.true(hprmParameters.safeParse(params).success);
  });
}

for (const [what, params, mentions] of INVALID) {
  test(`hprm parameters refused: ${what}`, (t) => {
    const r = hprmParameters.safeParse(params);
    t.false(r.success);
    t.true(JSON.stringify(r.error?.issues).includes(mentions), JSON.stringify(r.error?.issues));
  });
}

test('hprm cache paths are stripped and runs of / collapsed; cache entries as the original builds them', (t) => {
  const p = hprmParameters.parse({ port: 8080, identifier: 'hprm1', block: { read: true, write: true, path: '  //mnt//cache///b ', size: 3 }, fragment: { read: false, write: false, path: '/f', size: 1 } });
  t.is(p.block?.path, '/mnt/cache/b');
  const config = hprmConfig(p, { vpool: { guid: 'v1', name: 'pool1' }, backend: { backend_info: { type: 'local', path: '/b' } }, natsServers: ['nats://127.0.0.1:4222'], geometry: { cluster_size: 4 } });
  t.deepEqual(config.block_cache, ['local', { path: '/mnt/cache/b', max_size: 3 * 1024 ** 3, cache_on_read: true, cache_on_write: true }]);
  t.deepEqual(config.fragment_cache, ['none']);
  t.like(config, { port: 8080, identifier: 'hprm1', vpool: { guid: 'v1', name: 'pool1' }, nats: { servers: ['nats://127.0.0.1:4222'] } });
});

test('download names: one plain path component, nothing encoded, no dot files', (t) => {
  for (const ok of ['ovs-node1-2024-01-02-03-04-05-logs.tar.gz', 'hprm_config_files_hprm1_pool1.zip', 'a']) t.true(isDownloadName(ok), ok);
  for (const bad of ['', '.', '..', '../x', 'a/b', 'a\\b', '%2e%2e', '..%2f', '.hidden', 'a..b', 'a b', 'x%00', 'a/../b', '/etc/passwd']) t.false(isDownloadName(bad), bad);
  t.is(downloadNamePart('../my node/1'), 'my_node_1');
  t.is(downloadNamePart('...'), 'unnamed');
  t.true(isDownloadName(`${logBundleBase('../weird name', new Date(0))}-logs.tar.gz`));
});

test('log bundle names: ovs-<sr_name>-<YYYY-mm-dd-HH-MM-SS>-logs.tar.gz (UTC)', (t) => {
  const base = logBundleBase('node-1', new Date(Date.UTC(2024, 0, 2, 3, 4, 5)));
  t.is(base, 'ovs-node-1-2024-01-02-03-04-05');
  t.true(isLogBundleName(`${base}-logs.tar.gz`));
  t.false(isLogBundleName('hprm_config_files_a_b.zip'));
});

test('rotations of a log file: numbered and dated, nothing else', (t) => {
  const names = ['agent.log', 'agent.log.1', 'agent.log.2.gz', 'agent.log-20240101', 'agent.log-20240102.gz', 'agent.logger', 'agent.log.old', 'other.log', 'agent.log-x'];
  t.deepEqual(rotationsOf('agent.log', names), ['agent.log', 'agent.log-20240101', 'agent.log-20240102.gz', 'agent.log.1', 'agent.log.2.gz']);
});

test('agent log files: what stdout/stderr are when they are files (with rotations) and <data dir>/logs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-logsrc-'));
  try {
    await mkdir(join(dir, 'var'), { recursive: true });
    await mkdir(join(dir, 'data', 'logs'), { recursive: true });
    for (const f of ['var/agent.log', 'var/agent.log.1', 'var/unrelated.log', 'data/logs/extra.log']) await writeFile(join(dir, f), 'x\n');
    await symlink(join(dir, 'var', 'agent.log'), join(dir, 'fd1'));
    await symlink('pipe:[1234]', join(dir, 'fd2'));
    const files = await agentLogFiles(join(dir, 'data'), [join(dir, 'fd1'), join(dir, 'fd2'), join(dir, 'absent')]);
    t.deepEqual(files, [join(dir, 'data/logs/extra.log'), join(dir, 'var/agent.log'), join(dir, 'var/agent.log.1')]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('journal: without systemd the bundle gets a note, not an error', async (t) => {
  const r = await dumpJournal('/nonexistent/journal.txt', { systemdMarker: '/nonexistent/systemd' });
  t.false(r.included);
  t.regex(r.included ? '' : r.note, /does not run systemd/);
});

test('secrets are redacted at any depth, other values kept', (t) => {
  t.deepEqual(redactSecrets({ host: 'h', password: 'p', nested: [{ client_secret: 's', token: null, port: 1 }], api_key: 'k' }), {
    host: 'h', password: '***', nested: [{ client_secret: '***', token: null, port: 1 }], api_key: '***',
  });
});

test('publishDownload renames into place; pruneDownloads keeps the newest N of a kind', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-dl-'));
  try {
    for (const [i, n] of ['a1.zip', 'a2.zip', 'a3.zip', 'b1.tar.gz'].entries()) {
      await publishDownload(dir, n, (tmp) => writeFile(tmp, n));
      await utimes(join(dir, n), 1_000 + i, 1_000 + i);
    }
    await t.throwsAsync(publishDownload(dir, '../escape.zip', (tmp) => writeFile(tmp, 'x')), { message: /not a valid download name/ });
    t.deepEqual((await pruneDownloads(dir, (n) => n.endsWith('.zip'), 2)), ['a1.zip']);
    t.deepEqual((await pruneDownloads(dir, (n) => n.endsWith('.zip'), 2)), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** A raw GET: node's client sends the path as given (no normalisation of `..` or `%2e`). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('/downloads/<name> serves files of the downloads dir only', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'ovs-dlhttp-'));
  const dir = join(root, 'downloads');
  await mkdir(join(dir, 'sub'), { recursive: true });
  await writeFile(join(dir, 'bundle.tar.gz'), 'bundle');
  await writeFile(join(root, 'secret.txt'), 'secret');
  await symlink(join(root, 'secret.txt'), join(dir, 'link.txt'));
  const http = new HealthServer({ readiness: () => ({ ready: true, reasons: [] }), downloadsDir: dir });
  const base = await http.listen(0, '127.0.0.1');
  try {
    t.deepEqual(await rawGet(base, '/downloads/bundle.tar.gz'), { status: 200, body: 'bundle' });
    t.deepEqual(await rawGet(base, '/downloads/bundle.tar.gz?x=1'), { status: 200, body: 'bundle' });
    for (const trick of ['/downloads/../secret.txt', '/downloads/..%2fsecret.txt', '/downloads/%2e%2e%2fsecret.txt', '/downloads/%2E%2E/secret.txt', '/downloads/sub/../../secret.txt', '/downloads//secret.txt', '/downloads/.', '/downloads/', '/downloads/..', '/downloads/%00']) {
      const r = await rawGet(base, trick);
      t.true(r.status >= 400 && r.status < 500, `${trick}: ${r.status}`);
      t.false(r.body.includes('secret'), trick);
    }
    t.is((await rawGet(base, '/downloads/link.txt')).status, 404, 'a symlink out of the directory is not served');
    t.is((await rawGet(base, '/downloads/sub')).status, 404, 'a directory is not served');
    t.is((await rawGet(base, '/downloads/absent.zip')).status, 404);
  } finally {
    await http.close();
    await rm(root, { recursive: true, force: true });
  }
});
