/** Per task: count, errors, latency (mean and max), and a ring of recent outcomes for the dashboard. */
export interface TaskStat {
  task: string;
  count: number;
  errors: number;
  total_ms: number;
  max_ms: number;
  last_error?: string;
}

export interface RecentTask {
  task: string;
  task_id?: string;
  ok: boolean;
  error_type?: string;
  ms: number;
  at: number;
}

export class TaskStats {
  private readonly stats = new Map<string, TaskStat>();
  private readonly recent: RecentTask[] = [];

  constructor(private readonly keepRecent = 100) {}

  record(task: string, ms: number, errorType?: string, taskId?: string): void {
    let s = this.stats.get(task);
    if (!s) this.stats.set(task, (s = { task, count: 0, errors: 0, total_ms: 0, max_ms: 0 }));
    s.count++;
    s.total_ms += ms;
    if (ms > s.max_ms) s.max_ms = ms;
    if (errorType) {
      s.errors++;
      s.last_error = errorType;
    }
    this.recent.push({ task, task_id: taskId, ok: errorType === undefined, error_type: errorType, ms, at: Date.now() });
    if (this.recent.length > this.keepRecent) this.recent.shift();
  }

  all(): Array<TaskStat & { mean_ms: number }> {
    return [...this.stats.values()].map((s) => ({ ...s, mean_ms: s.count ? s.total_ms / s.count : 0 }));
  }

  recentTasks(): RecentTask[] {
    return [...this.recent];
  }
}
