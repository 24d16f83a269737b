import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { z } from 'zod';

const GiB = 1024 ** 3;

/**
 * A cache directory on the remote host, checked as the original does: stripped, not empty, no `..`, no `/./`, not
 * ending in `/.`, runs of `/` collapsed. It must also be absolute (a daemon's relative path has no meaning).
 */
export const hprmCachePath = z
  .string()
  .max(4096)
  .transform((s) => s.trim())
  .refine((s) => s !== '', 'the cache path must not be empty')
  .refine((s) => !s.includes('..'), "the cache path must not contain '..'")
  .refine((s) => !s.includes('/./') && !s.endsWith('/.'), "the cache path must not contain '/./' or end with '/.'")
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'the cache path must not contain control characters')
  .refine((s) => s.startsWith('/'), 'the cache path must be absolute')
  .transform((s) => s.replace(/\/{2,}/g, '/'));

const cacheSettings = z
  .object({
    read: z.boolean(),
    write: z.boolean(),
    path: hprmCachePath.optional(),
    /** GiB */
    size: z.number().int().min(1).max(10_240).optional(),
    // The original's ALBA-backed cache; named here so the refusal can say why.
    backend_info: z.unknown().optional(),
    connection_info: z.unknown().optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.backend_info !== undefined || c.connection_info !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['backend_info'], message: 'caches on an ALBA backend do not exist in this port: give a local path and size' });
    } else if (c.path === undefined || c.size === undefined) {
      ctx.addIssue({ code: 'custom', path: [c.path === undefined ? 'path' : 'size'], message: 'a cache needs a path and a size (GiB, 1..10240)' });
    }
  });

export const hprmParameters = z
  .object({
    port: z.number().int().min(1).max(65_535),
    identifier: z.string().regex(/^[0-9a-z][-a-z0-9]{1,20}[a-z0-9]$/, 'the identifier is 3-23 of [a-z0-9-], not starting or ending with -'),
    block: cacheSettings.optional(),
    fragment: cacheSettings.optional(),
  })
  .strict()
  .refine((p) => p.block !== undefined || p.fragment !== undefined, { message: 'at least one cache type (block or fragment) is required', path: ['block'] });

export type HprmParameters = z.infer<typeof hprmParameters>;
type CacheSettings = NonNullable<HprmParameters['block']>;

export function hprmZipName(identifier: string, vpoolName: string): string {
  return `hprm_config_files_${identifier}_${vpoolName}.zip`;
}

export interface HprmContext {
  vpool: { guid: string; name: string };
  /** The vPool's backend connection (see backend-connection.ts), credentials redacted. */
  backend: Record<string, unknown>;
  natsServers: string[];
  /** The vPool's volume geometry and DTL settings (`metadata.configuration`). */
  geometry: Record<string, unknown>;
}

type CacheEntry = ['none'] | ['local', { path: string; max_size: number; cache_on_read: boolean; cache_on_write: boolean }];

function cacheEntry(c: CacheSettings | undefined): CacheEntry {
  if (!c || (!c.read && !c.write)) return ['none'];
  return ['local', { path: c.path!, max_size: c.size! * GiB, cache_on_read: c.read, cache_on_write: c.write }];
}

/** `config.json` of an HPRM bundle. */
export function hprmConfig(p: HprmParameters, c: HprmContext): Record<string, unknown> {
  return {
    identifier: p.identifier,
    ips: ['127.0.0.1'],
    port: p.port,
    transport: 'tcp',
    log_level: 'info',
    vpool: c.vpool,
    geometry: c.geometry,
    backend: c.backend,
    nats: { servers: c.natsServers },
    block_cache: cacheEntry(p.block),
    fragment_cache: cacheEntry(p.fragment),
  };
}

export function hprmReadme(p: HprmParameters, c: HprmContext): string {
  return [
    `HPRM configuration for vPool ${c.vpool.name} (${c.vpool.guid}), identifier ${p.identifier}`,
    '',
    `${p.identifier}/config.json  what a remote host needs to serve this vPool's vDisks on port ${p.port}:`,
    '  identifier, ips, port, transport  where the remote service listens (loopback and the port chosen)',
    '  vpool                            the vPool served (guid, name)',
    "  geometry                         the vPool's volume geometry and DTL settings (cluster_size, sco_size, ...)",
    "  backend                          the vPool's backend connection as its StorageDrivers use it; credentials",
    '                                   are redacted (***) and must be filled in on the remote host',
    '  nats.servers                     NATS servers of the cluster (model, configuration, object store backends)',
    '  block_cache, fragment_cache      ["none"] or ["local", {path, max_size (bytes), cache_on_read,',
    '                                   cache_on_write}]: local cache directories on the remote host',
    `${p.identifier}/README.txt   this file`,
    '',
    'Place the directory on the remote host (e.g. /etc/hprm/<identifier>/) and create the cache directories.',
    '',
  ].join('\n');
}

/** Writes the zip: `<identifier>/config.json` and `<identifier>/README.txt`. */
export async function writeHprmZip(file: string, p: HprmParameters, c: HprmContext, mtime: Date): Promise<void> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(`${JSON.stringify(hprmConfig(p, c), null, 2)}\n`), `${p.identifier}/config.json`, { mtime, mode: 0o100644 });
  zip.addBuffer(Buffer.from(hprmReadme(p, c)), `${p.identifier}/README.txt`, { mtime, mode: 0o100644 });
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(file));
}
