import test from 'ava';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsServer } from '../helpers/nats-server.js';

let server: NatsServer;

test.before(async () => {
  server = await NatsServer.start();
});

test.after.always(async () => {
  await server?.stop();
});

/** The first output line of the agent that mentions `agent ready`, once it has been written. */
function readyLine(agent: AgentProcess): Promise<string> {
  return waitFor('the agent ready log line', () => agent.log.join('').split('\n').find((line) => line.includes('agent ready')), 10_000);
}

test('ovs agent logs JSON lines when stdout is not a terminal', async (t) => {
  const agent = await AgentProcess.start({ natsUrl: server.url, name: 'json-logs', ip: '127.0.0.11', testTasks: false });
  try {
    const line = JSON.parse(await readyLine(agent)) as { level: number; msg: string; name: string; storagerouter_guid: string };
    t.like(line, { level: 30, msg: 'agent ready', name: 'json-logs', storagerouter_guid: agent.guid });
  } finally {
    t.is(await agent.stop(), 0);
  }
});

test('ovs agent --log-format pretty logs readable lines', async (t) => {
  const agent = await AgentProcess.start({ natsUrl: server.url, name: 'pretty-logs', ip: '127.0.0.12', testTasks: false, extraArgs: ['--log-format', 'pretty'] });
  try {
    const line = await readyLine(agent);
    t.regex(line, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(pretty-logs\): agent ready$/);
    t.true(agent.log.join('').includes(`storagerouter_guid: "${agent.guid}"`));
  } finally {
    t.is(await agent.stop(), 0);
  }
  await waitFor('the last line before exit, not lost', () => /INFO \(pretty-logs\): agent stopped/.test(agent.log.join('')), 5_000);
  t.pass();
});
