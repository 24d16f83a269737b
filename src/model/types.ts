import type { TypeDef } from './schema.js';
import { storageRouterDynamics } from './dynamics/storagerouter.js';

/** Model types of `shared/spec/model.md` §3 that the runtime needs so far; later issues add more. */
export const STORAGEROUTER: TypeDef = {
  name: 'storagerouter',
  props: {
    name: { kind: 'string', mandatory: true, unique: true },
    description: { kind: 'string' },
    machine_id: { kind: 'string', unique: true },
    ip: { kind: 'string', mandatory: true, unique: true },
    heartbeats: { kind: 'object', mandatory: true, default: {} },
    node_type: { kind: 'string', mandatory: true, default: 'EXTRA', values: ['MASTER', 'EXTRA'] },
    rdma_capable: { kind: 'boolean', mandatory: true, default: false },
    last_heartbeat: { kind: 'number' },
    package_information: { kind: 'object', default: {} },
  },
  relations: [],
  dynamics: storageRouterDynamics,
};

const DISK_STATES = ['OK', 'FAILURE', 'MISSING'] as const;
export const ROLES = ['BACKEND', 'DB', 'DTL', 'SCRUB', 'WRITE'] as const;

export const DISK: TypeDef = {
  name: 'disk',
  props: {
    aliases: { kind: 'list', mandatory: true, default: [] },
    model: { kind: 'string' },
    serial: { kind: 'string' },
    state: { kind: 'string', mandatory: true, values: DISK_STATES },
    name: { kind: 'string', mandatory: true },
    size: { kind: 'int', mandatory: true },
    is_ssd: { kind: 'boolean', mandatory: true },
  },
  relations: [{ name: 'storagerouter', target: 'storagerouter', reverse: 'disks', mandatory: true }],
};

export const DISKPARTITION: TypeDef = {
  name: 'diskpartition',
  props: {
    filesystem: { kind: 'string' },
    state: { kind: 'string', mandatory: true, values: DISK_STATES },
    offset: { kind: 'int', mandatory: true },
    size: { kind: 'int', mandatory: true },
    mountpoint: { kind: 'string' },
    aliases: { kind: 'list', mandatory: true, default: [] },
    roles: { kind: 'list', mandatory: true, default: [] },
  },
  relations: [{ name: 'disk', target: 'disk', reverse: 'partitions', mandatory: true }],
  dynamics: {
    folder: { ttlMs: 3_600_000, compute: (p) => (p.mountpoint === '/' ? '/mnt/storage' : (p.mountpoint ?? null)) },
  },
};

export const DOMAIN: TypeDef = {
  name: 'domain',
  props: { name: { kind: 'string', mandatory: true } },
  relations: [],
};

export const STORAGEROUTERDOMAIN: TypeDef = {
  name: 'storagerouterdomain',
  props: { backup: { kind: 'boolean', mandatory: true, default: false } },
  relations: [
    { name: 'domain', target: 'domain', reverse: 'storagerouters', mandatory: true },
    { name: 'storagerouter', target: 'storagerouter', reverse: 'domains', mandatory: true },
  ],
};

export const SERVICETYPE: TypeDef = {
  name: 'servicetype',
  props: { name: { kind: 'string', mandatory: true, unique: true } },
  relations: [],
};

export const SERVICE: TypeDef = {
  name: 'service',
  props: {
    name: { kind: 'string', mandatory: true },
    ports: { kind: 'list', mandatory: true, default: [] },
  },
  relations: [
    { name: 'storagerouter', target: 'storagerouter', reverse: 'services', mandatory: false },
    { name: 'type', target: 'servicetype', reverse: 'services', mandatory: true },
  ],
};

export const VPOOL: TypeDef = {
  name: 'vpool',
  props: {
    name: { kind: 'string', mandatory: true, unique: true },
    description: { kind: 'string' },
    login: { kind: 'string' },
    password: { kind: 'string', secret: true },
    connection: { kind: 'string' },
    status: { kind: 'string', mandatory: true, default: 'INSTALLING', values: ['RUNNING', 'SHRINKING', 'INSTALLING', 'FAILURE', 'DELETING', 'EXTENDING'] },
    rdma_enabled: { kind: 'boolean', mandatory: true, default: false },
    metadata_store_bits: { kind: 'int' },
    /** `{backend: {backend_info: {type: 'local', path}}, configuration: {sco_size, cluster_size, tlog_multiplier, ...}}` */
    metadata: { kind: 'object', default: {} },
  },
  relations: [],
};

/** One per (vPool, StorageRouter): the volume driver of that vPool on that host (model.md §3.5). */
export const STORAGEDRIVER: TypeDef = {
  name: 'storagedriver',
  props: {
    name: { kind: 'string', mandatory: true },
    description: { kind: 'string' },
    ports: { kind: 'object', mandatory: true },
    cluster_ip: { kind: 'string', mandatory: true },
    storage_ip: { kind: 'string', mandatory: true },
    storagedriver_id: { kind: 'string', mandatory: true, unique: true },
    mountpoint: { kind: 'string', mandatory: true },
    startup_counter: { kind: 'int', mandatory: true, default: 0 },
  },
  relations: [
    { name: 'vpool', target: 'vpool', reverse: 'storagedrivers', mandatory: true },
    { name: 'storagerouter', target: 'storagerouter', reverse: 'storagedrivers', mandatory: true },
  ],
};

/** Junction StorageDriver ↔ DiskPartition (model.md §3.6): which partition holds which part of a StorageDriver. */
export const STORAGEDRIVERPARTITION: TypeDef = {
  name: 'storagedriverpartition',
  props: {
    number: { kind: 'int', mandatory: true },
    size: { kind: 'int' },
    role: { kind: 'string', mandatory: true, values: ROLES },
    sub_role: { kind: 'string', values: ['FCACHE', 'FD', 'MD', 'MDS', 'SCO', 'TLOG'] },
  },
  relations: [
    { name: 'partition', target: 'diskpartition', reverse: 'storagedrivers', mandatory: true },
    { name: 'storagedriver', target: 'storagedriver', reverse: 'partitions', mandatory: true },
    { name: 'mds_service', target: 'mdsservice', reverse: 'storagedriver_partitions', mandatory: false },
  ],
  dynamics: {
    folder: { ttlMs: 3_600_000, compute: (p, r) => {
      const name = r.find('vpool', String(r.find('storagedriver', String(p.storagedriver_guid))?.vpool_guid))?.name;
      const vpool = typeof name === 'string' ? name : '?';
      const role = String(p.role).toLowerCase();
      const subRole = typeof p.sub_role === 'string' && p.sub_role !== '' ? `_${p.sub_role.toLowerCase()}` : '';
      return `${vpool}_${role}${subRole}_${String(p.number)}`;
    } },
  },
};

/** A virtual disk (model.md §3.7). `storagedriver_guid` records its owner (the original read it from the registry). */
export const VDISK: TypeDef = {
  name: 'vdisk',
  props: {
    name: { kind: 'string' },
    description: { kind: 'string' },
    size: { kind: 'int', mandatory: true },
    devicename: { kind: 'string', mandatory: true },
    volume_id: { kind: 'string', unique: true },
    parentsnapshot: { kind: 'string' },
    cinder_id: { kind: 'string' },
    has_manual_dtl: { kind: 'boolean', mandatory: true, default: false },
    pagecache_ratio: { kind: 'number', mandatory: true, default: 1.0 },
    metadata: { kind: 'object', mandatory: true, default: {} },
    cache_quota: { kind: 'object' },
    scrubbing_information: { kind: 'object' },
    is_vtemplate: { kind: 'boolean', mandatory: true, default: false },
  },
  relations: [
    { name: 'vpool', target: 'vpool', reverse: 'vdisks', mandatory: true },
    { name: 'parent_vdisk', target: 'vdisk', reverse: 'child_vdisks', mandatory: false },
    { name: 'storagedriver', target: 'storagedriver', reverse: 'vdisks', mandatory: false },
  ],
};

/** Junction Service ↔ vPool for a metadata server (model.md §3.8); MDS services arrive with phase 1b. */
export const MDSSERVICE: TypeDef = {
  name: 'mdsservice',
  props: { number: { kind: 'int', mandatory: true }, capacity: { kind: 'int', mandatory: true, default: 100 } },
  relations: [
    { name: 'vpool', target: 'vpool', reverse: 'mds_services', mandatory: true },
    { name: 'service', target: 'service', reverse: 'mds_service', mandatory: true },
  ],
};

export const MDSSERVICEVDISK: TypeDef = {
  name: 'mdsservicevdisk',
  props: { is_master: { kind: 'boolean', mandatory: true, default: false } },
  relations: [
    { name: 'vdisk', target: 'vdisk', reverse: 'mds_services', mandatory: true },
    { name: 'mds_service', target: 'mdsservice', reverse: 'vdisks', mandatory: true },
  ],
};

/** Manual DTL target domains of a vDisk (model.md §3.11). */
export const VDISKDOMAIN: TypeDef = {
  name: 'vdiskdomain',
  props: {},
  relations: [
    { name: 'domain', target: 'domain', reverse: 'vdisks_dtl', mandatory: true },
    { name: 'vdisk', target: 'vdisk', reverse: 'domains_dtl', mandatory: true },
  ],
};

/** The seeded service types (model.md §2). */
export const SEEDED_SERVICE_TYPES = ['MetadataServer', 'AlbaProxy', 'Arakoon'] as const;

export const MODEL_TYPES: readonly TypeDef[] = [STORAGEROUTER, DISK, DISKPARTITION, DOMAIN, STORAGEROUTERDOMAIN, SERVICETYPE, SERVICE, VPOOL, STORAGEDRIVER, STORAGEDRIVERPARTITION, VDISK, MDSSERVICE, MDSSERVICEVDISK, VDISKDOMAIN];
