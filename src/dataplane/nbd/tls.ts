import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { NbdTlsMode } from './handshake.js';
import type { Receiver } from './receiver.js';

/** x509 material of an NBD edge (PEM files on this node). */
export interface NbdTlsFiles {
  cert_file: string;
  key_file: string;
  /** With a CA, clients must present a certificate it signed (and the owner's edge is verified against it). */
  ca_file?: string;
  /** false: STARTTLS is offered but plain clients are served too. Default true. */
  require?: boolean;
}

/** What the NBD server and the forwarding client need: the mode, the PEM material, the peer checks. */
export interface NbdTls {
  mode: Exclude<NbdTlsMode, 'off'>;
  /** Client certificates are requested and must chain to `ca`. */
  verifyClients: boolean;
  ca?: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** Time a client has to finish the TLS handshake after STARTTLS was acknowledged. */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Reads the PEM files; throws (fs errors, bad PEM) so a misconfigured vPool fails at start, not at the first client. */
export function loadNbdTls(files: NbdTlsFiles): NbdTls {
  const cert = readFileSync(files.cert_file);
  const key = readFileSync(files.key_file);
  const ca = files.ca_file ? readFileSync(files.ca_file) : undefined;
  createSecureContext({ cert, key, ca }); // a key that does not match its certificate, or bad PEM, fails here
  return { mode: files.require === false ? 'optional' : 'required', verifyClients: ca !== undefined, ca, cert, key };
}

/**
 * Server side of STARTTLS on an accepted socket. A throwaway tls.Server (never listening) takes the socket, so Node's
 * own handshake and client-certificate checks apply; it resolves with the TLS socket once the handshake succeeded.
 */
export function acceptTls(raw: Socket, tls: NbdTls): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    // tls.Server builds its context from the PEM material (a `secureContext` option would be ignored).
    const server = createTlsServer({
      cert: tls.cert,
      key: tls.key,
      ca: tls.ca,
      minVersion: 'TLSv1.2',
      requestCert: tls.verifyClients,
      rejectUnauthorized: tls.verifyClients,
      handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    });
    server.once('secureConnection', (s: TLSSocket) => resolve(s));
    server.once('tlsClientError', (err: Error, s: TLSSocket) => {
      s.destroy();
      raw.destroy();
      reject(err);
    });
    raw.once('close', () => reject(new Error('the client closed the connection during the TLS handshake')));
    server.emit('connection', raw);
  });
}

/** Client side of STARTTLS (a forwarding edge to the owner): the owner's certificate is checked for its storage IP. */
export function connectTls(raw: Socket, tls: NbdTls, host: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ socket: raw, ca: tls.ca, cert: tls.cert, key: tls.key, host, servername: isIp(host) ? undefined : host, minVersion: 'TLSv1.2' });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/** Hands bytes read from a socket that cannot read into the receiver's memory itself (a TLS socket) to the receiver. */
export function feedReceiver(rx: Receiver, data: Buffer): void {
  let at = 0;
  while (at < data.length) {
    const into = rx.nextBuffer();
    const n = Math.min(into.length, data.length - at);
    data.copy(into, 0, at, at + n);
    at += n;
    rx.onRead(n);
  }
}
