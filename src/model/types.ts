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

/** Only what a vPool singleton needs until the vPool issue brings the full object. */
export const VPOOL: TypeDef = {
  name: 'vpool',
  props: {
    name: { kind: 'string', mandatory: true, unique: true },
    description: { kind: 'string' },
    status: { kind: 'string', mandatory: true, default: 'INSTALLING', values: ['RUNNING', 'SHRINKING', 'INSTALLING', 'FAILURE', 'DELETING', 'EXTENDING'] },
    metadata: { kind: 'object', default: {} },
  },
  relations: [],
};

/** The seeded service types (model.md §2). */
export const SEEDED_SERVICE_TYPES = ['MetadataServer', 'AlbaProxy', 'Arakoon'] as const;

export const MODEL_TYPES: readonly TypeDef[] = [STORAGEROUTER, DISK, DISKPARTITION, DOMAIN, STORAGEROUTERDOMAIN, SERVICETYPE, SERVICE, VPOOL];
