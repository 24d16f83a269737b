import type { ConfigStore } from '../config/store.js';

/** Where the state of the current (or last) rolling update lives; the runner resumes from it after a lease move. */
export const UPDATE_STATE_KEY = '/ovs/framework/update/state';

/**
 * A node's steps, each idempotent so a runner that took over repeats at most the step that was under way:
 * install the candidate beside the running release → move its vDisks away → restart on the candidate → take the
 * vDisks back.
 */
export type NodeStep = 'pending' | 'installed' | 'evacuated' | 'restarting' | 'restarted' | 'done' | 'failed';

export interface NodePlan {
  guid: string;
  name: string;
  ip: string;
  from: string;
  step: NodeStep;
  /** vDisks moved away from this node, to be taken back after its restart. */
  moved: Array<{ vdisk: string; to: string }>;
  error?: string;
}

export interface UpdatePlan {
  id: string;
  version: string;
  source: string;
  components: string[];
  status: 'running' | 'done' | 'failed';
  started_at: number;
  finished_at?: number;
  error?: string;
  nodes: NodePlan[];
  /** The last progress lines, newest last; `by` is the agent process that ran the step (`<sr guid>#<pid>`). */
  log: Array<{ ts: number; message: string; by?: string }>;
}

const MAX_LOG_LINES = 100;

export async function readPlan(config: ConfigStore): Promise<UpdatePlan | undefined> {
  return config.get<UpdatePlan>(UPDATE_STATE_KEY);
}

export async function writePlan(config: ConfigStore, plan: UpdatePlan): Promise<void> {
  if (plan.log.length > MAX_LOG_LINES) plan.log.splice(0, plan.log.length - MAX_LOG_LINES);
  await config.set(UPDATE_STATE_KEY, plan);
}
