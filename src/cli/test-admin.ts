import type { NatsConnection } from 'nats';
import { request } from '../client.js';
import { TestModeOffError } from '../errors.js';
import { testSubject, type TestOperation } from '../protocol/subjects.js';
import { keyValues } from './format.js';
import { parseOrFail, withNats } from './output.js';
import type { ReadOptions } from './store-read.js';

/** An agent not in test mode has no test subjects: NATS answers "no responders", shown as the typed refusal. */
async function testRequest(nc: NatsConnection, storagerouter: string, op: TestOperation, params: Record<string, unknown>): Promise<unknown> {
  try {
    return await request(nc, testSubject(storagerouter, op), params, { timeoutMs: 10_000 });
  } catch (e) {
    if ((e as { code?: string }).code === '503') throw new TestModeOffError();
    throw e;
  }
}

/** `ovs test fault arm <sr guid> <point> [match] [--times n]` */
export function armFault(storagerouter: string, point: string, match: string | undefined, o: ReadOptions & { times?: number }): Promise<void> {
  const params = { point, match: match ?? '', ...(o.times === undefined ? {} : { times: o.times }) };
  return withNats(o.nats, Boolean(o.json), (nc) => testRequest(nc, storagerouter, 'fault.arm', params));
}

/** `ovs test fault clear <sr guid> [point]` */
export function clearFaults(storagerouter: string, point: string | undefined, o: ReadOptions): Promise<void> {
  return withNats(o.nats, Boolean(o.json), (nc) => testRequest(nc, storagerouter, 'fault.clear', point === undefined ? {} : { point }));
}

/** `ovs test fault list <sr guid>` */
export function listFaults(storagerouter: string, o: ReadOptions): Promise<void> {
  return withNats(o.nats, Boolean(o.json), (nc) => testRequest(nc, storagerouter, 'fault.list', {}));
}

/** `ovs test model put <sr guid> <type> [prop=value ...] [--guid g]` */
export function putModel(storagerouter: string, type: string, props: string[], o: ReadOptions & { guid?: string }): Promise<void> {
  const parsed = parseOrFail(() => keyValues(props), Boolean(o.json));
  return withNats(o.nats, Boolean(o.json), (nc) => testRequest(nc, storagerouter, 'model.put', { type, props: parsed, ...(o.guid === undefined ? {} : { guid: o.guid }) }));
}

/** `ovs test model delete <sr guid> <type> <guid>` */
export function deleteModel(storagerouter: string, type: string, guid: string, o: ReadOptions): Promise<void> {
  return withNats(o.nats, Boolean(o.json), (nc) => testRequest(nc, storagerouter, 'model.delete', { type, guid }));
}
