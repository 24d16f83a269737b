import type { NatsConnection } from 'nats';
import { OvsError } from '../errors.js';
import { fromNatsError } from '../errors/security.js';
import { connectCli } from './connect.js';
import { human } from './format.js';

export function output(value: unknown, json: boolean): void {
  process.stdout.write((json ? JSON.stringify(value, null, 2) : human(value)) + '\n');
}

export function fail(thrown: unknown, json: boolean): never {
  // Requests made with nc.request directly (node ops, discovery) get nats.js errors; refusals are typed here too.
  const e = fromNatsError(thrown);
  if (e instanceof OvsError) {
    if (json) process.stdout.write(JSON.stringify({ error: e.toWire() }, null, 2) + '\n');
    else process.stderr.write(`error ${e.type}${e.retryable ? ' (retryable)' : ''}: ${e.message}\n`);
  } else if ((e as { code?: string })?.code === '503') {
    process.stderr.write('error: no agent answered on NATS (is the cluster up, and is --nats right?)\n');
  } else {
    process.stderr.write(`error: ${(e as Error)?.message ?? String(e)}\n`);
  }
  process.exit(1);
}

/** Parses arguments before connecting, so a typo fails at once and without touching NATS. */
export function parseOrFail<T>(parse: () => T, json: boolean): T {
  try {
    return parse();
  } catch (e) {
    fail(e, json);
  }
}

/** Connects, runs `fn`, prints what it returns (unless undefined), closes; any failure exits 1 with its message. */
export async function withNats<T>(urls: string | undefined, json: boolean, fn: (nc: NatsConnection) => Promise<T>): Promise<void> {
  try {
    const nc = await connectCli(urls);
    try {
      const out = await fn(nc);
      if (out !== undefined) output(out, json);
    } finally {
      await nc.close();
    }
  } catch (e) {
    fail(e, json);
  }
}
