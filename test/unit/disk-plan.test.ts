import test from 'ava';
import type { DiscoveredDisk, DiscoveredPartition, Discovery } from '../../src/host/disks/discover.js';
import {
  planDiskSync,
  type DiskSyncAction,
  type ModelDisk,
  type ModelPartition,
} from '../../src/host/disks/plan.js';

interface Model {
  disks: ModelDisk[];
  partitions: ModelPartition[];
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function part(offset: number, extra: Partial<DiscoveredPartition> = {}): DiscoveredPartition {
  return { offset, size: GiB, state: 'OK', aliases: [], filesystem: 'ext4', mountpoint: null, ...extra };
}

function disk(name: string, extra: Partial<DiscoveredDisk> = {}): DiscoveredDisk {
  return {
    name,
    state: 'OK',
    aliases: [`/dev/${name}`],
    is_ssd: false,
    model: 'QEMU HARDDISK',
    serial: `serial-${name}`,
    size: 100 * GiB,
    partitions: [],
    ...extra,
  };
}

/** Disk with one stable by-id link; its partitions get `<link>-part<n>` links. */
function linked(name: string, id: string, offsets: number[] = [], extra: Partial<DiscoveredDisk> = {}): DiscoveredDisk {
  return disk(name, {
    aliases: [`/dev/disk/by-id/${id}`],
    partitions: offsets.map((offset, i) => part(offset, { aliases: [`/dev/disk/by-id/${id}-part${i + 1}`] })),
    ...extra,
  });
}

/** Builds reverse_aliases from the disks' own symlink aliases, as discoverDisks would. */
function discovery(...disks: DiscoveredDisk[]): Discovery {
  const reverse: Record<string, string> = {};
  for (const d of disks) {
    for (const alias of d.aliases) if (alias.startsWith('/dev/disk/')) reverse[alias] = `/dev/${d.name}`;
  }
  return { disks, reverse_aliases: reverse };
}

/** Applies actions the way a store would, failing on anything invalid in sequence. */
function apply(model: Model, actions: DiskSyncAction[]): Model {
  const disks = new Map(model.disks.map((d) => [d.guid, { ...d, aliases: [...d.aliases] }]));
  const partitions = new Map(model.partitions.map((p) => [p.guid, { ...p, aliases: [...p.aliases] }]));
  const refs = new Map<string, string>();
  let counter = model.disks.length + model.partitions.length;
  const newGuid = () => `guid-${++counter}`;
  for (const action of actions) {
    switch (action.op) {
      case 'update_disk': {
        const d = disks.get(action.guid);
        if (d === undefined) throw new Error(`update of unknown disk ${action.guid}`);
        Object.assign(d, action.set);
        break;
      }
      case 'delete_disk':
        if (!disks.has(action.guid)) throw new Error(`delete of unknown disk ${action.guid}`);
        if ([...partitions.values()].some((p) => p.disk_guid === action.guid)) {
          throw new Error(`disk ${action.guid} deleted while partitions remain`);
        }
        disks.delete(action.guid);
        break;
      case 'create_disk': {
        if (refs.has(action.ref)) throw new Error(`duplicate ref ${action.ref}`);
        const guid = newGuid();
        refs.set(action.ref, guid);
        disks.set(guid, { guid, ...action.props });
        break;
      }
      case 'update_partition': {
        const p = partitions.get(action.guid);
        if (p === undefined) throw new Error(`update of unknown partition ${action.guid}`);
        Object.assign(p, action.set);
        break;
      }
      case 'delete_partition':
        if (!partitions.delete(action.guid)) throw new Error(`delete of unknown partition ${action.guid}`);
        break;
      case 'create_partition': {
        const diskGuid = 'guid' in action.disk ? action.disk.guid : refs.get(action.disk.ref);
        if (diskGuid === undefined || !disks.has(diskGuid)) throw new Error('partition on unknown disk');
        const guid = newGuid();
        partitions.set(guid, { guid, disk_guid: diskGuid, roles: [], ...action.props });
        break;
      }
    }
  }
  return { disks: [...disks.values()], partitions: [...partitions.values()] };
}

const EMPTY: Model = { disks: [], partitions: [] };

function sync(model: Model, d: Discovery): Model {
  return apply(model, planDiskSync(model, d));
}

function diskNamed(model: Model, name: string): ModelDisk {
  const found = model.disks.find((d) => d.name === name);
  if (found === undefined) throw new Error(`no model disk ${name}`);
  return found;
}

function partitionsOf(model: Model, diskGuid: string): ModelPartition[] {
  return model.partitions.filter((p) => p.disk_guid === diskGuid).sort((a, b) => a.offset - b.offset);
}

function withRoles(model: Model, diskName: string, offset: number, roles: string[]): Model {
  const guid = diskNamed(model, diskName).guid;
  return {
    disks: model.disks,
    partitions: model.partitions.map((p) => (p.disk_guid === guid && p.offset === offset ? { ...p, roles } : p)),
  };
}

test('new host: every discovered disk and partition is created, disks before their partitions', (t) => {
  const reality = discovery(linked('sda', 'ata-A', [MiB, 2 * GiB]), disk('nvme0n1', { is_ssd: true }));
  const actions = planDiskSync(EMPTY, reality);
  t.true(actions.every((a) => a.op === 'create_disk' || a.op === 'create_partition'));
  t.deepEqual(actions.map((a) => a.op), ['create_disk', 'create_partition', 'create_partition', 'create_disk']);

  const model = apply(EMPTY, actions);
  const sda = diskNamed(model, 'sda');
  t.deepEqual(sda.aliases, ['/dev/disk/by-id/ata-A']);
  t.is(sda.serial, 'serial-sda');
  t.deepEqual(partitionsOf(model, sda.guid).map((p) => p.offset), [MiB, 2 * GiB]);
  t.true(diskNamed(model, 'nvme0n1').is_ssd);
});

const idempotenceCases: Array<{ title: string; before: Discovery; after: Discovery; roles?: [string, number] }> = [
  { title: 'unchanged host', before: discovery(linked('sda', 'ata-A', [MiB])), after: discovery(linked('sda', 'ata-A', [MiB])) },
  {
    title: 'rename sdb→sdc',
    before: discovery(linked('sda', 'ata-A'), linked('sdb', 'ata-B', [MiB])),
    after: discovery(linked('sda', 'ata-A'), linked('sdc', 'ata-B', [MiB])),
  },
  {
    title: 'vanished disk with roles',
    before: discovery(linked('sda', 'ata-A'), linked('sdb', 'ata-B', [MiB])),
    after: discovery(linked('sda', 'ata-A')),
    roles: ['sdb', MiB],
  },
  {
    title: 'vanished disk without roles',
    before: discovery(linked('sda', 'ata-A'), linked('sdb', 'ata-B', [MiB])),
    after: discovery(linked('sda', 'ata-A')),
  },
  {
    title: 'partition table rewritten',
    before: discovery(linked('sdb', 'ata-B', [MiB, 2 * GiB])),
    after: discovery(linked('sdb', 'ata-B', [MiB, 4 * GiB], { state: 'FAILURE' })),
    roles: ['sdb', 2 * GiB],
  },
  { title: 'kname-only disk', before: discovery(disk('sdd', { partitions: [part(0)] })), after: discovery(disk('sdd', { size: 1 })) },
];

for (const c of idempotenceCases) {
  test(`idempotence: ${c.title}: replanning after applying yields no actions`, (t) => {
    let model = sync(EMPTY, c.before);
    if (c.roles !== undefined) model = withRoles(model, c.roles[0], c.roles[1], ['WRITE']);
    t.deepEqual(planDiskSync(model, c.before), [], 'freshly created model already matches');
    const actions = planDiskSync(model, c.after);
    if (c.title !== 'unchanged host') t.not(actions.length, 0, 'the change is noticed');
    const next = apply(model, actions);
    t.deepEqual(planDiskSync(next, c.after), []);
  });
}

test('kernel rename sdb→sdc is matched through the by-id alias and keeps the guid', (t) => {
  const model = sync(EMPTY, discovery(linked('sda', 'ata-A'), linked('sdb', 'ata-B', [MiB])));
  const sdb = diskNamed(model, 'sdb');
  const reality = discovery(linked('sda', 'ata-A'), linked('sdc', 'ata-B', [MiB], { serial: 'serial-sdb' }));
  const actions = planDiskSync(model, reality);
  t.deepEqual(actions, [{ op: 'update_disk', guid: sdb.guid, set: { name: 'sdc' } }]);
  const next = apply(model, actions);
  t.is(diskNamed(next, 'sdc').guid, sdb.guid);
  t.is(next.partitions.length, model.partitions.length);
});

test('vanished disk with roles: disk and all its partitions become MISSING, nothing is deleted', (t) => {
  let model = sync(EMPTY, discovery(linked('sda', 'ata-A'), linked('sdb', 'ata-B', [MiB, 2 * GiB])));
  model = withRoles(model, 'sdb', MiB, ['DB']);
  const sdb = diskNamed(model, 'sdb');
  const actions = planDiskSync(model, discovery(linked('sda', 'ata-A')));
  t.false(actions.some((a) => a.op.startsWith('delete')));
  const next = apply(model, actions);
  t.is(diskNamed(next, 'sdb').state, 'MISSING');
  t.deepEqual(partitionsOf(next, sdb.guid).map((p) => p.state), ['MISSING', 'MISSING']);
  t.is(diskNamed(next, 'sda').state, 'OK');
});

test('vanished disk without roles: partitions are deleted before the disk', (t) => {
  const model = sync(EMPTY, discovery(linked('sda', 'ata-A'), linked('sdb', 'ata-B', [MiB, 2 * GiB])));
  const sdb = diskNamed(model, 'sdb');
  const partGuids = partitionsOf(model, sdb.guid).map((p) => p.guid);
  const actions = planDiskSync(model, discovery(linked('sda', 'ata-A')));
  t.deepEqual(actions, [
    { op: 'delete_partition', guid: partGuids[0]! },
    { op: 'delete_partition', guid: partGuids[1]! },
    { op: 'delete_disk', guid: sdb.guid },
  ]);
  t.deepEqual(apply(model, actions).disks.map((d) => d.name), ['sda']);
});

test('partition offsets changed: kept offsets updated, lost ones MISSING or deleted by roles, new ones created', (t) => {
  let model = sync(EMPTY, discovery(linked('sdb', 'ata-B', [MiB, 2 * GiB, 3 * GiB])));
  model = withRoles(model, 'sdb', 2 * GiB, ['WRITE']);
  const sdb = diskNamed(model, 'sdb');
  const [first, withRole, plain] = partitionsOf(model, sdb.guid);
  const reality = discovery(
    disk('sdb', {
      aliases: ['/dev/disk/by-id/ata-B'],
      partitions: [
        part(MiB, { size: 2 * GiB, aliases: ['/dev/disk/by-id/ata-B-part1'], mountpoint: '/mnt/a' }),
        part(5 * GiB, { aliases: ['/dev/disk/by-id/ata-B-part2'] }),
      ],
    }),
  );
  const actions = planDiskSync(model, reality);
  t.deepEqual(actions, [
    { op: 'delete_partition', guid: plain!.guid },
    { op: 'update_partition', guid: first!.guid, set: { mountpoint: '/mnt/a', size: 2 * GiB } },
    { op: 'update_partition', guid: withRole!.guid, set: { state: 'MISSING' } },
    {
      op: 'create_partition',
      disk: { guid: sdb.guid },
      props: {
        offset: 5 * GiB,
        size: GiB,
        state: 'OK',
        aliases: ['/dev/disk/by-id/ata-B-part2'],
        filesystem: 'ext4',
        mountpoint: null,
      },
    },
  ]);
});

test('matched disk: only differing fields are updated', (t) => {
  const model = sync(EMPTY, discovery(linked('sda', 'ata-A')));
  const guid = diskNamed(model, 'sda').guid;
  const reality = discovery(
    linked('sda', 'ata-A', [], { state: 'FAILURE', model: null, aliases: ['/dev/disk/by-id/ata-A', '/dev/disk/by-path/p'] }),
  );
  t.deepEqual(planDiskSync(model, reality), [
    {
      op: 'update_disk',
      guid,
      set: { state: 'FAILURE', aliases: ['/dev/disk/by-id/ata-A', '/dev/disk/by-path/p'], model: null },
    },
  ]);
});

// The spec's weakness: a disk known only as /dev/<kname> never appears in reverse_aliases.
test('fix: a /dev/<kname>-only disk matches by name instead of being deleted and recreated', (t) => {
  const reality = discovery(disk('sdd', { partitions: [part(MiB, { aliases: ['/dev/sdd1'] })] }));
  const model = sync(EMPTY, reality);
  t.deepEqual(diskNamed(model, 'sdd').aliases, ['/dev/sdd']);
  t.deepEqual(planDiskSync(model, reality), []);
});

test('fix: a /dev/<kname>-only disk with roles is not marked MISSING next to a duplicate', (t) => {
  const reality = discovery(disk('sdd', { partitions: [part(MiB, { aliases: ['/dev/sdd1'] })] }));
  const model = withRoles(sync(EMPTY, reality), 'sdd', MiB, ['DTL']);
  const changed = discovery(disk('sdd', { size: 200 * GiB, partitions: [part(MiB, { aliases: ['/dev/sdd1'] })] }));
  t.deepEqual(planDiskSync(model, changed), [
    { op: 'update_disk', guid: diskNamed(model, 'sdd').guid, set: { size: 200 * GiB } },
  ]);
});

test('fix: a /dev/<kname>-only disk that later gets a by-id link keeps its guid', (t) => {
  const model = sync(EMPTY, discovery(disk('sdd')));
  const guid = diskNamed(model, 'sdd').guid;
  const actions = planDiskSync(model, discovery(linked('sdd', 'ata-D')));
  t.deepEqual(actions, [{ op: 'update_disk', guid, set: { aliases: ['/dev/disk/by-id/ata-D'] } }]);
});

test('fix: the kname-only name match refuses a different serial', (t) => {
  const model = sync(EMPTY, discovery(disk('sdd', { serial: 'OLD' })));
  const actions = planDiskSync(model, discovery(disk('sdd', { serial: 'NEW' })));
  t.deepEqual(actions.map((a) => a.op), ['delete_disk', 'create_disk']);
});

test('a disk with only stale by-id aliases is not matched by name (outside fio/loop/nvme)', (t) => {
  const model = sync(EMPTY, discovery(linked('sdx', 'ata-STALE')));
  const actions = planDiskSync(model, discovery(disk('sdx')));
  t.deepEqual(actions.map((a) => a.op), ['delete_disk', 'create_disk']);
});

for (const name of ['fio0a', 'loop0', 'nvme0n1']) {
  test(`name fallback: ${name} that lost its by-* links keeps its guid`, (t) => {
    const model = sync(EMPTY, discovery(linked(name, `stale-${name}`, [MiB])));
    const guid = diskNamed(model, name).guid;
    const reality = discovery(
      disk(name, { serial: `serial-${name}`, partitions: [part(MiB, { aliases: [`/dev/disk/by-id/stale-${name}-part1`] })] }),
    );
    const actions = planDiskSync(model, reality);
    t.deepEqual(actions, [{ op: 'update_disk', guid, set: { aliases: [`/dev/${name}`] } }]);
  });
}

test('alias matches win over name fallbacks regardless of model order', (t) => {
  const byName: ModelDisk = {
    guid: 'g-name', name: 'loop0', aliases: ['/dev/disk/by-id/gone'], state: 'OK',
    is_ssd: false, model: null, serial: null, size: GiB,
  };
  const byAlias: ModelDisk = { ...byName, guid: 'g-alias', name: 'loop5', aliases: ['/dev/disk/by-id/L0'] };
  const reality = discovery(disk('loop0', { aliases: ['/dev/disk/by-id/L0'], model: null, serial: null, size: GiB }));
  const actions = planDiskSync({ disks: [byName, byAlias], partitions: [] }, reality);
  t.deepEqual(actions, [
    { op: 'delete_disk', guid: 'g-name' },
    { op: 'update_disk', guid: 'g-alias', set: { name: 'loop0' } },
  ]);
});
