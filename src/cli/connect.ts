import { connect, type NatsConnection } from 'nats';
import { defaultNatsUrl } from '../client.js';

/** `--nats a,b,c`: every listed server, so the client connects to whichever of them is up. */
export function natsServers(urls: string = defaultNatsUrl()): string[] {
  const list = urls.split(',').map((u) => u.trim()).filter((u) => u.length > 0);
  if (list.length === 0) throw new Error('--nats names no server');
  return list;
}

export function connectCli(urls?: string): Promise<NatsConnection> {
  return connect({ servers: natsServers(urls), timeout: 5_000 });
}
