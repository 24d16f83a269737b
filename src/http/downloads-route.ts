import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isDownloadName } from '../bundles/downloads.js';

export const DOWNLOADS_PREFIX = '/downloads/';

const CONTENT_TYPES: Record<string, string> = { '.tar.gz': 'application/gzip', '.tgz': 'application/gzip', '.zip': 'application/zip' };

/**
 * `GET /downloads/<name>`: one regular file directly in the downloads directory. The raw (undecoded) name must be a
 * plain download name, so `..`, `/`, `%2e%2e`, `%2f` and the like are refused with 400; a name that is not a regular
 * file there (absent, a directory, a symlink) is 404.
 */
export async function serveDownload(dir: string, rawName: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  if (!isDownloadName(rawName)) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('bad download name\n');
    return;
  }
  const file = join(dir, rawName);
  const st = await lstat(file).catch(() => undefined);
  if (!st?.isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  const type = Object.entries(CONTENT_TYPES).find(([ext]) => rawName.endsWith(ext))?.[1] ?? 'application/octet-stream';
  res.writeHead(200, { 'content-type': type, 'content-length': st.size, 'content-disposition': `attachment; filename="${rawName}"` });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // Headers are out: a failed read can only cut the response short (the caller's 500 would throw now).
  await pipeline(createReadStream(file), res).catch(() => res.destroy());
}
