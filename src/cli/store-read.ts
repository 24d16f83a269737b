import { request } from '../client.js';
import { configSubject, modelSubject, type ConfigOperation } from '../protocol/subjects.js';
import { keyValues } from './format.js';
import { parseOrFail, withNats } from './output.js';

export interface ReadOptions {
  json?: boolean;
  nats?: string;
}

/** `ovs model list <type> [prop=value ...]` */
export function listModel(type: string, filters: string[], o: ReadOptions): Promise<void> {
  const filter = parseOrFail(() => keyValues(filters), Boolean(o.json));
  return withNats(o.nats, Boolean(o.json), (nc) => request(nc, modelSubject(type, 'list'), { filter }));
}

/** `ovs model get <type> <guid>` */
export function getModel(type: string, guid: string, o: ReadOptions): Promise<void> {
  return withNats(o.nats, Boolean(o.json), (nc) => request(nc, modelSubject(type, 'get'), { guid }));
}

/** `ovs config get|set|list <key> [value]`; a value that parses as JSON keeps its type. */
export function configOp(op: ConfigOperation, key: string | undefined, value: string | undefined, o: ReadOptions): Promise<void> {
  const params: Record<string, unknown> = key === undefined ? {} : { key };
  if (op === 'set') params.value = keyValues([`v=${value ?? ''}`]).v;
  return withNats(o.nats, Boolean(o.json), (nc) => request(nc, configSubject(op), params));
}
