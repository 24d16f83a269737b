import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { discoverDisks, type CommandResult, type Discovery } from '../../src/host/disks/discover.js';
import { parseLsblkJson } from '../../src/host/disks/lsblk.js';

const MiB = 1024 * 1024;

interface Call {
  cmd: string;
  args: string[];
}

/** Canned lsblk output mixing the string forms of old util-linux with the numeric/boolean forms of newer ones. */
const LSBLK = {
  blockdevices: [
    { kname: 'sda', size: '10737418240', model: 'QEMU HARDDISK   ', state: 'running', 'maj:min': '8:0', fstype: null, type: 'disk', rota: '1', mountpoint: null, 'log-sec': '512', serial: 'SER-A' },
    { kname: 'sda1', size: 1073741824, model: null, state: null, 'maj:min': '8:1', fstype: 'ext4', type: 'part', rota: true, mountpoint: '/mnt/data', 'log-sec': 512, serial: null },
    { kname: 'sda2', size: '2147483648', model: null, state: null, 'maj:min': '8:2', fstype: 'swap', type: 'part', rota: '1', mountpoint: '[SWAP]', 'log-sec': '512', serial: null },
    { kname: 'sdb', size: 5368709120, model: 'Broken', state: 'offline', 'maj:min': '8:16', fstype: null, type: 'disk', rota: 0, mountpoint: null, 'log-sec': 4096, serial: '' },
    { kname: 'sr0', size: 1073741312, model: 'DVD', state: 'running', 'maj:min': '11:0', fstype: null, type: 'rom', rota: true, mountpoint: null, 'log-sec': 2048, serial: 'CD' },
    { kname: 'loop0', size: 104857600, model: null, state: null, 'maj:min': '7:0', fstype: 'squashfs', type: 'loop', rota: false, mountpoint: null, 'log-sec': 512, serial: null },
    { kname: 'md0', size: '2147483648', model: null, state: null, 'maj:min': '9:0', fstype: 'ext4', type: 'raid1', rota: '0', mountpoint: '/srv', 'log-sec': '512', serial: null },
  ],
};

const PARTED_SDA = `Model: ATA QEMU HARDDISK (scsi)
Disk /dev/sda: 10737418240B
Sector size (logical/physical): 512B/512B
Partition Table: gpt
Disk Flags:

Number  Start        End          Size         File system     Name     Flags
 1      1048576B     1074790399B  1073741824B  ext4            primary
 2      1074790400B  3222274047B  2147483648B  linux-swap(v1)  primary

`;

interface FakeHost {
  root: string;
  calls: Call[];
  run: (cmd: string, args: string[]) => Promise<CommandResult>;
}

/** A fake /dev/disk + /sys/block tree plus a canned command runner; `failingTouch` lists unwritable mountpoints. */
async function fakeHost(t: { teardown: (fn: () => Promise<void>) => void }, options: { parted?: boolean; serialColumn?: boolean; failingTouch?: string[] } = {}): Promise<FakeHost> {
  const root = await mkdtemp(join(tmpdir(), 'ovs-disk-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const link = async (path: string, target: string) => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await symlink(target, join(root, path));
  };
  const file = async (path: string, content: string) => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  };
  await link('/dev/disk/by-id/ata-QEMU_A', '../../sda');
  await link('/dev/disk/by-path/pci-0000:00:01.1-ata-1', '../../sda');
  await link('/dev/disk/by-id/ata-QEMU_A-part1', '../../sda1');
  await link('/dev/disk/by-id/ata-QEMU_A-part2', '../../sda2');
  await link('/dev/disk/by-uuid/1111-2222', '../../sda1');
  await link('/dev/disk/by-partuuid/3333-4444', '../../sda1');
  await link('/dev/disk/by-id/md-name-host:0', '/dev/md0');
  await link('/dev/disk/by-id/wwn-0xB', '../../sdb');

  for (const [name, device] of [['sda', 'pci/sda'], ['sdb', 'pci/sdb'], ['sr0', 'pci/sr0'], ['loop0', 'virtual/loop0'], ['md0', 'virtual/md0']] as const) {
    await mkdir(join(root, '/sys/devices', device), { recursive: true });
    await link(`/sys/block/${name}`, `../devices/${device}`);
  }
  // sysfs start sectors deliberately disagree with parted so the test can tell which source was used.
  await file('/sys/devices/pci/sda/sda1/start', '4096\n');
  await file('/sys/devices/pci/sda/sda1/partition', '1\n');
  await file('/sys/devices/pci/sda/sda2/start', '8192\n');
  await file('/sys/devices/pci/sda/sda2/partition', '2\n');

  const calls: Call[] = [];
  const run = async (cmd: string, args: string[]): Promise<CommandResult> => {
    calls.push({ cmd, args });
    if (cmd === 'lsblk') {
      const serial = args.some((a) => a.startsWith('--output=') && a.endsWith(',SERIAL'));
      if (serial && options.serialColumn === false) return { stdout: '', code: 1 };
      const doc = serial ? LSBLK : { blockdevices: LSBLK.blockdevices.map(({ serial: _s, ...rest }) => rest) };
      return { stdout: JSON.stringify(doc), code: 0 };
    }
    if (cmd === 'parted') {
      if (options.parted === false) return { stdout: '', code: 127 };
      return args[1] === '/dev/sda' ? { stdout: PARTED_SDA, code: 0 } : { stdout: '', code: 1 };
    }
    if (cmd === 'touch' || cmd === 'rm') {
      const failing = (options.failingTouch ?? []).some((mp) => args[0]?.startsWith(`${mp}/`));
      return { stdout: '', code: failing && cmd === 'touch' ? 1 : 0 };
    }
    return { stdout: '', code: 127 };
  };
  return { root, calls, run };
}

function get<T extends { name: string }>(list: T[], name: string): T {
  const found = list.find((item) => item.name === name);
  if (found === undefined) throw new Error(`missing ${name}`);
  return found;
}

test('lsblk parsing normalises string and numeric forms', (t) => {
  const entries = parseLsblkJson(JSON.stringify(LSBLK));
  const sda = entries[0]!;
  t.is(sda.size, 10737418240);
  t.is(sda.log_sec, 512);
  t.true(sda.rota);
  t.is(sda.model, 'QEMU HARDDISK');
  t.is(sda.major, '8');
  t.is(entries[3]!.rota, false);
  t.is(entries[3]!.serial, null, 'empty serial is null');
  t.is(entries[5]!.rota, false);
  t.is(entries[6]!.rota, false, "'0' is not truthy");
  t.throws(() => parseLsblkJson('not json'));
});

test('lsblk parsing flattens nested children', (t) => {
  const nested = { blockdevices: [{ kname: 'sda', size: 1, type: 'disk', children: [{ kname: 'sda1', size: 1, type: 'part' }] }] };
  t.deepEqual(parseLsblkJson(JSON.stringify(nested)).map((e) => e.kname), ['sda', 'sda1']);
});

test('discovery over a fake host: disks, partitions, aliases, states', async (t) => {
  const host = await fakeHost(t, { failingTouch: ['/srv'] });
  const result: Discovery = await discoverDisks({ run: host.run, root: host.root, now: () => 1700000000123 });

  t.deepEqual(result.disks.map((d) => d.name), ['sda', 'sdb', 'loop0', 'md0'], 'rom skipped, lsblk order kept');

  const sda = get(result.disks, 'sda');
  t.deepEqual(sda.aliases, ['/dev/disk/by-id/ata-QEMU_A', '/dev/disk/by-path/pci-0000:00:01.1-ata-1']);
  t.is(sda.state, 'OK');
  t.false(sda.is_ssd);
  t.is(sda.model, 'QEMU HARDDISK');
  t.is(sda.serial, 'SER-A');
  t.is(sda.size, 10737418240);
  t.deepEqual(sda.partitions, [
    { offset: 1048576, size: 1073741824, state: 'OK', aliases: ['/dev/disk/by-id/ata-QEMU_A-part1'], filesystem: 'ext4', mountpoint: '/mnt/data' },
    { offset: 1074790400, size: 2147483648, state: 'OK', aliases: ['/dev/disk/by-id/ata-QEMU_A-part2'], filesystem: 'swap', mountpoint: '[SWAP]' },
  ]);

  const sdb = get(result.disks, 'sdb');
  t.is(sdb.state, 'FAILURE', 'SCSI disk not running');
  t.true(sdb.is_ssd);
  t.deepEqual(sdb.aliases, ['/dev/disk/by-id/wwn-0xB']);

  const loop0 = get(result.disks, 'loop0');
  t.is(loop0.state, 'OK', 'non-SCSI majors are always OK');
  t.deepEqual(loop0.aliases, ['/dev/loop0'], 'no symlink → its own /dev path');
  t.deepEqual(loop0.partitions, [], 'unmounted device has no pseudo partition');

  const md0 = get(result.disks, 'md0');
  t.deepEqual(md0.aliases, ['/dev/disk/by-id/md-name-host:0'], 'absolute link target resolved inside the root');
  t.deepEqual(md0.partitions, [
    { offset: 0, size: 2147483648, state: 'FAILURE', aliases: ['/dev/disk/by-id/md-name-host:0'], filesystem: 'ext4', mountpoint: '/srv' },
  ], 'mounted device gets a pseudo partition; unwritable mountpoint → FAILURE');

  t.is(result.reverse_aliases['/dev/disk/by-id/ata-QEMU_A'], '/dev/sda');
  t.is(result.reverse_aliases['/dev/disk/by-id/ata-QEMU_A-part1'], '/dev/sda1');
  t.false(Object.keys(result.reverse_aliases).some((k) => k.includes('by-uuid') || k.includes('by-partuuid')));

  const touches = host.calls.filter((c) => c.cmd === 'touch').map((c) => c.args[0]);
  t.deepEqual(touches, ['/mnt/data/1700000000.123', '/srv/1700000000.123'], 'no write probe on swap');
  const removes = host.calls.filter((c) => c.cmd === 'rm').map((c) => c.args[0]);
  t.deepEqual(removes, ['/mnt/data/1700000000.123'], 'probe removed only where it was created');
  t.is(host.calls.filter((c) => c.cmd === 'parted').length, 1, 'parted cached per disk');
});

test('without parted the offset is start sector × logical sector size', async (t) => {
  const host = await fakeHost(t, { parted: false });
  const result = await discoverDisks({ run: host.run, root: host.root });
  t.deepEqual(get(result.disks, 'sda').partitions.map((p) => p.offset), [4096 * 512, 8192 * 512]);
});

test('lsblk without SERIAL support: retried without the column and serial is null', async (t) => {
  const host = await fakeHost(t, { serialColumn: false });
  const result = await discoverDisks({ run: host.run, root: host.root });
  const lsblkCalls = host.calls.filter((c) => c.cmd === 'lsblk');
  t.is(lsblkCalls.length, 2);
  t.false(lsblkCalls[1]!.args.some((a) => a.includes('SERIAL')));
  t.true(result.disks.every((d) => d.serial === null));
  t.is(get(result.disks, 'sda').size, 10737418240);
});

test('a partition without a discoverable parent is an error naming it', async (t) => {
  const host = await fakeHost(t);
  const orphan = { blockdevices: [{ kname: 'sdz9', size: 1, type: 'part', 'maj:min': '8:9' }] };
  const run = async (cmd: string, args: string[]) => (cmd === 'lsblk' ? { stdout: JSON.stringify(orphan), code: 0 } : host.run(cmd, args));
  const error = await t.throwsAsync(discoverDisks({ run, root: host.root }));
  t.regex(error?.message ?? '', /sdz9/);
});

test('a host without /dev/disk still discovers its devices', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'ovs-disk-empty-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, '/sys/block/vdq'), { recursive: true });
  const doc = { blockdevices: [{ kname: 'vdq', size: MiB, type: 'disk', 'maj:min': '254:0', rota: '1' }] };
  const result = await discoverDisks({ root, run: async () => ({ stdout: JSON.stringify(doc), code: 0 }) });
  t.deepEqual(result, {
    disks: [{ name: 'vdq', state: 'OK', aliases: ['/dev/vdq'], is_ssd: false, model: null, serial: null, size: MiB, partitions: [] }],
    reverse_aliases: {},
  });
});

test('real host: every discovered disk is a kernel block device listed by lsblk', async (t) => {
  const { stdout } = await promisify(execFile)('lsblk', ['-J', '-o', 'KNAME']);
  const listed = new Set<string>();
  const collect = (devices: Array<{ kname: string; children?: unknown }>) => {
    for (const d of devices) {
      listed.add(d.kname);
      if (Array.isArray(d.children)) collect(d.children as Array<{ kname: string }>);
    }
  };
  collect((JSON.parse(stdout) as { blockdevices: Array<{ kname: string }> }).blockdevices);
  t.true(listed.size > 0, 'this machine has block devices');

  const result = await discoverDisks();
  t.true(result.disks.length > 0);
  for (const disk of result.disks) {
    t.true(listed.has(disk.name), `${disk.name} is listed by lsblk`);
    t.true(disk.size >= 0 && Number.isInteger(disk.size));
    t.true(disk.aliases.length > 0);
  }
});
