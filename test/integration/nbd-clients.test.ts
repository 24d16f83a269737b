import test from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NbdServer } from '../../src/dataplane/nbd/server.js';
import { FileVolume, MapExports } from '../helpers/nbd-file-volume.js';

const MiB = 1024 * 1024;

interface Run {
  code: number | null;
  out: string;
}

/** Runs a real client; resolves with its exit code and combined stdout+stderr. */
function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    // cwd: the scratch dir, so nothing (e.g. fio state files) lands in the source tree
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir || undefined });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

let dir = '';
let server: NbdServer;
let port = 0;
const volumes = new Map<string, FileVolume>();

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ovs-nbd-'));
  const exports = new MapExports();
  const add = async (name: string, size: number, opts: { readOnly?: boolean } = {}): Promise<void> => {
    const v = await FileVolume.create(join(dir, `${name}.img`), size, { blockSize: 4096, ...opts });
    volumes.set(name, v);
    exports.volumes.set(name, v);
  };
  await add('vol', 64 * MiB);
  await add('copy', 16 * MiB);
  await add('fio', 64 * MiB);
  await add('ro', 8 * MiB, { readOnly: true });
  await add('two', 32 * MiB);
  await writeFile(join(dir, 'ro.img'), Buffer.alloc(MiB, 0x5e), { flag: 'r+' });
  server = new NbdServer(exports);
  port = await server.listen(0, '127.0.0.1');
});

test.after.always(async () => {
  await server?.close();
  for (const v of volumes.values()) await v.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const uri = (name: string): string => `nbd://127.0.0.1:${port}/${name}`;

test('nbdinfo --size reports the export size; --list lists the exports; unknown export fails', async (t) => {
  const size = await run('nbdinfo', ['--size', uri('vol')]);
  t.is(size.code, 0, size.out);
  t.is(size.out.trim(), String(64 * MiB));

  const list = await run('nbdinfo', ['--list', '--json', `nbd://127.0.0.1:${port}`]);
  t.is(list.code, 0, list.out);
  const parsed = JSON.parse(list.out) as { exports: Array<{ 'export-name': string; 'export-size': number }> };
  const byName = new Map(parsed.exports.map((e) => [e['export-name'], e['export-size']]));
  t.deepEqual([...byName.keys()].sort(), ['copy', 'fio', 'ro', 'two', 'vol']);
  t.is(byName.get('copy'), 16 * MiB);

  const unknown = await run('nbdinfo', ['--size', uri('no-such-volume')]);
  t.not(unknown.code, 0);
  t.regex(unknown.out, /No such file|unknown/i, unknown.out);
});

test('qemu-io pattern writes, flush, and pattern reads verify', async (t) => {
  const w = await run('qemu-io', ['-f', 'raw', uri('vol'), '-c', 'write -P 0x5a 1M 4M', '-c', 'write -P 0x33 3000 5000', '-c', 'flush']);
  t.is(w.code, 0, w.out);
  t.regex(w.out, /wrote 4194304\/4194304 bytes/);
  t.regex(w.out, /wrote 5000\/5000 bytes/);
  t.notRegex(w.out, /failed/i);

  const r = await run('qemu-io', ['-f', 'raw', uri('vol'), '-c', 'read -P 0x5a 1M 4M', '-c', 'read -P 0x33 3000 5000', '-c', 'read -P 0 0 3000', '-c', 'read -P 0 8000 1040576']);
  t.is(r.code, 0, r.out);
  t.notRegex(r.out, /Pattern verification failed|failed/i);
  t.regex(r.out, /read 4194304\/4194304 bytes/);

  // a wrong pattern must be detected (proves the check above can fail)
  const wrong = await run('qemu-io', ['-f', 'raw', uri('vol'), '-c', 'read -P 0x5b 1M 4k']);
  t.regex(wrong.out, /Pattern verification failed/);

  // and the bytes are really in the backing file
  const file = await readFile(join(dir, 'vol.img'));
  t.true(file.subarray(MiB, 5 * MiB).equals(Buffer.alloc(4 * MiB, 0x5a)));
  t.true(file.subarray(3000, 8000).equals(Buffer.alloc(5000, 0x33)));
});

test('qemu-io read beyond the end of the export reports an error', async (t) => {
  const r = await run('qemu-io', ['-f', 'raw', uri('vol'), '-c', 'read 300M 4k']);
  t.not(r.code, 0, r.out);
  t.regex(r.out, /read failed: (Input\/output error|Invalid argument)/, r.out);
  t.notRegex(r.out, /read 4096\/4096 bytes/);
});

test('nbdcopy round trip of 16 MiB random data', async (t) => {
  const input = randomBytes(16 * MiB);
  const inPath = join(dir, 'in.bin');
  const outPath = join(dir, 'out.bin');
  await writeFile(inPath, input);
  const up = await run('nbdcopy', [inPath, uri('copy')]);
  t.is(up.code, 0, up.out);
  await writeFile(outPath, Buffer.alloc(0));
  const down = await run('nbdcopy', [uri('copy'), outPath]);
  t.is(down.code, 0, down.out);
  const output = await readFile(outPath);
  t.is(output.length, input.length);
  t.true(output.equals(input), 'byte-for-byte identical');
});

test('fio with the nbd engine: random 4k writes at iodepth 8 verify (crc32c)', async (t) => {
  const r = await run('fio', [
    '--name=v', '--ioengine=nbd', `--uri=${uri('fio')}`, '--rw=randwrite', '--bs=4k', '--size=16M', '--iodepth=8',
    '--verify=crc32c', '--do_verify=1', '--verify_fatal=1', '--verify_state_save=0',
  ], 120_000);
  t.is(r.code, 0, r.out);
  t.notRegex(r.out, /verify: bad|crc32c: verify failed|error=/i);
  t.regex(r.out, /WRITE: bw=/);
  t.regex(r.out, /READ: bw=/, 'verification phase read the data back');
});

test('read-only export: nbdinfo shows it read-only and qemu-io cannot write', async (t) => {
  const info = await run('nbdinfo', ['--json', uri('ro')]);
  t.is(info.code, 0, info.out);
  const parsed = JSON.parse(info.out) as { exports: Array<{ is_read_only: boolean; export_size?: number }> };
  t.true(parsed.exports[0]?.is_read_only);

  const w = await run('qemu-io', ['-f', 'raw', uri('ro'), '-c', 'write -P 0x11 0 4k']);
  t.not(w.code, 0, w.out);
  t.regex(w.out, /Permission denied|read-only|not permitted/i);
  t.notRegex(w.out, /wrote 4096\/4096 bytes/);
  const r = await run('qemu-io', ['-r', '-f', 'raw', uri('ro'), '-c', 'read -P 0x5e 0 1M']);
  t.is(r.code, 0, r.out);
  t.notRegex(r.out, /failed/i);
  const file = await readFile(join(dir, 'ro.img'));
  t.true(file.subarray(0, MiB).equals(Buffer.alloc(MiB, 0x5e)), 'content unchanged');
});

test('two concurrent clients on the same export', async (t) => {
  const [a, b] = await Promise.all([
    run('qemu-io', ['-f', 'raw', uri('two'), '-c', 'write -P 0xa1 0 8M', '-c', 'flush', '-c', 'read -P 0xa1 0 8M']),
    run('qemu-io', ['-f', 'raw', uri('two'), '-c', 'write -P 0xb2 16M 8M', '-c', 'flush', '-c', 'read -P 0xb2 16M 8M']),
  ]);
  t.is(a.code, 0, a.out);
  t.is(b.code, 0, b.out);
  t.notRegex(a.out + b.out, /failed/i);
  const c = await run('qemu-io', ['-f', 'raw', uri('two'), '-c', 'read -P 0xa1 0 8M', '-c', 'read -P 0 8M 8M', '-c', 'read -P 0xb2 16M 8M']);
  t.is(c.code, 0, c.out);
  t.notRegex(c.out, /failed/i);
});
