import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';

export type JournalDump = { included: true } | { included: false; note: string };

/** Units whose journal a support bundle carries: the agent's own services (the original also took asd-*, alba-*). */
export const JOURNAL_UNITS = ['ovs-*'];

/**
 * `journalctl -u ovs-*` of the last 7 days into `file`, when this host runs systemd; otherwise (or when journalctl
 * fails) a note saying why, which the bundle carries instead.
 */
export async function dumpJournal(file: string, opts: { systemdMarker?: string; timeoutMs?: number } = {}): Promise<JournalDump> {
  if (!existsSync(opts.systemdMarker ?? '/run/systemd/system')) return { included: false, note: 'this host does not run systemd (no /run/systemd/system): no journal to dump' };
  const out = await open(file, 'w');
  try {
    const args = ['--no-pager', '-o', 'short-iso', '--since', '7 days ago', ...JOURNAL_UNITS.flatMap((u) => ['-u', u])];
    const r = await new Promise<{ code: number | null; stderr: string; error?: string }>((resolve) => {
      const child = spawn('journalctl', args, { stdio: ['ignore', out.fd, 'pipe'], timeout: opts.timeoutMs ?? 60_000 });
      let stderr = '';
      child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
      child.on('error', (e) => resolve({ code: null, stderr, error: e.message }));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    if (r.code === 0) return { included: true };
    return { included: false, note: `journalctl ${args.join(' ')} failed: ${r.error ?? `exit code ${String(r.code)}`} ${r.stderr.trim()}`.trim() };
  } finally {
    await out.close();
  }
}
