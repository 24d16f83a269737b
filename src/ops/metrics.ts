import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Supervision } from '../supervisors/supervision.js';

/**
 * Prometheus metrics of one agent. Labels are bounded: task names come from the task table, actor kinds from the
 * tree's fixed shapes, error types from the error classes; nothing is labelled per vDisk.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'task' | 'outcome' | 'error_type'>;
  private readonly duration: Histogram<'task'>;
  readonly restarts: Counter<'kind'>;
  readonly escalations: Counter<'kind'>;
  readonly deadLetters: Counter;
  readonly natsReconnects: Counter;
  readonly natsDisconnects: Counter;

  constructor(supervision: Supervision, ready: () => boolean, natsConnected: () => boolean) {
    collectDefaultMetrics({ register: this.registry, prefix: 'ovs_' });
    const registers = [this.registry];
    this.requests = new Counter({ name: 'ovs_task_requests_total', help: 'Task requests answered, by task and outcome', labelNames: ['task', 'outcome', 'error_type'], registers });
    this.duration = new Histogram({
      name: 'ovs_task_duration_seconds',
      help: 'Time from request to reply, by task',
      labelNames: ['task'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.restarts = new Counter({ name: 'ovs_actor_restarts_total', help: 'Actor restarts after a crash, by actor kind', labelNames: ['kind'], registers });
    this.escalations = new Counter({ name: 'ovs_actor_escalations_total', help: 'Actors stopped for exceeding their restart intensity', labelNames: ['kind'], registers });
    this.deadLetters = new Counter({ name: 'ovs_dead_letters_total', help: 'Messages sent to actors that were not running', registers });
    this.natsReconnects = new Counter({ name: 'ovs_nats_reconnects_total', help: 'NATS reconnections', registers });
    this.natsDisconnects = new Counter({ name: 'ovs_nats_disconnects_total', help: 'NATS disconnections', registers });
    new Gauge({
      name: 'ovs_actor_mailbox_depth',
      help: 'Messages waiting in actor mailboxes, summed by actor kind',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        for (const a of supervision.tree()) this.inc({ kind: a.kind }, a.mailbox ?? 0);
      },
    });
    new Gauge({
      name: 'ovs_actors',
      help: 'Actors in the supervision tree by kind and status',
      labelNames: ['kind', 'status'],
      registers,
      collect() {
        this.reset();
        for (const a of supervision.tree()) this.inc({ kind: a.kind, status: a.status });
      },
    });
    new Gauge({ name: 'ovs_ready', help: '1 when /readyz is ready', registers, collect() { this.set(ready() ? 1 : 0); } });
    new Gauge({ name: 'ovs_nats_connected', help: '1 while connected to NATS', registers, collect() { this.set(natsConnected() ? 1 : 0); } });
    supervision.on('restart', (path: string) => this.restarts.inc({ kind: kindOfPath(path) }));
    supervision.on('escalated', (path: string) => this.escalations.inc({ kind: kindOfPath(path) }));
    supervision.on('deadLetter', () => this.deadLetters.inc());
  }

  private readonly children = new Map<string, { count: { inc(): void }; time: { observe(v: number): void } }>();

  /** Per-request accounting; label children are cached so the hot path does no label hashing. */
  task(task: string, seconds: number, errorType?: string): void {
    const key = `${task}|${errorType ?? ''}`;
    let c = this.children.get(key);
    if (!c) {
      c = { count: this.requests.labels(task, errorType ? 'error' : 'ok', errorType ?? ''), time: this.duration.labels(task) };
      this.children.set(key, c);
    }
    c.count.inc();
    c.time.observe(seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

function kindOfPath(path: string): string {
  const last = path.split('/').pop() ?? path;
  return last.split(/[:.]/)[0] ?? last;
}
