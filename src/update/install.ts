import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import * as tar from 'tar';
import { UpdateInstallError } from '../errors.js';
import { readManifest } from './release.js';

const run = promisify(execFile);

/** Marks a release directory as complete: extracted, dependencies in place, start check passed. */
const INSTALLED_MARKER = '.ovs-installed';
/** The agent's entry point inside a release (`npm pack` of a built tree). */
export const AGENT_BIN = join('dist', 'src', 'bin', 'ovs.js');

export interface InstalledRelease {
  version: string;
  root: string;
  /** False when the release was already installed and nothing was done. */
  installed: boolean;
}

/** The package root this process runs from (three levels above dist/src/update). */
export function runningRoot(): string {
  return new URL('../../../', import.meta.url).pathname.replace(/\/$/, '');
}

const sortedDeps = (deps: Record<string, string> | undefined): string => JSON.stringify(Object.entries(deps ?? {}).sort(([a], [b]) => a.localeCompare(b)));

async function runningDependencies(root: string): Promise<Record<string, string>> {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return pkg.dependencies ?? {};
}

/**
 * Dependencies of a candidate: when they are the running release's, its node_modules is shared (a symlink, nothing
 * downloaded, nothing that can differ); otherwise npm installs the production dependencies into the candidate.
 */
async function provideDependencies(dir: string, deps: Record<string, string>, root: string, log: Logger): Promise<void> {
  if (sortedDeps(deps) === sortedDeps(await runningDependencies(root)) && existsSync(join(root, 'node_modules'))) {
    await symlink(await realpath(join(root, 'node_modules')), join(dir, 'node_modules'), 'dir');
    return;
  }
  log.info({ dir }, 'update: the candidate has other dependencies; npm installs them');
  try {
    await run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, timeout: 600_000 });
  } catch (e) {
    throw new UpdateInstallError(`npm could not install the candidate's dependencies: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`, { dir });
  }
}

/** Loads the candidate's whole agent module graph in a separate node and asks its version: a broken release fails here, before anything stops. */
async function startCheck(dir: string, version: string): Promise<void> {
  const runtime = pathToFileURL(join(dir, 'dist', 'src', 'cli', 'runtime.js')).href;
  try {
    await run(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(runtime)});`], { cwd: dir, timeout: 60_000 });
    const { stdout } = await run(process.execPath, [join(dir, AGENT_BIN), '--version'], { cwd: dir, timeout: 60_000 });
    if (stdout.trim() !== version) throw new Error(`it reports version '${stdout.trim()}', its package.json says '${version}'`);
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr?.trim();
    throw new UpdateInstallError(`release ${version} fails its start check: ${stderr ? stderr.split('\n').slice(-3).join(' | ') : (e as Error).message}`, { version });
  }
}

/**
 * Installs a release tarball beside the running one, under `releasesDir/<version>`: extract into a scratch
 * directory, provide dependencies, run the start check, then rename into place. Idempotent: a version already
 * installed is returned as it is. The running release is never touched.
 */
export async function installRelease(file: string, releasesDir: string, log: Logger, root = runningRoot()): Promise<InstalledRelease> {
  const manifest = await readManifest(file);
  const target = join(releasesDir, manifest.version);
  if (existsSync(join(target, INSTALLED_MARKER))) return { version: manifest.version, root: target, installed: false };
  await mkdir(releasesDir, { recursive: true });
  const scratch = join(releasesDir, `.partial-${manifest.version}-${randomUUID()}`);
  try {
    await mkdir(scratch);
    try {
      await tar.x({ file, cwd: scratch, strip: 1 });
    } catch (e) {
      throw new UpdateInstallError(`release ${manifest.version} cannot be extracted: ${(e as Error).message}`, { version: manifest.version });
    }
    if (!existsSync(join(scratch, AGENT_BIN))) {
      throw new UpdateInstallError(`release ${manifest.version} has no built agent (${AGENT_BIN}); make it with 'npm run release'`, { version: manifest.version });
    }
    await provideDependencies(scratch, manifest.dependencies, root, log);
    await startCheck(scratch, manifest.version);
    await writeFile(join(scratch, INSTALLED_MARKER), `${new Date().toISOString()}\n`);
    await rm(target, { recursive: true, force: true });
    await rename(scratch, target);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  log.info({ version: manifest.version, root: target }, 'update: release installed');
  return { version: manifest.version, root: target, installed: true };
}

/** Removes installed releases other than the running one and the newest `keep` (by install time). */
export async function pruneReleases(releasesDir: string, keep: number, root = runningRoot()): Promise<string[]> {
  const entries = await readdir(releasesDir, { withFileTypes: true }).catch(() => []);
  const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => join(releasesDir, e.name));
  const dated = await Promise.all(dirs.map(async (d) => ({ d, at: await readFile(join(d, INSTALLED_MARKER), 'utf8').catch(() => '') })));
  const running = await realpath(root).catch(() => root);
  const removable = dated.filter(({ d }) => d !== running).sort((a, b) => b.at.localeCompare(a.at)).slice(keep);
  for (const { d } of removable) await rm(d, { recursive: true, force: true });
  return removable.map(({ d }) => d);
}
