import { createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import * as tar from 'tar';
import { UpdateSourceError } from '../errors.js';

/** What a release tarball says about itself (its `package/package.json`). */
export interface ReleaseManifest {
  name: string;
  version: string;
  dependencies: Record<string, string>;
}

/** The configuration key holding where candidates come from: a path on every node, or an http(s) URL. */
export const UPDATE_SOURCE_KEY = '/ovs/framework/update/source';

const isUrl = (source: string): boolean => /^https?:\/\//i.test(source);

/**
 * Makes a release tarball available as a local file: a path is used where it is (it must be a file), a URL is
 * downloaded into `dir`. Every failure is an UPDATE_SOURCE error naming the source.
 */
export async function fetchRelease(source: string, dir: string): Promise<string> {
  if (!isUrl(source)) {
    const st = await stat(source).catch(() => undefined);
    if (!st?.isFile()) throw new UpdateSourceError(`update source ${source} does not exist or is not a file`, { source });
    return source;
  }
  await mkdir(dir, { recursive: true });
  const file = join(dir, `download-${randomUUID()}.tgz`);
  let res: Response;
  try {
    res = await fetch(source, { signal: AbortSignal.timeout(120_000) });
  } catch (e) {
    throw new UpdateSourceError(`update source ${source} cannot be fetched: ${(e as Error).message}`, { source });
  }
  if (!res.ok || !res.body) throw new UpdateSourceError(`update source ${source} answered HTTP ${res.status}`, { source, status: res.status });
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file));
  return file;
}

/** Reads `package/package.json` from a release tarball without extracting it; refuses anything that is not ours. */
export async function readManifest(file: string, expectedName = 'ovs'): Promise<ReleaseManifest> {
  let text: string | undefined;
  try {
    await tar.t({
      file,
      filter: (p) => p === 'package/package.json',
      onReadEntry: (entry) => {
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => { text = Buffer.concat(chunks).toString('utf8'); });
      },
    });
  } catch (e) {
    throw new UpdateSourceError(`${file} is not a readable release tarball: ${(e as Error).message}`, { file });
  }
  if (text === undefined) throw new UpdateSourceError(`${file} has no package/package.json (not an npm pack tarball)`, { file });
  let pkg: Partial<ReleaseManifest>;
  try {
    pkg = JSON.parse(text) as Partial<ReleaseManifest>;
  } catch {
    throw new UpdateSourceError(`${file}: package/package.json is not JSON`, { file });
  }
  if (pkg.name !== expectedName || typeof pkg.version !== 'string') {
    throw new UpdateSourceError(`${file} is a release of '${String(pkg.name)}', not of '${expectedName}'`, { file, name: pkg.name ?? null });
  }
  return { name: pkg.name, version: pkg.version, dependencies: pkg.dependencies ?? {} };
}
