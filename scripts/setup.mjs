#!/usr/bin/env node
// Idempotent set-up behind `npm start`, `npm test` and `npm run bench`: system packages via apt when missing,
// npm dependencies when missing or stale, and a TypeScript build when sources are newer than the build.
import { execSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const quiet = process.argv.includes('--quiet');
const say = (m) => { if (!quiet) process.stderr.write(`setup: ${m}\n`); };
const root = new URL('..', import.meta.url).pathname;

/** command on PATH → Debian package providing it */
const SYSTEM = { 'nats-server': 'nats-server', lsblk: 'util-linux', parted: 'parted', 'qemu-io': 'qemu-utils', 'qemu-nbd': 'qemu-utils', nbdinfo: 'libnbd-bin', nbdcopy: 'libnbd-bin', fio: 'fio', chromium: 'chromium', 'redis-server': 'redis-server', influxd: 'influxdb' };

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const missing = Object.entries(SYSTEM).filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg);
if (missing.length > 0) {
  process.stderr.write(`setup: installing ${missing.join(', ')} with apt\n`);
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  execSync(`${sudo}apt-get update -qq && ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing.join(' ')}`, { stdio: ['ignore', 'ignore', 'inherit'] });
}

const mtime = (p) => { try { return statSync(p).mtimeMs; } catch { return 0; } };
const lock = join(root, 'package-lock.json');
const installed = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || mtime(lock) > mtime(installed)) {
  say('installing npm dependencies');
  execSync('npm ci --no-audit --no-fund --loglevel=error', { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

const newest = (dir) => {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : mtime(p));
  }
  return t;
};
const stamp = join(root, 'dist', '.build-stamp');
const sources = Math.max(...['src', 'test', 'bench'].filter((d) => existsSync(join(root, d))).map((d) => newest(join(root, d))), mtime(join(root, 'tsconfig.json')));
if (sources > mtime(stamp)) {
  say('building');
  execSync('npx --no-install tsc -p .', { cwd: root, stdio: 'inherit' });
  // tsc does not keep the executable bit; `npx ovs` runs the bin directly.
  chmodSync(join(root, 'dist', 'src', 'bin', 'ovs.js'), 0o755);
  writeFileSync(stamp, '');
}
