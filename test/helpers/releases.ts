import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { installRelease } from '../../src/update/install.js';
import { run } from './run.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

/**
 * A release tarball of this build under another version, made the way `npm run release` makes one (`npm pack`).
 * `breakAgent` ships an agent whose code does not load (a broken release that still names itself correctly).
 */
export async function makeRelease(version: string, outDir: string, o: { breakAgent?: boolean } = {}): Promise<string> {
  const stage = await mkdtemp(join(tmpdir(), `ovs-release-${version}-`));
  try {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    pkg.version = version;
    delete pkg.scripts;
    await writeFile(join(stage, 'package.json'), JSON.stringify(pkg, null, 2));
    await cp(join(ROOT, 'dist', 'src'), join(stage, 'dist', 'src'), { recursive: true });
    await cp(join(ROOT, 'config'), join(stage, 'config'), { recursive: true });
    await writeFile(join(stage, 'README.md'), `ovs ${version}\n`);
    await cp(join(ROOT, 'scripts', 'setup.mjs'), join(stage, 'scripts', 'setup.mjs'));
    if (o.breakAgent) await writeFile(join(stage, 'dist', 'src', 'agent.js'), 'export const = broken;\n');
    const r = await run('npm', ['pack', '--pack-destination', outDir, '--ignore-scripts', '--silent'], { cwd: stage });
    if (r.code !== 0) throw new Error(`npm pack failed: ${r.stderr}`);
    return join(outDir, r.stdout.trim().split('\n').pop()!);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** Installs a release tarball the way an agent does and returns its entry point, for starting agents on it. */
export async function installForTest(file: string, releasesDir: string): Promise<string> {
  const r = await installRelease(file, releasesDir, pino({ level: 'silent' }), ROOT);
  return join(r.root, 'dist', 'src', 'bin', 'ovs.js');
}
