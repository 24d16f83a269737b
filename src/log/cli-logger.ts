import pretty from 'pino-pretty';
import { createLogger, type Logger } from '../log.js';

export type LogFormat = 'json' | 'pretty';

/** Pretty lines for a person at a terminal, JSON lines for journald and files, unless the caller says otherwise. */
export function chooseLogFormat(requested: LogFormat | undefined, stdoutIsTerminal = process.stdout.isTTY === true): LogFormat {
  return requested ?? (stdoutIsTerminal ? 'pretty' : 'json');
}

/** The root logger of a long-running command (`ovs up`, `ovs agent`, `ovs volume serve`). */
export function createCommandLogger(bindings: Record<string, unknown>, format: LogFormat): Logger {
  if (format === 'json') return createLogger(bindings);
  // A synchronous stream on this thread rather than a transport worker: the last lines before process.exit (a signal,
  // a failed start) are the ones a person reads, and a worker thread can lose them.
  return createLogger(bindings, pretty({ sync: true, destination: 1, translateTime: 'SYS:HH:MM:ss.l', ignore: 'proc' }));
}
