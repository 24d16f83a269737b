import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsAuth } from '../config/nats-auth.js';
import type { NatsContextFile } from '../config/nats-context.js';
import { NATS_ROLES_CONF, ROLE_PASSWORD_VARIABLE, type NatsRole } from './nats-roles.js';
import { ensureLocalTlsMaterial } from './tls-material.js';

export interface SecureNats {
  /** nats-server's config: TLS required, the three roles with their passwords. */
  configFile: string;
  url: string;
  /** How the embedded agent connects (user `agent`). */
  agentAuth: NatsAuth;
  /** `DIR/context.json` (user `operator`) and `DIR/reader-context.json` (user `reader`). */
  contextFile: string;
  readerContextFile: string;
  /** Bearer token of the agent's HTTP port (dashboard, /metrics), also in `DIR/context.json` as `http_token`. */
  httpToken: string;
  httpTokenFile: string;
}

/**
 * `ovs up --secure`: TLS material, one password per role and the HTTP port's bearer token under `DIR/secure` (0700,
 * kept across restarts), a nats-server config requiring TLS and passwords, and context files for clients.
 */
export async function prepareSecureNats(dataDir: string, port: number, storeDir: string): Promise<SecureNats> {
  const dir = join(dataDir, 'secure');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const tls = await ensureLocalTlsMaterial(dir);
  const passwords = await ensurePasswords(join(dir, 'passwords.json'));
  const httpTokenFile = join(dir, 'http-token');
  const httpToken = await ensureSecretFile(httpTokenFile);
  const url = `nats://127.0.0.1:${port}`;
  const variables = (Object.keys(ROLE_PASSWORD_VARIABLE) as NatsRole[]).map((r) => `${ROLE_PASSWORD_VARIABLE[r]}: ${JSON.stringify(passwords[r])}`).join('\n');
  const configFile = join(dir, 'nats.conf');
  await writeFile(
    configFile,
    `server_name: ovs-embedded\nlisten: 127.0.0.1:${port}\njetstream { store_dir: ${JSON.stringify(storeDir)} }\n` +
      `tls { cert_file: ${JSON.stringify(tls.certFile)}, key_file: ${JSON.stringify(tls.keyFile)}, timeout: 5 }\n\n${variables}\n\n${NATS_ROLES_CONF}`,
    { mode: 0o600 },
  );
  const context = (role: NatsRole): NatsContextFile => ({ description: `ovs up --secure, user ${role}`, url, user: role, password: passwords[role], ca: tls.caFile });
  const contextFile = join(dataDir, 'context.json');
  const readerContextFile = join(dataDir, 'reader-context.json');
  // Only the operator's context holds the HTTP token: the reader role is for NATS reads, not the agent's HTTP port.
  await writeFile(contextFile, JSON.stringify({ ...context('operator'), http_token: httpToken }, null, 2) + '\n', { mode: 0o600 });
  await writeFile(readerContextFile, JSON.stringify(context('reader'), null, 2) + '\n', { mode: 0o600 });
  return { configFile, url, agentAuth: { user: 'agent', password: passwords.agent, tls: { caFile: tls.caFile } }, contextFile, readerContextFile, httpToken, httpTokenFile };
}

async function ensurePasswords(file: string): Promise<Record<NatsRole, string>> {
  const known = await readFile(file, 'utf8').then((s) => JSON.parse(s) as Record<NatsRole, string>, () => undefined);
  if (known) return known;
  const fresh = { agent: secret(), operator: secret(), reader: secret() };
  await writeFile(file, JSON.stringify(fresh, null, 2) + '\n', { mode: 0o600 });
  return fresh;
}

async function ensureSecretFile(file: string): Promise<string> {
  const known = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (known !== '') return known;
  const fresh = secret();
  await writeFile(file, fresh + '\n', { mode: 0o600 });
  return fresh;
}

function secret(): string {
  return randomBytes(24).toString('base64url');
}
