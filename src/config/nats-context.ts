import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { NatsConnectionConfigError } from '../errors/security.js';
import type { NatsAuth } from './nats-auth.js';

/** A connection context file, in the spirit of `nats context`: where the cluster is and how to prove who you are. */
const contextSchema = z
  .object({
    url: z.string().min(1).optional(),
    user: z.string().min(1).optional(),
    password: z.string().optional(),
    token: z.string().min(1).optional(),
    nkey: z.string().min(1).optional(),
    creds: z.string().min(1).optional(),
    ca: z.string().min(1).optional(),
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    description: z.string().optional(),
    /** The agent's HTTP bearer token (`ovs up --secure` writes it here); not used for NATS. */
    http_token: z.string().min(1).optional(),
  })
  .strict();

export type NatsContextFile = z.infer<typeof contextSchema>;

export interface NatsContext {
  url?: string;
  auth: NatsAuth;
}

/** Reads a context file; relative file paths in it are relative to the file. Throws a typed error naming `option`. */
export function loadNatsContext(file: string, option = '--context'): NatsContext {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new NatsConnectionConfigError(option, `cannot read context file ${file}: ${(e as Error).message}`);
  }
  const parsed = contextSchema.safeParse(raw);
  if (!parsed.success) {
    throw new NatsConnectionConfigError(option, `context file ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const c = parsed.data;
  const path = (p: string | undefined): string | undefined => (p === undefined ? undefined : resolve(dirname(file), p));
  const tls = { caFile: path(c.ca), certFile: path(c.cert), keyFile: path(c.key) };
  const auth: NatsAuth = {
    ...(c.user !== undefined ? { user: c.user } : {}),
    ...(c.password !== undefined ? { password: c.password } : {}),
    ...(c.token !== undefined ? { token: c.token } : {}),
    ...(c.nkey !== undefined ? { nkeySeedFile: path(c.nkey) } : {}),
    ...(c.creds !== undefined ? { credsFile: path(c.creds) } : {}),
    ...(Object.values(tls).some((v) => v !== undefined) ? { tls: Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined)) } : {}),
  };
  return { ...(c.url !== undefined ? { url: c.url } : {}), auth };
}

/** The option names of a context file's fields, for errors found later (a file it names that is missing). */
export function contextOptionNames(file: string): Record<string, string> {
  const at = (k: string): string => `${k} in context ${file}`;
  return {
    user: at('user'), password: at('password'), token: at('token'), nkeySeedFile: at('nkey'), credsFile: at('creds'),
    'tls.caFile': at('ca'), 'tls.certFile': at('cert'), 'tls.keyFile': at('key'),
  };
}
