import test from 'ava';
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import * as tar from 'tar';
import { UpdateInstallError, UpdateSourceError } from '../../src/errors.js';
import { installRelease } from '../../src/update/install.js';
import { fetchRelease, readManifest } from '../../src/update/release.js';
import { makeRelease } from '../helpers/releases.js';
import { run } from '../helpers/run.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const log = pino({ level: 'silent' });

test('a release installs beside the running one, shares its dependencies, starts, and installs once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-rel-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = await makeRelease('0.1.0-unit.1', dir);
  t.like(await readManifest(file), { name: 'ovs', version: '0.1.0-unit.1' });
  const releases = join(dir, 'releases');
  const first = await installRelease(file, releases, log, ROOT);
  t.deepEqual([first.version, first.installed], ['0.1.0-unit.1', true]);
  t.true((await lstat(join(first.root, 'node_modules'))).isSymbolicLink());
  const version = await run(process.execPath, [join(first.root, 'dist', 'src', 'bin', 'ovs.js'), '--version']);
  t.is(version.stdout.trim(), '0.1.0-unit.1');
  const again = await installRelease(file, releases, log, ROOT);
  t.false(again.installed);
  t.deepEqual(await readdir(releases), ['0.1.0-unit.1']);
});

test('a release whose agent does not load fails its start check and leaves nothing installed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-rel-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = await makeRelease('0.1.0-unit.2', dir, { breakAgent: true });
  const releases = join(dir, 'releases');
  const e = await t.throwsAsync(installRelease(file, releases, log, ROOT), { instanceOf: UpdateInstallError });
  t.regex(e.message, /start check/);
  t.deepEqual(await readdir(releases), [], 'no partial release is left behind');
});

test('not a release: garbage, another package, a missing path — typed UPDATE_SOURCE errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-rel-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const garbage = join(dir, 'garbage.tgz');
  await writeFile(garbage, Buffer.from('this is not a gzip file at all'));
  await t.throwsAsync(readManifest(garbage), { instanceOf: UpdateSourceError });
  await t.throwsAsync(installRelease(garbage, join(dir, 'r'), log, ROOT), { instanceOf: UpdateSourceError });
  const other = join(dir, 'other');
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'left-pad', version: '1.0.0' }));
  await tar.c({ gzip: true, file: `${other}.tgz`, cwd: dir, prefix: 'package' }, ['package.json']);
  const e = await t.throwsAsync(readManifest(`${other}.tgz`), { instanceOf: UpdateSourceError });
  t.regex(e.message, /left-pad/);
  await t.throwsAsync(fetchRelease(join(dir, 'nope.tgz'), dir), { instanceOf: UpdateSourceError });
  await t.throwsAsync(fetchRelease('http://127.0.0.1:1/ovs.tgz', dir), { instanceOf: UpdateSourceError });
  t.false(existsSync(join(dir, 'r', 'left-pad')));
});
