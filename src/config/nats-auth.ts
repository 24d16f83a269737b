import { accessSync, constants, readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, type ConnectionOptions } from 'nats';
import { z } from 'zod';
import { NatsConnectionConfigError } from '../errors/security.js';

/** How a process proves who it is to NATS and checks the server: one of the four auth modes, optional TLS. */
export const natsAuthSchema = z
  .object({
    user: z.string().min(1).optional(),
    password: z.string().optional(),
    token: z.string().min(1).optional(),
    nkeySeedFile: z.string().min(1).optional(),
    credsFile: z.string().min(1).optional(),
    tls: z.object({ caFile: z.string().min(1).optional(), certFile: z.string().min(1).optional(), keyFile: z.string().min(1).optional() }).strict().optional(),
  })
  .strict();

export type NatsAuth = z.infer<typeof natsAuthSchema>;
export type NatsAuthKey = 'user' | 'password' | 'token' | 'nkeySeedFile' | 'credsFile' | 'tls.caFile' | 'tls.certFile' | 'tls.keyFile';

/** How an option is called where it was given (a config key, a CLI flag); errors name it that way. */
export type OptionNames = Partial<Record<NatsAuthKey, string>>;

const AUTH_MODES = ['user', 'token', 'nkeySeedFile', 'credsFile'] as const;

/** Throws {@link NatsConnectionConfigError} naming the first option that cannot work; reads nothing but file access. */
export function checkNatsAuth(auth: NatsAuth, names: OptionNames = {}): void {
  const name = (k: NatsAuthKey): string => names[k] ?? k;
  const given = AUTH_MODES.filter((m) => auth[m] !== undefined);
  if (given.length > 1) throw new NatsConnectionConfigError(name(given[1]!), `cannot be combined with ${name(given[0]!)}: give one way to authenticate`);
  if (auth.password !== undefined && auth.user === undefined) throw new NatsConnectionConfigError(name('password'), `needs ${name('user')}`);
  if (auth.user !== undefined && auth.password === undefined) throw new NatsConnectionConfigError(name('user'), `needs ${name('password')}`);
  const tls = auth.tls ?? {};
  if (tls.certFile !== undefined && tls.keyFile === undefined) throw new NatsConnectionConfigError(name('tls.certFile'), `needs ${name('tls.keyFile')}`);
  if (tls.keyFile !== undefined && tls.certFile === undefined) throw new NatsConnectionConfigError(name('tls.keyFile'), `needs ${name('tls.certFile')}`);
  const files: [NatsAuthKey, string | undefined][] = [
    ['nkeySeedFile', auth.nkeySeedFile], ['credsFile', auth.credsFile], ['tls.caFile', tls.caFile], ['tls.certFile', tls.certFile], ['tls.keyFile', tls.keyFile],
  ];
  for (const [key, file] of files) {
    if (file === undefined) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch {
      throw new NatsConnectionConfigError(name(key), `cannot read file ${file}`);
    }
  }
}

/** The nats.js connect options for `auth` (checked first); spread them into `connect({ servers, ... })`. */
export function natsConnectOptions(auth: NatsAuth, names: OptionNames = {}): Partial<ConnectionOptions> {
  checkNatsAuth(auth, names);
  const out: Partial<ConnectionOptions> = {};
  if (auth.user !== undefined) {
    out.user = auth.user;
    out.pass = auth.password;
  }
  if (auth.token !== undefined) out.token = auth.token;
  if (auth.nkeySeedFile !== undefined) out.authenticator = nkeyAuthenticator(new TextEncoder().encode(readFileSync(auth.nkeySeedFile, 'utf8').trim()));
  if (auth.credsFile !== undefined) out.authenticator = credsAuthenticator(new Uint8Array(readFileSync(auth.credsFile)));
  if (auth.tls && Object.values(auth.tls).some((v) => v !== undefined)) out.tls = { ...auth.tls };
  return out;
}

/** Whether any auth or TLS option is set (a plain connection otherwise). */
export function hasNatsAuth(auth: NatsAuth): boolean {
  return AUTH_MODES.some((m) => auth[m] !== undefined) || Object.values(auth.tls ?? {}).some((v) => v !== undefined);
}

/** `top` over `base`: credentials given in `top` replace all of `base`'s (one auth mode); TLS files one by one. */
export function overlayNatsAuth(base: NatsAuth, top: NatsAuth): NatsAuth {
  const { tls: baseTls, ...baseCreds } = base;
  const { tls: topTls, ...topCreds } = top;
  const creds = Object.values(topCreds).some((v) => v !== undefined) ? topCreds : baseCreds;
  const tls = { ...baseTls, ...Object.fromEntries(Object.entries(topTls ?? {}).filter(([, v]) => v !== undefined)) };
  return { ...Object.fromEntries(Object.entries(creds).filter(([, v]) => v !== undefined)), ...(Object.keys(tls).length > 0 ? { tls } : {}) };
}
