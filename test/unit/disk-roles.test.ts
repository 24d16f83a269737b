import test from 'ava';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { discoverDisks } from '../../src/host/disks/discover.js';
import { decideDiskRoles, type DiskRoleFacts, type RolePartition } from '../../src/policies/disk-roles.js';

const SR = 'sr-a';
const part = (guid: string, disk: string, roles: string[] = [], extra: Partial<RolePartition> = {}): RolePartition => ({
  guid, disk_guid: disk, roles, filesystem: 'ext4', mountpoint: `/mnt/${guid}`, ...extra,
});

interface Row {
  name: string;
  req: { disk_guid?: string; partition_guid?: string | null; roles: string[]; storagerouter_guid?: string };
  facts?: Partial<DiskRoleFacts>;
  want: string;
  roles?: string[];
}

const partitions = [part('p1', 'd1', ['WRITE']), part('p2', 'd2', ['DB']), part('p3', 'd3', [], { mountpoint: null })];

const rows: Row[] = [
  { name: 'adds SCRUB to a mounted partition', req: { partition_guid: 'p1', roles: ['WRITE', 'SCRUB'] }, want: 'set_roles', roles: ['WRITE', 'SCRUB'] },
  { name: 'drops duplicate roles', req: { partition_guid: 'p1', roles: ['SCRUB', 'SCRUB'] }, want: 'set_roles', roles: ['SCRUB'] },
  { name: 'clears roles nothing uses', req: { partition_guid: 'p1', roles: [] }, want: 'set_roles', roles: [] },
  { name: 'BACKEND is not assignable', req: { partition_guid: 'p1', roles: ['BACKEND'] }, want: 'invalid_role' },
  { name: 'an unknown role is refused', req: { partition_guid: 'p1', roles: ['CACHE'] }, want: 'invalid_role' },
  { name: "another StorageRouter's disk", req: { partition_guid: 'p1', roles: ['SCRUB'] }, facts: { diskStoragerouter: 'sr-b' }, want: 'disk_not_on_storagerouter' },
  { name: 'a partition of another disk', req: { disk_guid: 'd1', partition_guid: 'p2', roles: ['SCRUB'] }, want: 'partition_not_on_disk' },
  { name: 'a partition that does not exist', req: { partition_guid: 'nope', roles: ['SCRUB'] }, want: 'partition_not_on_disk' },
  { name: 'removing a role in use', req: { partition_guid: 'p1', roles: ['SCRUB'] }, facts: { rolesInUse: new Set(['WRITE']) }, want: 'roles_in_use', roles: ['WRITE'] },
  { name: 'keeping a role in use is fine', req: { partition_guid: 'p1', roles: ['WRITE', 'DTL'] }, facts: { rolesInUse: new Set(['WRITE']) }, want: 'set_roles', roles: ['WRITE', 'DTL'] },
  { name: 'DB on a second disk', req: { partition_guid: 'p1', roles: ['DB'] }, want: 'role_duplication', roles: ['DB'] },
  { name: 'DB again on its own disk', req: { disk_guid: 'd2', partition_guid: 'p2', roles: ['DB', 'SCRUB'] }, want: 'set_roles', roles: ['DB', 'SCRUB'] },
  { name: 'a disk used by a backend', req: { partition_guid: 'p1', roles: ['SCRUB'] }, facts: { partitions: [part('p1', 'd1', ['BACKEND'])] }, want: 'disk_used_by_backend' },
  { name: 'swap gets no roles', req: { partition_guid: 'p1', roles: ['SCRUB'] }, facts: { partitions: [part('p1', 'd1', [], { filesystem: 'swap' })] }, want: 'unsupported_filesystem' },
  { name: 'an unmounted partition is never formatted', req: { disk_guid: 'd3', partition_guid: 'p3', roles: ['SCRUB'] }, want: 'not_mounted' },
  { name: 'creating on a used disk', req: { partition_guid: null, roles: ['SCRUB'] }, want: 'disk_in_use' },
  { name: 'creating on an unused disk is not done here', req: { disk_guid: 'd9', partition_guid: null, roles: ['SCRUB'] }, want: 'partition_creation_unsupported' },
];

for (const row of rows) {
  test(`decideDiskRoles: ${row.name}`, (t) => {
    const facts: DiskRoleFacts = { diskStoragerouter: SR, partitions, rolesInUse: new Set(), ...row.facts };
    const d = decideDiskRoles({ storagerouter_guid: SR, disk_guid: 'd1', partition_guid: 'p1', ...row.req }, facts);
    t.is<string, string>(d.kind === 'refuse' ? d.reason : d.kind, row.want, d.kind === 'refuse' ? d.message : '');
    if (row.roles !== undefined) t.deepEqual(d.roles, row.roles);
  });
}

test('a filesystem on the whole disk is one partition at offset 0 with the filesystem the kernel mounted', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'ovs-disk-whole-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, '/sys/devices/vdq'), { recursive: true });
  await mkdir(join(root, '/sys/block'), { recursive: true });
  await symlink('../devices/vdq', join(root, '/sys/block/vdq'));
  await mkdir(join(root, '/proc'));
  await writeFile(join(root, '/proc/mounts'), 'proc /proc proc rw 0 0\n/dev/vdq / ext4 rw,relatime 0 0\n');
  // udev-less lsblk: no FSTYPE for the mounted whole disk.
  const doc = { blockdevices: [{ kname: 'vdq', size: 8 * 2 ** 30, type: 'disk', 'maj:min': '254:0', rota: '1', mountpoint: '/', fstype: null }] };
  const run = async (cmd: string) => ({ stdout: cmd === 'lsblk' ? JSON.stringify(doc) : '', code: 0 });
  const { disks } = await discoverDisks({ root, run });
  t.deepEqual(disks[0]?.partitions, [{ offset: 0, size: 8 * 2 ** 30, state: 'OK', aliases: ['/dev/vdq'], filesystem: 'ext4', mountpoint: '/' }]);
});
