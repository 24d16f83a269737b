import { z } from 'zod';
import { BadRequestError, UniqueConstraintError, ValidationError } from '../errors.js';
import type { ConfigStore } from '../config/store.js';
import type { ComputedFields } from '../model/computed.js';
import type { ModelView } from '../model/view.js';
import type { ModelStore } from '../model/store.js';
import { publicView } from '../model/schema.js';
import { guid } from '../tasks/params.js';
import { configOperationOf, modelRequestOf } from '../protocol/subjects.js';

const listParams = z.object({ filter: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional() }).strict();
const getParams = z.object({ guid }).strict();
const configGet = z.object({ key: z.string().min(1).max(1024), default: z.unknown().optional() }).strict();
const configSet = z.object({ key: z.string().min(1).max(1024), value: z.unknown() }).strict();
const configList = z.object({ key: z.string().min(1).max(1024).optional() }).strict();

/** Parameters checked against a schema; a mismatch is a ValidationError naming each issue. */
export function parseParams<T extends z.ZodType>(schema: T, params: Record<string, unknown>, what: string): z.infer<T> {
  const r = schema.safeParse(params);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }));
  throw new ValidationError(`invalid parameters for ${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
}

/** Model types an operator creates and deletes through the admin API (domain management, architecture.md). */
const WRITABLE = {
  domain: z.object({ name: z.string().trim().min(1).max(64) }).strict(),
  storagerouterdomain: z.object({ storagerouter_guid: guid, domain_guid: guid, backup: z.boolean().default(false) }).strict(),
} as const;

function isWritable(type: string): type is keyof typeof WRITABLE {
  return Object.hasOwn(WRITABLE, type);
}

/**
 * `ovs.model.<type>.list|get`, answered by any agent from its watch-fed view; `create|delete` for the domain types
 * (a Domain, a StorageRouter's regular or recovery — `backup` — domain), written with compare-and-set.
 */
export async function modelRequest(
  view: ModelView,
  computed: ComputedFields,
  store: ModelStore,
  subject: string,
  params: Record<string, unknown>,
  /** A StorageRouter's domains changed (its DTL placement may have to follow). */
  onDomainsChanged: (storagerouterGuid: string) => void = () => undefined,
  /** MDS services are created and removed through their own rules (mds-admin.ts). */
  mds?: (op: 'create' | 'delete', params: Record<string, unknown>) => Promise<unknown>,
): Promise<unknown> {
  const request = modelRequestOf(subject);
  const { type, op } = request ?? {};
  if (type === undefined || op === undefined || !view.typeDef(type)) {
    throw new BadRequestError(`unknown model subject '${subject}'; use ovs.model.<type>.list|get`, { subject });
  }
  if (op === 'list') {
    const { filter } = parseParams(listParams, params, subject);
    return view.list(type, filter ?? {}).map((o) => publicView(view.typeDef(type), computed.listEntry(type, o)));
  }
  if (op === 'get') {
    const { guid: g } = parseParams(getParams, params, subject);
    return publicView(view.typeDef(type), await computed.expandSettled(type, view.get(type, g)));
  }
  if ((op === 'create' || op === 'delete') && type === 'mdsservice' && mds) return mds(op, params);
  if ((op === 'create' || op === 'delete') && !isWritable(type)) {
    throw new BadRequestError(`${type} objects are not written through the admin API (only ${Object.keys(WRITABLE).join(', ')})`, { subject });
  }
  if (op === 'create' && isWritable(type)) {
    const props = parseParams(WRITABLE[type], params, subject);
    if (type === 'storagerouterdomain') {
      const { storagerouter_guid: sr, domain_guid: domain } = props as z.infer<typeof WRITABLE.storagerouterdomain>;
      view.get('storagerouter', sr);
      view.get('domain', domain);
      if (view.list('storagerouterdomain', { storagerouter_guid: sr, domain_guid: domain }).length > 0) throw new UniqueConstraintError(type, 'domain_guid', domain);
    }
    const created = await store.create(type, props);
    if (type === 'storagerouterdomain') onDomainsChanged(String(created.storagerouter_guid));
    return publicView(view.typeDef(type), created);
  }
  if (op === 'delete') {
    const { guid: g } = parseParams(getParams, params, subject);
    const sr = type === 'storagerouterdomain' ? view.find(type, g)?.storagerouter_guid : undefined;
    await store.delete(type, g);
    if (typeof sr === 'string') onDomainsChanged(sr);
    return null;
  }
  throw new BadRequestError(`unknown model operation '${op}'; use list or get (create and delete for domains)`, { subject });
}

/** `ovs.config.get|set|list` on the configuration tree. */
export async function configRequest(config: ConfigStore, subject: string, params: Record<string, unknown>): Promise<unknown> {
  const op = configOperationOf(subject);
  switch (op) {
    case 'get': {
      const p = parseParams(configGet, params, subject);
      const value = await config.get(p.key);
      return { key: p.key, exists: value !== undefined, value: value === undefined ? (p.default ?? null) : value };
    }
    case 'set': {
      const p = parseParams(configSet, params, subject);
      await config.set(p.key, p.value ?? null);
      return { key: p.key };
    }
    case 'list': {
      const p = parseParams(configList, params, subject);
      return config.list(p.key ?? '/ovs');
    }
    default:
      throw new BadRequestError(`unknown config operation '${op ?? ''}'; use get, set or list`, { subject });
  }
}
