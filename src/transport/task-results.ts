import type { KV, NatsConnection } from 'nats';
import { TaskNotFoundError, type OvsError } from '../errors.js';
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
  constructor(private readonly kv: KV, private readonly nc: NatsConnection) {}

  async started(taskId: string, task: string): Promise<void> {
    const rec: TaskRecord = { task_id: taskId, task, status: 'RUNNING', submitted_at: Date.now() };
    await this.kv.put(taskId, encode(rec));
    this.nc.publish(taskEventSubject(taskId), encode(rec));
  }

  async finished(taskId: string, task: string, submittedAt: number, outcome: { result?: unknown; error?: OvsError }): Promise<void> {
    const rec: TaskRecord = {
      task_id: taskId,
      task,
      status: outcome.error ? 'FAILURE' : 'SUCCESS',
      submitted_at: submittedAt,
      finished_at: Date.now(),
      ...(outcome.error ? { error: outcome.error.toWire() } : { result: outcome.result ?? null }),
    };
    await this.kv.put(taskId, encode(rec));
    this.nc.publish(taskEventSubject(taskId), encode(rec));
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
