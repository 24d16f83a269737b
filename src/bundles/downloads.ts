import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BadRequestError } from '../errors.js';

/** Where an agent keeps what operators download from its HTTP port (`/downloads/<name>`): support bundles, HPRM zips. */
export function downloadsDirOf(dataDir: string): string {
  return join(dataDir, 'downloads');
}

// One path component of a conservative alphabet: no separators, no `%` (so no encoded tricks), no leading dot (the
// temporary files being written are hidden that way), no `..` anywhere.
const DOWNLOAD_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

export function isDownloadName(name: string): boolean {
  return DOWNLOAD_NAME.test(name) && !name.includes('..');
}

/** A free-form name (a StorageRouter's, a vPool's) made fit for a download name. */
export function downloadNamePart(s: string): string {
  const cleaned = s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/\.{2,}/g, '_').replace(/^[._-]+/, '');
  return cleaned === '' ? 'unnamed' : cleaned.slice(0, 64);
}

/**
 * Writes a download under a hidden temporary name and renames it into place, so the HTTP port never serves half a
 * file. Returns the full path.
 */
export async function publishDownload(dir: string, name: string, write: (tmpPath: string) => Promise<void>): Promise<string> {
  if (!isDownloadName(name)) throw new BadRequestError(`'${name}' is not a valid download name`, { name });
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${name}.${randomBytes(4).toString('hex')}.partial`);
  try {
    await write(tmp);
    await rename(tmp, join(dir, name));
  } finally {
    await rm(tmp, { force: true });
  }
  return join(dir, name);
}

/** Keeps the `keep` newest downloads whose names match; returns the names removed. */
export async function pruneDownloads(dir: string, matches: (name: string) => boolean, keep: number): Promise<string[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => isDownloadName(n) && matches(n));
  const dated = await Promise.all(names.map(async (name) => ({ name, mtime: (await stat(join(dir, name)).catch(() => undefined))?.mtimeMs ?? 0 })));
  dated.sort((a, b) => b.mtime - a.mtime || b.name.localeCompare(a.name));
  const drop = dated.slice(keep).map((d) => d.name);
  await Promise.all(drop.map((n) => rm(join(dir, n), { force: true })));
  return drop;
}
