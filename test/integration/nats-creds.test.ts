import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { AgentProcess } from '../helpers/agent-process.js';
import { ConfiguredNatsServer } from '../helpers/configured-nats-server.js';
import { operatorMode } from '../helpers/nats-operator.js';
import { errorType, ovsCli as ovs } from '../helpers/ovs-cli.js';

test('creds file (operator/JWT mode): the agent with natsAuth.credsFile gets ready, the CLI with --creds works, a stranger or no creds is AUTHENTICATION_FAILED', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-creds-it-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const jwt = await operatorMode();
  const creds = join(dir, 'ovs.creds');
  const stranger = join(dir, 'stranger.creds');
  await writeFile(creds, jwt.userCreds, { mode: 0o600 });
  await writeFile(stranger, jwt.strangerCreds, { mode: 0o600 });
  const agentConfig = join(dir, 'agent.json');
  await writeFile(agentConfig, JSON.stringify({ natsAuth: { credsFile: creds } }));

  const ns = await ConfiguredNatsServer.start(jwt.config);
  t.teardown(() => ns.stop());
  const agent = await AgentProcess.start({ natsUrl: ns.url, name: 'creds1', ip: '127.0.0.1', extraArgs: ['--config', agentConfig] });
  t.teardown(() => agent.stop());

  const ls = await ovs(['ls', '--json', '--nats', ns.url, '--creds', creds]);
  t.is(ls.code, 0, ls.stderr);
  t.is((JSON.parse(ls.stdout) as { storagerouter_guid: string }[])[0]?.storagerouter_guid, agent.guid);
  const list = await ovs(['model', 'list', 'storagerouter', '--json', '--nats', ns.url, '--creds', creds]);
  t.is(list.code, 0, list.stderr);
  t.deepEqual((JSON.parse(list.stdout) as { guid: string }[]).map((s) => s.guid), [agent.guid]);

  const refused = await ovs(['ls', '--json', '--nats', ns.url, '--creds', stranger]);
  t.is(refused.code, 1);
  t.is(errorType(refused), 'AUTHENTICATION_FAILED');
  t.is(errorType(await ovs(['ls', '--json', '--nats', ns.url])), 'AUTHENTICATION_FAILED');
});
