import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, type AgentOptions } from '../../src/agent.js';

/** An agent inside the test process (real NATS, real actors), for tests that need to reach into its services. */
export async function startAgent(natsUrl: string, o: Partial<AgentOptions> = {}): Promise<Agent> {
  const owned = o.dataDir === undefined;
  const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'ovs-agent-')));
  const agent = new Agent({
    natsUrl,
    dataDir,
    log: pino({ level: process.env.OVS_TEST_LOG ?? 'silent' }),
    name: `agent-${Math.random().toString(36).slice(2, 8)}`,
    ip: `127.0.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 1}`,
    leaseTtlMs: 1_500,
    testTasks: true,
    refreshHardwareOnStart: false,
    paths: { mountRoot: dataDir },
    ...o,
  });
  await agent.start();
  if (owned) {
    // The helper made the data dir, so it removes it when the agent stops.
    const stop = agent.stop.bind(agent);
    agent.stop = async (deadlineMs?: number) => {
      await stop(deadlineMs);
      await rm(dataDir, { recursive: true, force: true });
    };
  }
  return agent;
}
