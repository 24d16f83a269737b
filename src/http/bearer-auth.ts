import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Probes of load balancers and supervisors answer without a token: they say no more than "alive" and "ready". */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** Cookie a browser gets after opening the dashboard once with `?token=`. */
export const TOKEN_COOKIE = 'ovs_http_token';

/** Shortest accepted token: the HTTP port may face a network, a guessable token is no protection. */
export const MIN_TOKEN_LENGTH = 16;

/** Why a token is unusable, or undefined when it is fine (checked when the agent starts). */
export function httpTokenProblem(token: string): string | undefined {
  if (token.length < MIN_TOKEN_LENGTH) return `must be at least ${MIN_TOKEN_LENGTH} characters`;
  // It travels in a header and a cookie: base64, base64url and hex fit, separators such as ; , " do not.
  if (!/^[A-Za-z0-9._~+/=-]+$/.test(token)) return 'may hold only letters, digits and . _ ~ + / = -';
  return undefined;
}

/** Equal-length digests, so the comparison takes the same time whatever the guess. */
function sameToken(given: string, token: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === TOKEN_COOKIE) return v.join('=');
  }
  return undefined;
}

/**
 * Checks a request against the agent's bearer token; answers it (401, or the redirect that turns `?token=` into a
 * cookie) and returns false when the route must not run.
 */
export function admit(req: IncomingMessage, res: ServerResponse, token: string | undefined): boolean {
  if (token === undefined) return true;
  const url = new URL(req.url ?? '/', 'http://agent');
  if (OPEN_PATHS.has(url.pathname)) return true;
  const auth = req.headers.authorization;
  const bearer = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
  if (bearer !== undefined ? sameToken(bearer, token) : sameToken(cookieToken(req) ?? '', token)) return true;
  const query = url.searchParams.get('token');
  if (url.pathname === '/' && query !== null && sameToken(query, token)) {
    // The dashboard opened once with its token: the browser keeps it in a cookie, the address bar loses it.
    res.writeHead(303, { location: '/', 'set-cookie': `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/` }).end();
    return false;
  }
  res.writeHead(401, { 'www-authenticate': 'Bearer realm="ovs"', 'content-type': 'text/plain' }).end('unauthorized: Authorization: Bearer <token> required\n');
  return false;
}
