import { loadNatsContext, contextOptionNames } from '../config/nats-context.js';
import { overlayNatsAuth, type NatsAuth, type NatsAuthKey, type OptionNames } from '../config/nats-auth.js';

/** The connection options every `ovs` command takes (`--context`, credentials, TLS); set once before the action runs. */
export interface ConnectionFlags {
  context?: string;
  user?: string;
  password?: string;
  token?: string;
  nkey?: string;
  creds?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

let current: ConnectionFlags = {};

export function setConnectionFlags(flags: ConnectionFlags): void {
  current = flags;
}

export function connectionFlags(): ConnectionFlags {
  return current;
}

export const FLAG_NAMES: OptionNames = {
  user: '--user', password: '--password', token: '--token', nkeySeedFile: '--nkey', credsFile: '--creds',
  'tls.caFile': '--tls-ca', 'tls.certFile': '--tls-cert', 'tls.keyFile': '--tls-key',
};

export interface ResolvedConnection {
  /** Comma-separated URLs: `--nats`, else the context's url, else `$OVS_NATS_URL`, else the local default. */
  urls?: string;
  auth: NatsAuth;
  /** Where each option came from, for errors. */
  names: OptionNames;
}

/** Flags over the context file: credentials given as flags replace the context's; TLS files one by one. */
export function resolveConnection(urls: string | undefined, flags: ConnectionFlags = current): ResolvedConnection {
  const ctx = flags.context ? loadNatsContext(flags.context) : { auth: {} as NatsAuth };
  const fromFlags = authFromFlags(flags);
  const fromContext = flags.context ? contextOptionNames(flags.context) : {};
  const names: OptionNames = {};
  for (const key of Object.keys(FLAG_NAMES) as NatsAuthKey[]) names[key] = flagGiven(flags, key) ? FLAG_NAMES[key] : (fromContext[key] ?? FLAG_NAMES[key]);
  return { urls: urls ?? ctx.url, auth: overlayNatsAuth(ctx.auth, fromFlags), names };
}

export function authFromFlags(flags: ConnectionFlags): NatsAuth {
  const tls = { caFile: flags.tlsCa, certFile: flags.tlsCert, keyFile: flags.tlsKey };
  return overlayNatsAuth({}, { user: flags.user, password: flags.password, token: flags.token, nkeySeedFile: flags.nkey, credsFile: flags.creds, tls });
}

const FLAG_KEYS: Record<NatsAuthKey, keyof ConnectionFlags> = {
  user: 'user', password: 'password', token: 'token', nkeySeedFile: 'nkey', credsFile: 'creds', 'tls.caFile': 'tlsCa', 'tls.certFile': 'tlsCert', 'tls.keyFile': 'tlsKey',
};

export function flagGiven(flags: ConnectionFlags, key: NatsAuthKey): boolean {
  return flags[FLAG_KEYS[key]] !== undefined;
}
