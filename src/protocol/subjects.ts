/** Public and internal subject names; the only place they are spelled. */
export const TASK_PREFIX = 'ovs.task';
export const TASK_WILDCARD = 'ovs.task.>';
export const TASK_RESULT = 'ovs.task.result';
export const MODEL_WILDCARD = 'ovs.model.>';
export const CONFIG_WILDCARD = 'ovs.config.>';
/** Queue group every agent joins for the public subjects. */
export const AGENT_QUEUE = 'ovs-agents';

export function taskSubject(module: string, task: string): string {
  return `${TASK_PREFIX}.${module}.${task}`;
}

/** `ovs.task.<module>.<task>` → `<module>.<task>`; anything else → undefined. */
export function taskNameOf(subject: string): string | undefined {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== 'ovs' || parts[1] !== 'task') return undefined;
  return `${parts[2]}.${parts[3]}`;
}

/** Work forwarded to one agent: `ovs.node.<sr guid>.task.<module>.<task>`. */
export function nodeTaskSubject(storagerouterGuid: string, taskName: string): string {
  return `ovs.node.${storagerouterGuid}.task.${taskName}`;
}

export function nodeTaskWildcard(storagerouterGuid: string): string {
  return `ovs.node.${storagerouterGuid}.task.>`;
}

export function taskEventSubject(taskId: string): string {
  return `ovs.evt.task.${taskId}`;
}

export function eventSubject(kind: string, event: string): string {
  return `ovs.evt.${kind}.${event}`;
}
