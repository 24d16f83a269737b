import { z } from 'zod';
import { BadRequestError, ValidationError } from '../errors.js';
import type { ConfigStore } from '../config/store.js';
import type { ComputedFields } from '../model/computed.js';
import type { ModelView } from '../model/view.js';
import { publicView } from '../model/schema.js';
import { guid } from '../tasks/params.js';
import { configOperationOf, modelRequestOf } from '../protocol/subjects.js';

const listParams = z.object({ filter: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional() }).strict();
const getParams = z.object({ guid }).strict();
const configGet = z.object({ key: z.string().min(1).max(1024), default: z.unknown().optional() }).strict();
const configSet = z.object({ key: z.string().min(1).max(1024), value: z.unknown() }).strict();
const configList = z.object({ key: z.string().min(1).max(1024).optional() }).strict();

function parse<T extends z.ZodType>(schema: T, params: Record<string, unknown>, what: string): z.infer<T> {
  const r = schema.safeParse(params);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }));
  throw new ValidationError(`invalid parameters for ${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
}

/** `ovs.model.<type>.list|get`: answered by any agent from its watch-fed view. */
export function modelRequest(view: ModelView, computed: ComputedFields, subject: string, params: Record<string, unknown>): unknown {
  const request = modelRequestOf(subject);
  const { type, op } = request ?? {};
  if (type === undefined || op === undefined || !view.typeDef(type)) {
    throw new BadRequestError(`unknown model subject '${subject}'; use ovs.model.<type>.list|get`, { subject });
  }
  if (op === 'list') {
    const { filter } = parse(listParams, params, subject);
    return view.list(type, filter ?? {}).map((o) => publicView(view.typeDef(type), o));
  }
  if (op === 'get') {
    const { guid: g } = parse(getParams, params, subject);
    return publicView(view.typeDef(type), computed.expand(type, view.get(type, g)));
  }
  throw new BadRequestError(`unknown model operation '${op}'; use list or get`, { subject });
}

/** `ovs.config.get|set|list` on the configuration tree. */
export async function configRequest(config: ConfigStore, subject: string, params: Record<string, unknown>): Promise<unknown> {
  const op = configOperationOf(subject);
  switch (op) {
    case 'get': {
      const p = parse(configGet, params, subject);
      const value = await config.get(p.key);
      return { key: p.key, exists: value !== undefined, value: value === undefined ? (p.default ?? null) : value };
    }
    case 'set': {
      const p = parse(configSet, params, subject);
      await config.set(p.key, p.value ?? null);
      return { key: p.key };
    }
    case 'list': {
      const p = parse(configList, params, subject);
      return config.list(p.key ?? '/ovs');
    }
    default:
      throw new BadRequestError(`unknown config operation '${op ?? ''}'; use get, set or list`, { subject });
  }
}
