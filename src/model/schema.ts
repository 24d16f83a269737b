/**
 * Declarative description of a model type (the original's hybrid): its stored properties, relations and computed
 * fields. The store, the `ovs.model.*` API and the fixture builder all read these declarations.
 */
export type PropKind = 'string' | 'number' | 'int' | 'boolean' | 'object' | 'list';

export interface PropDef {
  kind: PropKind;
  /** Checked at save: null/undefined refused (the original's `mandatory`). */
  mandatory?: boolean;
  /** A second object with the same value is refused (unique claims in KV). */
  unique?: boolean;
  default?: unknown;
  /** Allowed values (the original's enum properties). */
  values?: readonly string[];
  /** Never leaves the agent through the read API or the dashboard (credentials). */
  secret?: boolean;
}

/** The object as readers outside the agent see it: secrets masked. */
export function publicView(def: TypeDef | undefined, obj: Record<string, unknown>): Record<string, unknown> {
  if (!def) return obj;
  const secrets = Object.entries(def.props).filter(([, p]) => p.secret).map(([k]) => k);
  if (secrets.length === 0) return obj;
  const out = { ...obj };
  for (const k of secrets) if (out[k] !== null && out[k] !== undefined) out[k] = '***';
  return out;
}

export interface RelationDef {
  /** Stored as `<name>_guid` on this object. */
  name: string;
  target: string;
  /** Name of the reverse list on the target (`disks` on StorageRouter). */
  reverse: string;
  mandatory: boolean;
}

export interface DynamicDef<O = ModelObject> {
  /** Cache lifetime in ms (the original's Dynamic.timeout); 0 = computed on every read. */
  ttlMs: number;
  compute(obj: O, reader: ModelReader): unknown;
  /** Cheap and synchronous from the model alone: list answers carry it too (the original's list views did). */
  inList?: boolean;
}

export interface TypeDef {
  name: string;
  props: Record<string, PropDef>;
  relations: readonly RelationDef[];
  dynamics?: Record<string, DynamicDef>;
}

/** A stored object as every reader sees it: guid, properties, relation guids. Frozen. */
export type ModelObject = Readonly<Record<string, unknown>> & { readonly guid: string };

/** Read side of the model, used by computed fields and handlers. */
export interface ModelReader {
  get(type: string, guid: string): ModelObject;
  find(type: string, guid: string): ModelObject | undefined;
  list(type: string, filter?: Record<string, unknown>): ModelObject[];
  /** Objects of `type` whose relation points at `targetGuid` through the reverse name (`storagerouter.disks`). */
  reverse(targetType: string, targetGuid: string, reverseName: string): ModelObject[];
}

export function relationField(rel: RelationDef): string {
  return `${rel.name}_guid`;
}

export function checkPropValue(type: string, prop: string, def: PropDef, value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const where = `${type}.${prop}`;
  switch (def.kind) {
    case 'string':
      if (typeof value !== 'string') return `${where} must be a string`;
      if (def.values && !def.values.includes(value)) return `${where} must be one of ${def.values.join(', ')}`;
      return undefined;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : `${where} must be a number`;
    case 'int':
      return Number.isSafeInteger(value) ? undefined : `${where} must be an integer`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${where} must be a boolean`;
    case 'list':
      return Array.isArray(value) ? undefined : `${where} must be a list`;
    case 'object':
      return typeof value === 'object' && !Array.isArray(value) ? undefined : `${where} must be a map`;
  }
}
