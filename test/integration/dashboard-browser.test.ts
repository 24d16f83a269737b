import { mkdir, readFile } from 'node:fs/promises';
import test from 'ava';
import { chromium, type Browser } from 'playwright-core';
import { AgentProcess } from '../helpers/agent-process.js';
import { NatsServer } from '../helpers/nats-server.js';

const CHROMIUM = process.env.OVS_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = new URL('../../../test-artifacts/', import.meta.url).pathname;

test('dashboard of a two-agent cluster: both nodes up, kill one, it goes down and its actor tree disappears', async (t) => {
  const ns = await NatsServer.start();
  const agents: AgentProcess[] = [];
  let browser: Browser | undefined;
  try {
    const beat = ['--http-port', '0', '--node-heartbeat-ms', '300'];
    const a = await AgentProcess.start({ natsUrl: ns.url, name: 'alpha', ip: '127.0.0.21', extraArgs: beat });
    const b = await AgentProcess.start({ natsUrl: ns.url, name: 'beta', ip: '127.0.0.22', extraArgs: beat });
    agents.push(a, b);
    const { http_url: url } = JSON.parse(await readFile(`${a.dataDir}/ready.json`, 'utf8')) as { http_url: string };
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForSelector('tr[data-node="alpha"][data-status="up"]');
    await page.waitForSelector('tr[data-node="beta"][data-status="up"]');
    await page.waitForFunction(() => (document.querySelector('.node-tree[data-node="beta"] .tree')?.textContent ?? '').includes('storagerouter'));
    t.pass('both nodes up with their actor trees');

    b.kill9();
    await page.waitForSelector('tr[data-node="beta"][data-status="down"]', { timeout: 15_000 });
    await page.waitForFunction(() => (document.querySelector('.node-tree[data-node="beta"] .tree')?.textContent ?? 'x') === '');
    t.truthy(await page.$('tr[data-node="alpha"][data-status="up"]'), 'the serving node stays up');
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
  } finally {
    await browser?.close();
    await Promise.all(agents.map((x) => x.stop()));
    await ns.stop();
  }
});
