import type { KV } from 'nats';
import { configKey } from '../config/keys.js';
import { isWrongLastSequence } from '../model/kv-errors.js';
import { decode, encode } from '../protocol/codec.js';

/** The original's migration flags live under this key (`/ovs/framework/migration|<flag>` = true once done). */
export const MIGRATION_KEY = '/ovs/framework/migration';

export interface MigrationRun {
  step: string;
  at: number;
  /** What the step changed, in its own words (`{objects: 3}`, `{moved: [...]}`). */
  changes: Record<string, unknown>;
}

/** The stored record: one boolean flag per step done, the model version, the runs, and the step being run now. */
export interface MigrationRecord {
  [flag: string]: unknown;
  model_version?: number;
  history?: MigrationRun[];
  claim?: { step: string; by: string; since: number } | null;
}

export const HISTORY_LIMIT = 200;

/** Reads and compare-and-sets the record on the configuration bucket (revision 0 = absent). */
export class MigrationRecordStore {
  private readonly key = configKey(MIGRATION_KEY);

  constructor(private readonly kv: KV) {}

  async read(): Promise<{ record: MigrationRecord; revision: number }> {
    const e = await this.kv.get(this.key);
    if (!e || e.operation !== 'PUT') return { record: {}, revision: e?.revision ?? 0 };
    const value = decode(e.value);
    const record = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as MigrationRecord) : {};
    return { record, revision: e.revision };
  }

  /** Writes `record` if nobody wrote since `revision`; false when someone did. */
  async write(record: MigrationRecord, revision: number): Promise<boolean> {
    try {
      if (revision === 0) await this.kv.create(this.key, encode(record));
      else await this.kv.update(this.key, encode(record), revision);
      return true;
    } catch (e) {
      if (isWrongLastSequence(e)) return false;
      throw e;
    }
  }
}
