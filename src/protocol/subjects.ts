/**
 * Every subject of the README's "Subjects" table is built and parsed here: the public requests (`ovs.task`,
 * `ovs.model`, `ovs.config`), one agent's subjects (`ovs.node.<sr guid>.task|ops`) and the published facts
 * (`ovs.evt`). Code that needs a subject calls these instead of spelling or slicing one.
 */
const ROOT = 'ovs';

function subject(...tokens: string[]): string {
  return [ROOT, ...tokens].join('.');
}

/** The tokens after `ovs.<prefix...>` when the subject has exactly `rest` more of them; otherwise undefined. */
function tokensAfter(s: string, prefix: readonly string[], rest: number): string[] | undefined {
  const tokens = s.split('.');
  if (tokens.length !== 1 + prefix.length + rest || tokens[0] !== ROOT) return undefined;
  if (prefix.some((p, i) => tokens[i + 1] !== p)) return undefined;
  const tail = tokens.slice(1 + prefix.length);
  return tail.every((t) => t !== '') ? tail : undefined;
}

/** Queue group every agent joins for the public subjects. */
export const AGENT_QUEUE = 'ovs-agents';

export const TASK_PREFIX = subject('task');
export const TASK_WILDCARD = subject('task', '>');
export const TASK_RESULT = subject('task', 'result');
export const MODEL_WILDCARD = subject('model', '>');
export const CONFIG_WILDCARD = subject('config', '>');
export const EVENT_WILDCARD = subject('evt', '>');

/** `<module>.<task>` → `ovs.task.<module>.<task>`. */
export function taskSubject(taskName: string): string {
  return subject('task', taskName);
}

/** `ovs.task.<module>.<task>` → `<module>.<task>`; anything else → undefined. */
export function taskNameOf(s: string): string | undefined {
  return tokensAfter(s, ['task'], 2)?.join('.');
}

/** Work forwarded to one agent: `ovs.node.<sr guid>.task.<module>.<task>`. */
export function nodeTaskSubject(storagerouterGuid: string, taskName: string): string {
  return subject('node', storagerouterGuid, 'task', taskName);
}

export function nodeTaskWildcard(storagerouterGuid: string): string {
  return subject('node', storagerouterGuid, 'task', '>');
}

/** The inverse of `nodeTaskSubject`; undefined for anything that `nodeTaskSubject` cannot have built. */
export function forwardedTaskOf(s: string): { storagerouterGuid: string; taskName: string } | undefined {
  const tokens = tokensAfter(s, ['node'], 4);
  if (!tokens || tokens[1] !== 'task') return undefined;
  const [storagerouterGuid, , module, task] = tokens as [string, string, string, string];
  return { storagerouterGuid, taskName: `${module}.${task}` };
}

/** The data-plane API of one StorageDriver, answered by the agent that runs it: `ovs.node.<sr>.voldrv.<sd guid>.<method>`. */
export function voldrvSubject(storagerouterGuid: string, storagedriverGuid: string, method: string): string {
  return subject('node', storagerouterGuid, 'voldrv', storagedriverGuid, method);
}

export function voldrvWildcard(storagerouterGuid: string): string {
  return subject('node', storagerouterGuid, 'voldrv', '>');
}

/** The inverse of `voldrvSubject`. */
export function voldrvCallOf(s: string): { storagerouterGuid: string; storagedriverGuid: string; method: string } | undefined {
  const tokens = tokensAfter(s, ['node'], 4);
  if (!tokens || tokens[1] !== 'voldrv') return undefined;
  const [storagerouterGuid, , storagedriverGuid, method] = tokens as [string, string, string, string];
  return { storagerouterGuid, storagedriverGuid, method };
}

/** A model read answered by one agent (the one whose data plane fills the computed fields): `ovs.node.<sr>.model.<type>.<op>`. */
export function nodeModelSubject(storagerouterGuid: string, type: string, op: ModelOperation): string {
  return subject('node', storagerouterGuid, 'model', type, op);
}

export function nodeModelWildcard(storagerouterGuid: string): string {
  return subject('node', storagerouterGuid, 'model', '>');
}

/** `ovs.node.<sr>.model.<type>.<op>` → the public `ovs.model.<type>.<op>` it stands for. */
export function publicModelSubjectOf(s: string): string | undefined {
  const tokens = tokensAfter(s, ['node'], 4);
  if (!tokens || tokens[1] !== 'model') return undefined;
  return subject('model', tokens[2]!, tokens[3]!);
}

export const MODEL_OPERATIONS = ['list', 'get', 'create', 'delete'] as const;
export type ModelOperation = (typeof MODEL_OPERATIONS)[number];

export function modelSubject(type: string, op: ModelOperation): string {
  return subject('model', type, op);
}

/**
 * `ovs.model.<type>.<op>` → its type and operation, the operation unchecked so the caller can name what is wrong;
 * any other shape → undefined.
 */
export function modelRequestOf(s: string): { type: string; op: string } | undefined {
  const tokens = tokensAfter(s, ['model'], 2);
  return tokens ? { type: tokens[0]!, op: tokens[1]! } : undefined;
}

export const CONFIG_OPERATIONS = ['get', 'set', 'list'] as const;
export type ConfigOperation = (typeof CONFIG_OPERATIONS)[number];

export function configSubject(op: ConfigOperation): string {
  return subject('config', op);
}

/** `ovs.config.<op>` → the operation, unchecked; any other shape → undefined. */
export function configOperationOf(s: string): string | undefined {
  return tokensAfter(s, ['config'], 1)?.[0];
}

/** The discovery endpoints of one agent. */
export const OPS_OPERATIONS = ['info', 'tree', 'stats', 'tasks'] as const;
export type OpsOperation = (typeof OPS_OPERATIONS)[number];

export function opsSubject(storagerouterGuid: string, op: OpsOperation): string {
  return subject('node', storagerouterGuid, 'ops', op);
}

export function eventSubject(kind: string, event: string): string {
  return subject('evt', kind, event);
}

export function taskEventSubject(taskId: string): string {
  return eventSubject('task', taskId);
}

export const NODE_HEARTBEAT_SUBJECT = eventSubject('node', 'heartbeat');

export type ActorEvent = 'restart' | 'escalated';

export function actorEventSubject(event: ActorEvent): string {
  return eventSubject('actor', event);
}

/** The data-plane facts captured by the `OVS_VOLDRV_EVENTS` stream. */
export const VOLDRV_EVENT_WILDCARD = subject('evt', 'voldrv', '>');

export function voldrvEventSubject(type: string): string {
  return eventSubject('voldrv', type);
}

/** Fault injection and direct model writes on one agent started with `--test-mode`: `ovs.node.<sr>.test.<group>.<op>`. */
export const TEST_OPERATIONS = ['fault.arm', 'fault.clear', 'fault.list', 'model.put', 'model.delete'] as const;
export type TestOperation = (typeof TEST_OPERATIONS)[number];

export function testSubject(storagerouterGuid: string, op: TestOperation): string {
  return subject('node', storagerouterGuid, 'test', op);
}

export function testWildcard(storagerouterGuid: string): string {
  return subject('node', storagerouterGuid, 'test', '>');
}

/** `ovs.node.<sr>.test.<group>.<op>` → `<group>.<op>`, unchecked so the caller can name what is wrong; else undefined. */
export function testOperationOf(s: string): string | undefined {
  const tokens = tokensAfter(s, ['node'], 4);
  return tokens?.[1] === 'test' ? `${tokens[2]!}.${tokens[3]!}` : undefined;
}

/** One agent's part of a rolling update (src/update): `ovs.node.<sr>.update.<op>`. */
export const UPDATE_OPERATIONS = ['status', 'install', 'restart'] as const;
export type UpdateOperation = (typeof UPDATE_OPERATIONS)[number];

export function updateSubject(storagerouterGuid: string, op: UpdateOperation): string {
  return subject('node', storagerouterGuid, 'update', op);
}

export function updateWildcard(storagerouterGuid: string): string {
  return subject('node', storagerouterGuid, 'update', '*');
}

/** `ovs.node.<sr>.update.<op>` → `<op>`, unchecked so the caller can name what is wrong; else undefined. */
export function updateOperationOf(s: string): string | undefined {
  const tokens = tokensAfter(s, ['node'], 3);
  return tokens?.[1] === 'update' ? tokens[2] : undefined;
}

/** Progress of a rolling update, published by whichever agent runs it. */
export const UPDATE_PROGRESS_SUBJECT = eventSubject('update', 'progress');
