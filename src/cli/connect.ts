import { connect, type NatsConnection } from 'nats';
import { defaultNatsUrl } from '../client.js';
import { natsConnectOptions } from '../config/nats-auth.js';
import { fromNatsError } from '../errors/security.js';
import { resolveConnection } from './connection-flags.js';

/** `--nats a,b,c`: every listed server, so the client connects to whichever of them is up. */
export function natsServers(urls: string = defaultNatsUrl()): string[] {
  const list = urls.split(',').map((u) => u.trim()).filter((u) => u.length > 0);
  if (list.length === 0) throw new Error('--nats names no server');
  return list;
}

/** Connects with `--nats` and the connection flags (`--context`, credentials, TLS), checked before connecting. */
export async function connectCli(urls?: string): Promise<NatsConnection> {
  const c = resolveConnection(urls);
  const options = natsConnectOptions(c.auth, c.names);
  try {
    return await connect({ servers: natsServers(c.urls), timeout: 5_000, ...options });
  } catch (e) {
    throw fromNatsError(e);
  }
}
