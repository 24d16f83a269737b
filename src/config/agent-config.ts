import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { checkNatsAuth, natsAuthSchema, overlayNatsAuth, type NatsAuth, type NatsAuthKey } from './nats-auth.js';
import { loadNatsContext } from './nats-context.js';
import { httpTokenProblem } from '../http/bearer-auth.js';

/** `/etc/ovs/agent.json` (or `--config`), then `OVS_*` environment, then flags; validated once at start. */
const schema = z
  .object({
    natsUrl: z.string().regex(/^(nats|tls):\/\/[^,\s]+(,(nats|tls):\/\/[^,\s]+)*$/, 'natsUrl is nats://host:port (or tls://), or several separated by commas').default('nats://127.0.0.1:4222'),
    natsAuth: natsAuthSchema.optional(),
    dataDir: z.string().min(1).default('/var/lib/ovs'),
    name: z.string().min(1).max(255).optional(),
    ip: z.string().min(1).max(64).optional(),
    httpPort: z.number().int().min(0).max(65535).optional(),
    httpHost: z.string().optional(),
    httpToken: z.string().superRefine((t, ctx) => {
      const problem = httpTokenProblem(t);
      if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
    }).optional(),
    leaseTtlMs: z.number().int().min(100).max(600_000).optional(),
    heartbeatMs: z.number().int().min(50).max(3_600_000).optional(),
    testTasks: z.boolean().optional(),
    testMode: z.boolean().optional(),
    joinQueue: z.boolean().optional(),
    readyFile: z.string().optional(),
    nodeHeartbeatMs: z.number().int().min(100).max(60_000).optional(),
    kvReplicas: z.number().int().min(1).max(5).optional(),
    schedulerTickMs: z.number().int().min(100).max(600_000).optional(),
    testCrashLoopMs: z.number().int().min(10).optional(),
    paths: z.object({ mountRoot: z.string().optional(), infinibandRoot: z.string().optional() }).optional(),
  })
  .strict();

export type AgentConfig = z.infer<typeof schema>;

export async function loadAgentConfig(flags: Record<string, unknown>): Promise<AgentConfig> {
  const file = typeof flags.config === 'string' ? (JSON.parse(await readFile(flags.config, 'utf8')) as Record<string, unknown>) : {};
  const env: Record<string, unknown> = {};
  if (process.env.OVS_NATS_URL) env.natsUrl = process.env.OVS_NATS_URL;
  if (process.env.OVS_DATA_DIR) env.dataDir = process.env.OVS_DATA_DIR;
  if (process.env.OVS_HTTP_TOKEN !== undefined) env.httpToken = process.env.OVS_HTTP_TOKEN;
  const fromFlags: Record<string, unknown> = {
    natsUrl: flags.nats,
    dataDir: flags.dataDir,
    name: flags.name,
    ip: flags.ip,
    httpPort: flags.httpPort,
    leaseTtlMs: flags.leaseTtlMs,
    heartbeatMs: flags.heartbeatMs,
    testTasks: flags.testTasks,
    testMode: flags.testMode,
    joinQueue: flags.queue === false ? false : undefined,
    readyFile: process.env.OVS_READY_FILE,
    nodeHeartbeatMs: flags.nodeHeartbeatMs,
    testCrashLoopMs: flags.testCrashLoopMs,
    schedulerTickMs: flags.schedulerTickMs,
    paths: flags.mountRoot ? { mountRoot: flags.mountRoot } : undefined,
  };
  const merged = { ...file, ...env, ...Object.fromEntries(Object.entries(fromFlags).filter(([, v]) => v !== undefined)) };
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    throw new Error(`invalid agent configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return withNatsAuth(parsed.data, flags);
}

const AUTH_FLAGS: Record<NatsAuthKey, [flag: string, key: string, env?: string]> = {
  user: ['--user', 'user', 'OVS_NATS_USER'],
  password: ['--password', 'password', 'OVS_NATS_PASSWORD'],
  token: ['--token', 'token', 'OVS_NATS_TOKEN'],
  nkeySeedFile: ['--nkey', 'nkey'],
  credsFile: ['--creds', 'creds'],
  'tls.caFile': ['--tls-ca', 'tlsCa'],
  'tls.certFile': ['--tls-cert', 'tlsCert'],
  'tls.keyFile': ['--tls-key', 'tlsKey'],
};

/**
 * `natsAuth` of the file, then `--context` (its url and credentials), then credentials from the environment and
 * flags (which replace the others' auth mode; TLS files one by one); checked here, before any connection.
 */
function withNatsAuth(cfg: AgentConfig, flags: Record<string, unknown>): AgentConfig {
  const ctx = typeof flags.context === 'string' ? loadNatsContext(flags.context) : undefined;
  const given = (key: NatsAuthKey): string | undefined => {
    const [, flagKey, env] = AUTH_FLAGS[key];
    const v = flags[flagKey] ?? (env ? process.env[env] : undefined);
    return typeof v === 'string' ? v : undefined;
  };
  const top: NatsAuth = {
    user: given('user'), password: given('password'), token: given('token'), nkeySeedFile: given('nkeySeedFile'), credsFile: given('credsFile'),
    tls: { caFile: given('tls.caFile'), certFile: given('tls.certFile'), keyFile: given('tls.keyFile') },
  };
  const auth = overlayNatsAuth(overlayNatsAuth(cfg.natsAuth ?? {}, ctx?.auth ?? {}), top);
  const names = Object.fromEntries(
    (Object.keys(AUTH_FLAGS) as NatsAuthKey[]).map((k) => [k, given(k) !== undefined ? AUTH_FLAGS[k][0] : `natsAuth.${k}`]),
  );
  checkNatsAuth(auth, names);
  const natsUrl = flags.nats === undefined && ctx?.url !== undefined ? ctx.url : cfg.natsUrl;
  return { ...cfg, natsUrl, ...(Object.keys(auth).length > 0 ? { natsAuth: auth } : {}) };
}
