import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/eventually.js';
import { NatsServer } from '../helpers/nats-server.js';
import { run } from '../helpers/run.js';

const BIN = new URL('../../src/bin/ovs.js', import.meta.url).pathname;

const TOKEN = 'tok-0123456789abcdef-xyz';

test('with httpToken every route but /healthz and /readyz needs the bearer token; ?token= once gives the dashboard a cookie', async (t) => {
  const ns = await NatsServer.start();
  const dir = await mkdtemp(join(tmpdir(), 'ovs-http-token-'));
  let agent: AgentProcess | undefined;
  try {
    const config = join(dir, 'agent.json');
    await writeFile(config, JSON.stringify({ httpToken: TOKEN }));
    agent = await AgentProcess.start({ natsUrl: ns.url, name: 'alpha', ip: '127.0.0.31', extraArgs: ['--http-port', '0', '--config', config] });
    const { http_url: url } = JSON.parse(await readFile(join(agent.dataDir, 'ready.json'), 'utf8')) as { http_url: string };
    const get = (path: string, headers: Record<string, string> = {}): Promise<Response> => fetch(url + path, { headers, redirect: 'manual' });

    t.is((await get('/healthz')).status, 200);
    await waitFor('ready', async () => ((await get('/readyz')).status === 200 ? true : null), 20_000, 100);

    for (const path of ['/metrics', '/', '/api/cluster', '/downloads/x.zip']) {
      const none = await get(path);
      t.is(none.status, 401, path);
      t.is(none.headers.get('www-authenticate'), 'Bearer realm="ovs"');
      t.is((await get(path, { authorization: `Bearer ${TOKEN}x` })).status, 401, `${path} with a wrong token`);
    }
    const metrics = await get('/metrics', { authorization: `Bearer ${TOKEN}` });
    t.is(metrics.status, 200);
    t.regex(await metrics.text(), /# TYPE/);
    t.is((await get('/api/cluster', { authorization: `Bearer ${TOKEN}` })).status, 200);

    t.is((await get(`/?token=wrong-${TOKEN}`)).status, 401);
    const opened = await get(`/?token=${encodeURIComponent(TOKEN)}`);
    t.is(opened.status, 303);
    t.is(opened.headers.get('location'), '/');
    const cookie = (opened.headers.get('set-cookie') ?? '').split(';')[0]!;
    t.regex(opened.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
    const page = await get('/', { cookie });
    t.is(page.status, 200);
    t.regex(page.headers.get('content-type') ?? '', /text\/html/);
    t.is((await get('/api/cluster', { cookie })).status, 200, 'the page reads its data with the cookie');
  } finally {
    await agent?.stop();
    await ns.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a short token is refused when the agent starts, before it connects', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ovs-http-token-'));
  try {
    const config = join(dir, 'agent.json');
    await writeFile(config, JSON.stringify({ httpToken: 'short' }));
    const r = await run(process.execPath, [BIN, 'agent', '--nats', 'nats://127.0.0.1:1', '--data-dir', dir, '--http-port', '0', '--config', config]);
    t.is(r.code, 1);
    t.regex(r.stderr, /invalid agent configuration: httpToken: must be at least 16 characters/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
