import type { NatsConnection } from 'nats';
import { request } from '../client.js';
import { decode } from '../protocol/codec.js';
import { H } from '../protocol/headers.js';
import { TASK_RESULT, taskEventSubject, taskSubject } from '../protocol/subjects.js';
import { fullName } from '../tasks/define.js';
import { buildTaskTable } from '../tasks/table.js';
import { keyValues } from './format.js';
import { output, parseOrFail, withNats } from './output.js';

export interface TaskOptions {
  json?: string | boolean;
  async?: boolean;
  timeout: number;
  nats?: string;
  idempotencyKey?: string;
}

/** `ovs task <module.task> [key=value ...]`: one request, or with `--async` a start followed until it is done. */
export function runTask(task: string, args: string[], o: TaskOptions): Promise<void> {
  const json = o.json !== undefined;
  const params = parseOrFail(() => ({ ...(typeof o.json === 'string' ? (JSON.parse(o.json) as Record<string, unknown>) : {}), ...keyValues(args) }), json);
  return withNats(o.nats, json, async (nc) => {
    const subject = taskSubject(task);
    if (!o.async) return request(nc, subject, params, { timeoutMs: o.timeout, idempotencyKey: o.idempotencyKey });
    const rec = await followAsync(nc, task, subject, params, o.timeout, json, o.idempotencyKey);
    if (rec.status === 'FAILURE') process.exitCode = 1;
    return rec;
  });
}

async function followAsync(
  nc: NatsConnection, task: string, subject: string, params: Record<string, unknown>, timeoutMs: number, json: boolean, idempotencyKey: string | undefined,
): Promise<{ status: string }> {
  const { task_id } = await request<{ task_id: string }>(nc, subject, params, { timeoutMs, headers: { [H.async]: '1' }, idempotencyKey });
  if (!json) process.stderr.write(`started ${task} as ${task_id}\n`);
  const sub = nc.subscribe(taskEventSubject(task_id));
  void (async () => {
    for await (const m of sub) {
      const e = decode(m.data) as { progress?: number; message?: string };
      if (!json && e.progress !== undefined) process.stderr.write(`\r  ${progressBar(e.progress)} ${e.message ?? ''}`);
    }
  })();
  try {
    return await request<{ status: string; result?: unknown; error?: unknown }>(nc, TASK_RESULT, { task_id, wait_ms: timeoutMs }, { timeoutMs: timeoutMs + 5_000 });
  } finally {
    sub.unsubscribe();
  }
}

function progressBar(fraction: number): string {
  const f = Math.max(0, Math.min(1, fraction));
  const filled = Math.round(f * 30);
  return `[${'#'.repeat(filled)}${' '.repeat(30 - filled)}] ${String(Math.round(f * 100)).padStart(3)}%`;
}

/** `ovs tasks`: every declared task with its owner and ensure_single mode. */
export function listTasks(o: { json?: boolean }): void {
  const rows = [...buildTaskTable().values()].map((d) => ({
    task: fullName(d),
    owner: d.owner.kind,
    ensure_single: d.ensureSingle.mode,
    status: d.handler ? 'available' : `pending: ${d.pending ?? ''}`,
  }));
  output(rows, Boolean(o.json));
}
