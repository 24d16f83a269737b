import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { Backend } from '../dataplane/backend/backend.js';
import { Mutex } from '../dataplane/common/locks.js';
import { registerLocalMds, unregisterLocalMds } from '../mds/client.js';
import { MdsNatsService } from '../mds/nats-service.js';
import { MdsServer } from '../mds/server.js';
import { splitAddress } from '../mds/wire.js';

export interface HostedMds {
  guid: string;
  address: string;
}

/** The actor of one MDS service (`mds:<address>` in the node's tree): it runs the service's slave polls. */
export interface MdsActor {
  poll(): void;
  stop(): void;
}

/**
 * The MDS services of one StorageDriver's node: each a server with its own tables under the vPool's data folder,
 * served on its NATS subject. They follow the model, not the volumes: a node without volumes keeps its slaves.
 */
export class MdsHosting {
  private readonly servers = new Map<string, { address: string; server: MdsServer; nats: MdsNatsService; actor?: MdsActor; timer?: NodeJS.Timeout }>();
  private readonly mutex = new Mutex();
  private actorOf: ((address: string, server: MdsServer) => MdsActor) | undefined;

  /** Each service gets an actor in the supervised tree from now on (set before the first sync). */
  withActors(factory: (address: string, server: MdsServer) => MdsActor): void {
    this.actorOf = factory;
  }

  constructor(private readonly d: { dir: string; backend: Backend; nc: NatsConnection; log: Logger; pollMs?: () => number | undefined }) {}

  /** Starts the services that are wanted and not running, stops those no longer wanted. */
  sync(wanted: HostedMds[]): Promise<void> {
    return this.mutex.run(async () => {
      const keep = new Set(wanted.map((w) => w.guid));
      for (const [guid, s] of this.servers) {
        const w = wanted.find((x) => x.guid === guid);
        if (keep.has(guid) && w?.address === s.address) continue;
        await this.stopOne(guid);
      }
      for (const w of wanted) {
        if (this.servers.has(w.guid)) continue;
        const [, port] = splitAddress(w.address);
        const pollMs = this.d.pollMs?.();
        const server = new MdsServer({
          address: w.address, dir: join(this.d.dir, `mds_${port}`), backend: this.d.backend, log: this.d.log, ...(pollMs ? { pollMs } : {}), externalPoll: this.actorOf !== undefined,
        });
        await server.start();
        const nats = new MdsNatsService(server, this.d.nc, this.d.log);
        nats.start();
        registerLocalMds(server);
        const actor = this.actorOf?.(w.address, server);
        const timer = actor ? setInterval(() => actor.poll(), pollMs ?? 300_000) : undefined;
        timer?.unref();
        this.servers.set(w.guid, { address: w.address, server, nats, ...(actor ? { actor } : {}), ...(timer ? { timer } : {}) });
        this.d.log.info({ mds: w.address, tables: server.list_namespaces().length }, 'MDS service serving');
      }
    });
  }

  serverAt(address: string): MdsServer | undefined {
    return [...this.servers.values()].find((s) => s.address === address)?.server;
  }

  stop(): Promise<void> {
    return this.mutex.run(async () => {
      for (const guid of [...this.servers.keys()]) await this.stopOne(guid);
    });
  }

  private async stopOne(guid: string): Promise<void> {
    const s = this.servers.get(guid);
    if (!s) return;
    this.servers.delete(guid);
    clearInterval(s.timer);
    s.actor?.stop();
    s.nats.stop();
    unregisterLocalMds(s.server);
    await s.server.stop();
  }
}
