import { randomUUID } from 'node:crypto';
import type { KV } from 'nats';
import { decode, encode } from '../protocol/codec.js';
import {
  LinkedObjectError, MissingMandatoryFieldsError, ObjectNotFoundError, RaceConditionError, ValidationError,
} from '../errors.js';
import { isWrongLastSequence } from './kv-errors.js';
import { checkPropValue, relationField, type ModelObject, type TypeDef } from './schema.js';
import { UniqueClaims } from './uniques.js';
import type { ModelView } from './view.js';

type Record_ = Record<string, unknown>;
const MAX_ATTEMPTS = 5;

/**
 * Writes to the model bucket: create at revision 0, update with compare-and-set on the revision (retried on
 * concurrent writers, then RaceConditionError), delete refused while others still point here.
 */
export class ModelStore {
  private readonly uniques: UniqueClaims;

  constructor(private readonly kv: KV, readonly view: ModelView, opts: { staleClaimMs?: number } = {}) {
    this.uniques = new UniqueClaims(kv, view, opts.staleClaimMs);
  }

  async create(type: string, props: Record_, guid: string = randomUUID()): Promise<ModelObject> {
    const def = this.typeDef(type);
    const record = this.normalise(def, props);
    this.checkMandatory(def, record);
    this.checkRelations(def, record);
    const claimed: Array<[string, unknown]> = [];
    try {
      for (const [prop, p] of Object.entries(def.props)) {
        if (p.unique && record[prop] !== null && record[prop] !== undefined) {
          await this.uniques.claim(type, prop, record[prop], guid);
          claimed.push([prop, record[prop]]);
        }
      }
      const revision = await this.kv.create(`${type}.${guid}`, encode(record));
      this.view.apply(type, guid, revision, record);
      return this.view.get(type, guid);
    } catch (e) {
      for (const [prop, value] of claimed) await this.uniques.release(type, prop, value, guid).catch(() => undefined);
      throw e;
    }
  }

  /** The guid of the object of `type` whose unique `prop` has `value`, from the store itself (not this agent's view). */
  holderOf(type: string, prop: string, value: unknown): Promise<string | undefined> {
    return this.uniques.holderOf(type, prop, value);
  }

  /** Read-modify-write with compare-and-set; `change` gets a mutable copy and may be called again on conflict. */
  async update(type: string, guid: string, change: (draft: Record_) => void): Promise<ModelObject> {
    const def = this.typeDef(type);
    const key = `${type}.${guid}`;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const entry = await this.kv.get(key);
      if (!entry || entry.operation !== 'PUT') throw new ObjectNotFoundError(type, guid);
      const before = decode(entry.value) as Record_;
      const draft = structuredClone(before);
      change(draft);
      const record = this.normalise(def, draft);
      this.checkMandatory(def, record);
      this.checkRelations(def, record);
      const changedUniques = Object.entries(def.props).filter(([prop, p]) => p.unique && record[prop] !== before[prop]);
      for (const [prop] of changedUniques) {
        if (record[prop] !== null && record[prop] !== undefined) await this.uniques.claim(type, prop, record[prop], guid);
      }
      try {
        const revision = await this.kv.update(key, encode(record), entry.revision);
        this.view.apply(type, guid, revision, record);
      } catch (e) {
        for (const [prop] of changedUniques) await this.uniques.release(type, prop, record[prop], guid).catch(() => undefined);
        if (isWrongLastSequence(e)) continue;
        throw e;
      }
      for (const [prop] of changedUniques) {
        if (before[prop] !== null && before[prop] !== undefined) await this.uniques.release(type, prop, before[prop], guid);
      }
      return this.view.get(type, guid);
    }
    throw new RaceConditionError(key, MAX_ATTEMPTS);
  }

  async delete(type: string, guid: string): Promise<void> {
    const def = this.typeDef(type);
    const key = `${type}.${guid}`;
    for (const other of this.view.typesReferring(type)) {
      const members = this.view.reverse(type, guid, other.reverse);
      if (members.length > 0) throw new LinkedObjectError(type, guid, other.reverse, members.length);
    }
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT') throw new ObjectNotFoundError(type, guid);
    const record = decode(entry.value) as Record_;
    try {
      await this.kv.delete(key, { previousSeq: entry.revision });
    } catch (e) {
      if (!isWrongLastSequence(e)) throw e;
      // Someone else deleted it meanwhile (a delete event racing the API delete): the outcome is the same.
      const now = await this.kv.get(key);
      if (now && now.operation === 'PUT') throw new RaceConditionError(key, 1);
      this.view.remove(type, guid, now?.revision ?? entry.revision + 1);
      return;
    }
    this.view.remove(type, guid, entry.revision + 1);
    for (const [prop, p] of Object.entries(def.props)) {
      if (p.unique && record[prop] !== null && record[prop] !== undefined) await this.uniques.release(type, prop, record[prop], guid);
    }
  }

  private typeDef(type: string): TypeDef {
    const def = this.view.typeDef(type);
    if (!def) throw new ValidationError(`unknown model type '${type}'`, [{ path: 'type', message: 'unknown' }]);
    return def;
  }

  /** Declared fields only, defaults filled in, values type-checked. */
  private normalise(def: TypeDef, input: Record_): Record_ {
    const record: Record_ = {};
    const issues: Array<{ path: string; message: string }> = [];
    for (const [prop, p] of Object.entries(def.props)) {
      const value = input[prop] === undefined ? structuredClone(p.default ?? null) : input[prop];
      const problem = checkPropValue(def.name, prop, p, value);
      if (problem) issues.push({ path: prop, message: problem });
      record[prop] = value;
    }
    for (const rel of def.relations) {
      const field = relationField(rel);
      const value = input[field] ?? null;
      if (value !== null && typeof value !== 'string') issues.push({ path: field, message: `${field} must be a guid` });
      record[field] = value;
    }
    if (issues.length > 0) throw new ValidationError(`invalid ${def.name}: ${issues.map((i) => i.message).join('; ')}`, issues);
    return record;
  }

  private checkMandatory(def: TypeDef, record: Record_): void {
    const missing = [
      ...Object.entries(def.props).filter(([k, p]) => p.mandatory && (record[k] === null || record[k] === undefined)).map(([k]) => k),
      ...def.relations.filter((r) => r.mandatory && record[relationField(r)] === null).map(relationField),
    ];
    if (missing.length > 0) throw new MissingMandatoryFieldsError(def.name, missing);
  }

  private checkRelations(def: TypeDef, record: Record_): void {
    for (const rel of def.relations) {
      const target = record[relationField(rel)];
      if (typeof target === 'string' && !this.view.find(rel.target, target)) throw new ObjectNotFoundError(rel.target, target);
    }
  }
}
