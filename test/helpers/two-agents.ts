import type { NatsConnection } from 'nats';
import type { Agent } from '../../src/agent.js';
import { connectClient, request } from '../../src/client.js';
import { startAgent } from './in-process-agent.js';
import { NatsServer } from './nats-server.js';

/**
 * Two in-process agents on one nats-server: requests land on either through the queue group and the cluster
 * singleton lives on one, so calls made at the other are forwarded. Ready once a test task answers.
 */
export async function twoAgents(): Promise<{ ns: NatsServer; nc: NatsConnection; agents: Agent[]; stop(): Promise<void> }> {
  const ns = await NatsServer.start();
  const agents = [await startAgent(ns.url), await startAgent(ns.url)];
  const nc = await connectClient(ns.url);
  await request(nc, 'ovs.task.test.sleep_none', { ms: 0 }, { timeoutMs: 10_000 });
  return {
    ns, nc, agents,
    async stop() {
      await nc.close();
      await Promise.all(agents.map((a) => a.stop()));
      await ns.stop();
    },
  };
}
