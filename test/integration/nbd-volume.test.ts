import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { fsck } from '../../src/dataplane/backend/fsck.js';
import { LocalDirBackend } from '../../src/dataplane/backend/local-dir.js';
import { waitFor } from '../helpers/eventually.js';
import { run } from '../helpers/run.js';
import { pattern } from '../helpers/volume-harness.js';

const BIN = new URL('../../src/bin/ovs.js', import.meta.url).pathname;
const MiB = 1024 * 1024;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function serve(dir: string, port: number, size: number): Promise<ChildProcess> {
  // Small SCOs so these few MiB cross many SCO and TLog boundaries.
  const child = spawn(process.execPath, [BIN, 'volume', 'serve', '--dir', join(dir, 'cache'), '--backend', join(dir, 'backend'), '--name', 'vol', '--size', String(size), '--port', String(port), '--sco-clusters', '256'], { stdio: 'ignore', env: { ...process.env, OVS_LOG_LEVEL: 'warn' } });
  await waitFor('nbd export', async () => (await run('nbdinfo', ['--size', `nbd://127.0.0.1:${port}/vol`])).code === 0, 30_000, 100);
  return child;
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  return exited;
}

test('real NBD clients against a real volume: qemu-io patterns, nbdcopy + cmp, fio verify; SIGTERM flushes; restart keeps data', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-nbdvol-'));
  const port = await freePort();
  const size = 64 * MiB;
  const uri = `nbd://127.0.0.1:${port}/vol`;
  let child = await serve(dir, port, size);
  t.is((await run('nbdinfo', ['--size', uri])).stdout.trim(), String(size));

  const w = await run('qemu-io', ['-f', 'raw', uri, '-c', 'write -P 0x5a 1M 4M', '-c', 'write -P 0x33 3000 5000', '-c', 'flush']);
  t.is(w.code, 0, w.stderr);
  for (const [p, off, len] of [['0x5a', '1M', '1000k'], ['0x33', '3000', '5000']] as const) {
    const r = await run('qemu-io', ['-f', 'raw', uri, '-c', `read -P ${p} ${off} ${len}`]);
    t.is(r.code, 0);
    t.false(r.stdout.includes('Pattern verification failed'), `${p} at ${off}`);
  }
  const out = await run('qemu-io', ['-f', 'raw', uri, '-c', 'read 100M 4k']);
  t.regex(out.stdout + out.stderr, /error|invalid|failed/i, 'out-of-range read is refused');

  const input = pattern(16 * MiB, 42);
  await writeFile(join(dir, 'in.img'), input);
  t.is((await run('nbdcopy', [join(dir, 'in.img'), `${uri}`])).code, 0);
  t.is((await run('nbdcopy', [uri, join(dir, 'out.img')])).code, 0);
  t.true((await readFile(join(dir, 'out.img'))).subarray(0, input.length).equals(input), 'nbdcopy round trip');

  const fio = await run('fio', ['--name=v', '--ioengine=nbd', `--uri=${uri}`, '--rw=randwrite', '--bs=4k', '--offset=32M', '--size=16M', '--iodepth=8', '--verify=crc32c', '--do_verify=1', '--verify_state_save=0', '--output-format=terse']);
  t.is(fio.code, 0, fio.stderr);

  t.is(await stop(child), 0, 'SIGTERM: flush and clean exit');
  child = await serve(dir, port, size);
  t.is((await run('nbdcopy', [uri, join(dir, 'again.img')])).code, 0);
  t.true((await readFile(join(dir, 'again.img'))).subarray(0, input.length).equals(input), 'data survives a restart');
  t.is(await stop(child), 0);
  const backend = new LocalDirBackend(join(dir, 'backend'));
  t.deepEqual((await fsck(backend, 'vol')).problems, [], 'backend consistent after a clean stop');
  await rm(dir, { recursive: true, force: true });
});
