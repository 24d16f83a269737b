import { execFile } from 'node:child_process';

/**
 * systemd integration without a native addon: readiness and watchdog pings through `systemd-notify`, only when
 * systemd asked for them (NOTIFY_SOCKET, WATCHDOG_USEC). A blocked event loop stops the pings and systemd restarts
 * the agent.
 */
export function notifyReady(): void {
  if (process.env.NOTIFY_SOCKET) execFile('systemd-notify', ['--ready', `--pid=${process.pid}`], () => undefined);
}

export function startWatchdog(): () => void {
  const usec = Number(process.env.WATCHDOG_USEC);
  if (!process.env.NOTIFY_SOCKET || !Number.isFinite(usec) || usec <= 0) return () => undefined;
  const t = setInterval(() => execFile('systemd-notify', [`--pid=${process.pid}`, 'WATCHDOG=1'], () => undefined), Math.max(500, usec / 1000 / 2));
  t.unref();
  return () => clearInterval(t);
}

export function notifyStopping(): void {
  if (process.env.NOTIFY_SOCKET) execFile('systemd-notify', ['STOPPING=1', `--pid=${process.pid}`], () => undefined);
}
