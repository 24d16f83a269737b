import test from 'ava';
import * as S from '../../src/protocol/subjects.js';

/** NATS matching: `*` is one token, `>` one or more trailing tokens, anything else equal token by token. */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

const guid = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const taskNames = ['storagerouter.get_version_info', 'vdisk.create_snapshot', 'test.sleep_none'];

test('the matcher follows NATS rules, so the wildcard checks below mean something', (t) => {
  t.true(matches('ovs.task.>', 'ovs.task.a.b'));
  t.false(matches('ovs.task.>', 'ovs.task'));
  t.true(matches('ovs.*.x', 'ovs.y.x'));
  t.false(matches('ovs.*.x', 'ovs.y.z.x'));
  t.false(matches('ovs.task.result', 'ovs.task.result.x'));
});

test('public task subjects round-trip through taskNameOf and fall under the agents\' wildcard', (t) => {
  for (const name of taskNames) {
    const s = S.taskSubject(name);
    t.is(s, `ovs.task.${name}`);
    t.is(S.taskNameOf(s), name);
    t.true(matches(S.TASK_WILDCARD, s), s);
    t.true(s.startsWith(`${S.TASK_PREFIX}.`), s);
  }
  t.true(matches(S.TASK_WILDCARD, S.TASK_RESULT));
});

test('taskNameOf refuses what taskSubject cannot have built', (t) => {
  for (const s of [S.TASK_RESULT, 'ovs.task.a.b.c', 'ovs.task', 'ovs.task.a.', 'ovs.model.a.b', 'x.task.a.b', S.nodeTaskSubject(guid, 'a.b')]) {
    t.is(S.taskNameOf(s), undefined, s);
  }
});

test('forwarded task subjects round-trip through forwardedTaskOf and fall only under their node\'s wildcard', (t) => {
  for (const name of taskNames) {
    const s = S.nodeTaskSubject(guid, name);
    t.is(s, `ovs.node.${guid}.task.${name}`);
    t.deepEqual(S.forwardedTaskOf(s), { storagerouterGuid: guid, taskName: name });
    t.true(matches(S.nodeTaskWildcard(guid), s), s);
    t.false(matches(S.nodeTaskWildcard('another-node'), s), s);
    t.false(matches(S.TASK_WILDCARD, s), 'a forwarded request does not reach the public queue group');
  }
  for (const s of [S.taskSubject('a.b'), S.opsSubject(guid, 'info'), `ovs.node.${guid}.task.a`, `ovs.node.${guid}.task.a.b.c`, `ovs.node.${guid}.ops.a.b`]) {
    t.is(S.forwardedTaskOf(s), undefined, s);
  }
});

test('model subjects round-trip through modelRequestOf; other shapes are refused', (t) => {
  for (const op of S.MODEL_OPERATIONS) {
    const s = S.modelSubject('storagerouter', op);
    t.is(s, `ovs.model.storagerouter.${op}`);
    t.deepEqual(S.modelRequestOf(s), { type: 'storagerouter', op });
    t.true(matches(S.MODEL_WILDCARD, s));
  }
  t.deepEqual(S.modelRequestOf('ovs.model.vdisk.delete'), { type: 'vdisk', op: 'delete' }, 'an unknown operation is the caller\'s to name');
  for (const s of ['ovs.model.storagerouter', 'ovs.model.storagerouter.list.extra', 'ovs.config.get', 'ovs.model..list']) t.is(S.modelRequestOf(s), undefined, s);
});

test('config subjects round-trip through configOperationOf; other shapes are refused', (t) => {
  for (const op of S.CONFIG_OPERATIONS) {
    const s = S.configSubject(op);
    t.is(s, `ovs.config.${op}`);
    t.is(S.configOperationOf(s), op);
    t.true(matches(S.CONFIG_WILDCARD, s));
  }
  for (const s of ['ovs.config', 'ovs.config.get.extra', 'ovs.model.get']) t.is(S.configOperationOf(s), undefined, s);
});

test('ops subjects are per node and outside the task wildcards', (t) => {
  for (const op of S.OPS_OPERATIONS) {
    const s = S.opsSubject(guid, op);
    t.is(s, `ovs.node.${guid}.ops.${op}`);
    t.false(matches(S.nodeTaskWildcard(guid), s));
    t.false(matches(S.TASK_WILDCARD, s));
  }
});

test('events fall under the event wildcard; voldrv events under the stream\'s subject and nothing else does', (t) => {
  const voldrv = ['volume_create', 'volume_resize', 'volume_delete', 'up_and_running', 'volumedriver_error'].map(S.voldrvEventSubject);
  const others = [S.NODE_HEARTBEAT_SUBJECT, S.actorEventSubject('restart'), S.actorEventSubject('escalated'), S.taskEventSubject('abc')];
  t.deepEqual(others, ['ovs.evt.node.heartbeat', 'ovs.evt.actor.restart', 'ovs.evt.actor.escalated', 'ovs.evt.task.abc']);
  t.is(voldrv[0], 'ovs.evt.voldrv.volume_create');
  for (const s of [...voldrv, ...others]) t.true(matches(S.EVENT_WILDCARD, s), s);
  for (const s of voldrv) t.true(matches(S.VOLDRV_EVENT_WILDCARD, s), s);
  for (const s of others) t.false(matches(S.VOLDRV_EVENT_WILDCARD, s), `${s} would be captured by the voldrv stream`);
  for (const s of [S.taskSubject('a.b'), S.modelSubject('vdisk', 'list'), S.configSubject('get')]) t.false(matches(S.EVENT_WILDCARD, s), s);
});

test('the public wildcards do not overlap, so each request reaches one handler', (t) => {
  const samples = [S.taskSubject('a.b'), S.TASK_RESULT, S.modelSubject('vdisk', 'get'), S.configSubject('set')];
  for (const s of samples) {
    const hits = [S.TASK_WILDCARD, S.MODEL_WILDCARD, S.CONFIG_WILDCARD].filter((w) => matches(w, s));
    t.is(hits.length, 1, s);
  }
});

test('data-plane calls and relayed model reads round-trip and stay under their node\'s wildcards', (t) => {
  const sd = 'a1b2c3d4-0000-4000-8000-000000000001';
  const call = S.voldrvSubject(guid, sd, 'create_clone');
  t.deepEqual(S.voldrvCallOf(call), { storagerouterGuid: guid, storagedriverGuid: sd, method: 'create_clone' });
  t.true(matches(S.voldrvWildcard(guid), call));
  t.false(matches(S.voldrvWildcard('other'), call));
  for (const s of [S.nodeTaskSubject(guid, 'a.b'), S.nodeModelSubject(guid, 'vdisk', 'get'), `ovs.node.${guid}.voldrv.${sd}`]) t.is(S.voldrvCallOf(s), undefined, s);
  const relayed = S.nodeModelSubject(guid, 'vdisk', 'get');
  t.true(matches(S.nodeModelWildcard(guid), relayed));
  t.false(matches(S.MODEL_WILDCARD, relayed), 'a relay never reaches the public queue group');
  t.is(S.publicModelSubjectOf(relayed), 'ovs.model.vdisk.get');
  t.is(S.publicModelSubjectOf(call), undefined);
});
