import type { KV } from 'nats';
import { decode, encode } from '../protocol/codec.js';
import { BadRequestError, RaceConditionError } from '../errors.js';
import { isWrongLastSequence } from '../model/kv-errors.js';
import { configKey, configPath, splitPath, splitSubPath } from './keys.js';

/** The configuration tree (`/ovs/...`) on a KV bucket; values are msgpack, `key|a.b` reads and writes inside maps. */
export class ConfigStore {
  constructor(private readonly kv: KV) {}

  async get<T = unknown>(spec: string, fallback?: T): Promise<T | undefined> {
    const { path, field } = splitSubPath(spec);
    const entry = await this.kv.get(configKey(path));
    if (!entry || entry.operation !== 'PUT') return fallback;
    let value = decode(entry.value);
    for (const f of field) {
      if (value === null || typeof value !== 'object' || !Object.hasOwn(value, f)) return fallback;
      value = (value as Record<string, unknown>)[f];
    }
    return (value === undefined ? fallback : value) as T;
  }

  async exists(spec: string): Promise<boolean> {
    return (await this.get(spec, undefined)) !== undefined;
  }

  async set(spec: string, value: unknown): Promise<void> {
    const { path, field } = splitSubPath(spec);
    const key = configKey(path);
    if (field.length === 0) {
      await this.kv.put(key, encode(value));
      return;
    }
    for (let attempt = 1; attempt <= 5; attempt++) {
      const entry = await this.kv.get(key);
      const current = entry && entry.operation === 'PUT' ? decode(entry.value) : {};
      if (current === null || typeof current !== 'object' || Array.isArray(current)) {
        throw new BadRequestError(`'${path}' does not hold a map, so '${spec}' cannot be set`);
      }
      const root = structuredClone(current) as Record<string, unknown>;
      let node = root;
      for (const f of field.slice(0, -1)) {
        const next = node[f];
        node = (node[f] = next !== null && typeof next === 'object' && !Array.isArray(next) ? next : {}) as Record<string, unknown>;
      }
      node[field[field.length - 1]!] = value;
      try {
        if (entry && entry.operation === 'PUT') await this.kv.update(key, encode(root), entry.revision);
        else await this.kv.create(key, encode(root));
        return;
      } catch (e) {
        if (!isWrongLastSequence(e)) throw e;
      }
    }
    throw new RaceConditionError(key, 5);
  }

  /** Sets a value only when the key is absent; returns the value that is stored afterwards. */
  async setDefault<T>(path: string, value: T): Promise<T> {
    try {
      await this.kv.create(configKey(path), encode(value));
      return value;
    } catch (e) {
      if (!isWrongLastSequence(e)) throw e;
      return (await this.get<T>(path)) as T;
    }
  }

  async delete(path: string): Promise<void> {
    await this.kv.delete(configKey(path));
  }

  /** Names of the direct children of a path (the original's `list`). */
  async list(path: string): Promise<string[]> {
    const prefix = splitPath(path).length > 0 ? configKey(path) : '';
    const children = new Set<string>();
    const depth = prefix.split('.').length;
    for await (const k of await this.kv.keys(`${prefix}.>`)) {
      const segments = configPath(k).split('/').filter((s) => s.length > 0);
      const child = segments[depth];
      if (child !== undefined) children.add(child);
    }
    return [...children].sort();
  }
}
