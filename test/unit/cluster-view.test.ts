import test from 'ava';
import type { NatsConnection } from 'nats';
import { ClusterView } from '../../src/dashboard/cluster-view.js';
import type { ModelView } from '../../src/model/view.js';
import { decode, encode } from '../../src/protocol/codec.js';
import { NODE_HEARTBEAT_SUBJECT, nodeModelSubject } from '../../src/protocol/subjects.js';

type Obj = Record<string, unknown> & { guid: string };

/** A model of two nodes with one vDisk each; the local agent's data plane only knows the vDisk on node a. */
function fixture(): { nc: NatsConnection; view: ModelView; beat: (sr: string) => void; asked: string[] } {
  const objects: Record<string, Obj[]> = {
    storagerouter: [{ guid: 'sr-a', name: 'a' }, { guid: 'sr-b', name: 'b' }],
    storagedriver: [{ guid: 'sd-a', storagerouter_guid: 'sr-a' }, { guid: 'sd-b', storagerouter_guid: 'sr-b' }],
    vdisk: [{ guid: 'vd-a', name: 'local', storagedriver_guid: 'sd-a' }, { guid: 'vd-b', name: 'remote', storagedriver_guid: 'sd-b' }],
    vpool: [],
  };
  const view = {
    list: (type: string) => objects[type] ?? [],
    find: (type: string, guid: string) => (objects[type] ?? []).find((o) => o.guid === guid),
    typeDef: (type: string) => (type in objects ? {} : undefined),
  } as unknown as ModelView;
  const callbacks = new Map<string, (e: unknown, m: { subject: string; data: Uint8Array }) => void>();
  const asked: string[] = [];
  const nc = {
    subscribe: (subject: string, o: { callback: (e: unknown, m: { subject: string; data: Uint8Array }) => void }) => {
      callbacks.set(subject, o.callback);
      return { unsubscribe: () => undefined };
    },
    request: (subject: string, data: Uint8Array) => {
      asked.push(subject);
      if (subject === nodeModelSubject('sr-b', 'vdisk', 'get')) {
        const { guid } = decode(data) as { guid: string };
        return Promise.resolve({ data: encode({ result: { guid, dtl_status: 'ok_sync', dtl_config: { storagerouter_guid: 'sr-a', host: '10.0.0.1', port: 26203, mode: 'Synchronous', manual: false }, snapshots: [{}, {}] } }) });
      }
      return Promise.reject(new Error('no responders'));
    },
  } as unknown as NatsConnection;
  const beat = (sr: string): void => callbacks.get(NODE_HEARTBEAT_SUBJECT)!(null, { subject: NODE_HEARTBEAT_SUBJECT, data: encode({ storagerouter_guid: sr, name: sr, ts: Date.now(), uptime_s: 1, ready: true, reasons: [] }) });
  return { nc, view, beat, asked };
}

test("a vDisk run by another agent shows that agent's DTL state and configuration, asked from it; a local one is not asked", async (t) => {
  const f = fixture();
  const expand = (_type: string, o: Obj): Record<string, unknown> => (o.guid === 'vd-a' ? { ...o, dtl_status: 'ok_standalone', snapshots: [] } : { ...o, dtl_status: 'unknown' });
  const cv = new ClusterView(f.nc, f.view, 60_000, expand);
  cv.start();
  f.beat('sr-a');
  f.beat('sr-b');
  t.is(cv.snapshot().vdisks.find((d) => d.guid === 'vd-b')!.dtl_status, 'unknown', 'before anyone asked');
  await (cv as unknown as { pollRemoteVdisks(): Promise<void> }).pollRemoteVdisks();
  const remote = cv.snapshot().vdisks.find((d) => d.guid === 'vd-b')!;
  t.is(remote.dtl_status, 'ok_sync');
  t.deepEqual(remote.dtl, { storagerouter_guid: 'sr-a', host: '10.0.0.1', port: 26203, mode: 'Synchronous', manual: false });
  t.is(remote.snapshots, 2);
  t.is(cv.snapshot().vdisks.find((d) => d.guid === 'vd-a')!.dtl_status, 'ok_standalone');
  t.deepEqual(f.asked.filter((s) => s.includes('.model.')), [nodeModelSubject('sr-b', 'vdisk', 'get')], 'only the remote vDisk was asked, at its own node');
  cv.stop();
});
