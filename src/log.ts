import { pino, type Logger } from 'pino';

/** The one root logger: JSON lines on stdout (journald-friendly); level from OVS_LOG_LEVEL. */
export function createLogger(bindings: Record<string, unknown> = {}, destination?: NodeJS.WritableStream): Logger {
  const level = process.env.OVS_LOG_LEVEL ?? 'info';
  return destination ? pino({ level, base: bindings }, destination) : pino({ level, base: bindings });
}

export type { Logger };
