import type { KV, NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { Outcome } from '../actors/task-owner.js';
import { TaskNotFoundError, asOvsError, type OvsError } from '../errors.js';
import { decode, encode } from '../protocol/codec.js';
import { taskEventSubject } from '../protocol/subjects.js';

export type TaskStatus = 'RUNNING' | 'SUCCESS' | 'FAILURE';

export interface TaskRecord {
  task_id: string;
  task: string;
  status: TaskStatus;
  submitted_at: number;
  finished_at?: number;
  result?: unknown;
  error?: ReturnType<OvsError['toWire']>;
}

/** Outcomes of asynchronously started tasks (`Ovs-Async: 1`), kept in a KV bucket and announced on events. */
export class TaskResults {
  constructor(readonly kv: KV, private readonly nc: NatsConnection) {}

  /** Records a task as running; the returned function stores its outcome (errors storing it are logged, not thrown). */
  async started(taskId: string, task: string, log: Logger): Promise<(outcome: Outcome) => void> {
    const submittedAt = Date.now();
    await this.put({ task_id: taskId, task, status: 'RUNNING', submitted_at: submittedAt });
    return (outcome) => {
      const error = outcome.ok ? undefined : asOvsError(outcome.error);
      const rec: TaskRecord = {
        task_id: taskId,
        task,
        status: error ? 'FAILURE' : 'SUCCESS',
        submitted_at: submittedAt,
        finished_at: Date.now(),
        ...(error ? { error: error.toWire() } : { result: (outcome.ok ? outcome.value : undefined) ?? null }),
      };
      this.put(rec).catch((e: unknown) => log.error({ err: e, task_id: taskId }, 'could not store the outcome of an async task'));
    };
  }

  /** Runs work whose outcome is kept like an async request's; resolves with its task id once it is recorded. */
  async keep(task: string, work: () => Promise<unknown>, taskId: string, log: Logger): Promise<string> {
    const finish = await this.started(taskId, task, log);
    void work().then((value) => finish({ ok: true, value }), (error: unknown) => finish({ ok: false, error }));
    return taskId;
  }

  private async put(rec: TaskRecord): Promise<void> {
    await this.kv.put(rec.task_id, encode(rec));
    this.nc.publish(taskEventSubject(rec.task_id), encode(rec));
  }

  /** The record of a task; with `waitMs`, waits that long for a running task to finish. */
  async get(taskId: string, waitMs = 0): Promise<TaskRecord> {
    const read = async (): Promise<TaskRecord | undefined> => {
      const e = await this.kv.get(taskId);
      return e && e.operation === 'PUT' ? (decode(e.value) as TaskRecord) : undefined;
    };
    let rec = await read();
    if (!rec) throw new TaskNotFoundError(taskId);
    if (rec.status !== 'RUNNING' || waitMs <= 0) return rec;
    const until = Date.now() + waitMs;
    const watcher = await this.kv.watch({ key: taskId });
    const timer = setTimeout(() => watcher.stop(), waitMs);
    try {
      for await (const e of watcher) {
        if (e.operation !== 'PUT') continue;
        rec = decode(e.value) as TaskRecord;
        if (rec.status !== 'RUNNING' || Date.now() >= until) break;
      }
    } finally {
      clearTimeout(timer);
      watcher.stop();
    }
    return rec;
  }
}
