import type { Logger } from 'pino';
import type { AgentServices } from '../agent-services.js';

/** What a task handler gets besides its parameters. */
export interface TaskContext<O = unknown> {
  /** Id of this invocation; also the async task id when the caller asked for `Ovs-Async`. */
  taskId: string;
  /** Absolute epoch ms after which the caller no longer waits. */
  deadline: number;
  log: Logger;
  /** The actor that runs this task hands over what it owns (typed per owner kind, see OwnerResources). */
  owner: O;
  services: AgentServices;
  /** Publishes progress on `ovs.evt.task.<taskId>` (fraction 0..1); a plain function, safe to pass around. */
  progress: (fraction: number, message?: string) => void;
}
