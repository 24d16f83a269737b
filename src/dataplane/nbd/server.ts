import { createServer, Socket, type Server } from 'node:net';
import { pino, type Logger } from 'pino';
import type { NbdExports, NbdForwarding, NbdVolume } from './export.js';
import { Handshake, type HandshakeStep } from './handshake.js';
import { greeting } from './protocol.js';
import { Receiver } from './receiver.js';
import { Relay } from './relay.js';
import { acceptTls, feedReceiver, type NbdTls } from './tls.js';
import { Transmission } from './transmission.js';
import { openUpstream, type UpstreamExport } from './upstream.js';

export interface NbdServerOptions {
  /** Listen address when `listen` is given none (default 127.0.0.1). */
  host?: string;
  /** Requests of one connection executing at once; at the cap the socket is paused (default 16). */
  maxInFlightPerConnection?: number;
  log?: Logger;
  /** Exports served by other nodes: the connection is relayed to their owner instead of being refused. */
  forwarding?: NbdForwarding;
  /**
   * A request to a halted volume (moved away, stopping) closes the connection without a reply instead of failing
   * with ESHUTDOWN: a reconnecting client then retries it wherever the volume is served now.
   */
  disconnectWhenHalted?: boolean;
  /** How long a refused forward is retried (default 10 s): the client waits rather than being refused mid-move. */
  forwardRetryMs?: number;
  /** STARTTLS with this x509 material (see loadNbdTls); absent: plain only. */
  tls?: NbdTls;
}

export interface NbdConnectionInfo {
  export: string;
  ip: string;
  port: number;
}

/** How long a forwarding edge keeps asking who owns an export whose owner refused it (a move in progress). */
const FORWARD_RETRY_MS = 10_000;
const FORWARD_RETRY_PAUSE_MS = 100;

/** How long a closing connection may take to flush its last replies before it is destroyed. */
const END_GRACE_MS = 5_000;

/**
 * Moves an accepted socket's handle into a new Socket that reads into memory we choose (`onread`), which net.Server
 * cannot give accepted sockets. The accepted socket must not have started reading (pauseOnConnect); it is destroyed
 * without its handle, so the handle stays open.
 */
function adoptWithOnread(accepted: Socket, rx: Receiver): Socket {
  const husk = accepted as unknown as { _handle: unknown };
  const handle = husk._handle;
  if (!handle) throw new Error('accepted socket has no handle');
  husk._handle = null;
  accepted.destroy();
  const opts = { handle, allowHalfOpen: true, readable: true, writable: true, onread: { buffer: rx.nextBuffer, callback: rx.onRead } };
  return new Socket(opts);
}

/** One client connection: handshake, then transmission, over one receiver. */
class Connection {
  readonly ip: string;
  readonly port: number;
  exportName: string | undefined;
  /** Resolves when the socket is closed and nothing is in flight. */
  readonly done: Promise<void>;
  /** The accepted socket, then the TLS socket over it after STARTTLS. */
  private socket: Socket;
  private readonly q: Receiver;
  private readonly handshake: Handshake;
  private transmission: Transmission | undefined;
  private volume: NbdVolume | undefined;
  private relay: Relay | undefined;
  private resolving = false;
  private upgrading = false;
  private ended = false;
  private socketClosed = false;

  constructor(
    accepted: Socket,
    exports: NbdExports,
    private readonly maxInFlight: number,
    private readonly log: Logger,
    private readonly opts: NbdServerOptions,
  ) {
    this.ip = accepted.remoteAddress ?? '';
    this.port = accepted.remotePort ?? 0;
    this.q = new Receiver(() => this.guard(() => {
      if (this.ended || this.transmission?.stopped) return this.q.clear(); // nothing more is parsed: drop, do not buffer
      this.pump();
    }));
    const socket = (this.socket = adoptWithOnread(accepted, this.q));
    this.handshake = new Handshake(exports, (b) => this.write(b), log, opts.forwarding !== undefined, opts.tls?.mode ?? 'off');
    this.done = new Promise<void>((resolve) => {
      this.onClose = () => {
        if (this.socketClosed) return;
        this.socketClosed = true;
        this.q.clear();
        const relay = this.relay;
        if (relay) {
          relay.close();
          void relay.done.then(resolve);
          return;
        }
        const t = this.transmission;
        if (!t) return resolve();
        t.abandon();
        void t.idle().then(resolve);
      };
    });
    socket.setNoDelay(true);
    this.listen(socket);
    this.write(greeting());
  }

  private onClose: () => void = () => undefined;

  /** Events of the socket this connection speaks through; a socket replaced by its TLS socket only reports closing. */
  private listen(socket: Socket): void {
    socket.once('close', () => this.onClose());
    socket.on('error', (err) => this.log.debug({ err }, 'nbd: socket error'));
    socket.on('end', () => this.guard(() => {
      if (socket !== this.socket) return;
      // The client half-closed: nothing more will arrive. Answer what is in flight, then close.
      if (this.relay) this.relay.clientEnded();
      else if (this.transmission) this.transmission.endOfInput();
      else this.end();
    }));
    socket.on('drain', () => this.guard(() => {
      if (socket !== this.socket) return;
      this.transmission?.pump();
      this.relay?.clientDrained();
    }));
  }

  /** STARTTLS was acknowledged: the TLS handshake, then negotiation goes on over the TLS socket. */
  private async startTls(): Promise<void> {
    const raw = this.socket;
    const tls = this.opts.tls;
    if (!tls) return this.end();
    try {
      const secure = await acceptTls(raw, tls);
      if (this.closed) {
        secure.destroy();
        return;
      }
      this.socket = secure;
      this.listen(secure);
      secure.once('close', () => raw.destroy());
      secure.on('data', (d: Buffer) => this.guard(() => {
        if (this.socket === secure) feedReceiver(this.q, d);
      }));
      this.handshake.secured();
      this.upgrading = false;
      this.log.debug({ protocol: secure.getProtocol(), authorized: secure.authorized }, 'nbd: TLS established');
    } catch (err) {
      this.log.info({ err: (err as Error).message }, 'nbd: TLS handshake failed, closing');
      raw.destroy();
    }
  }

  /** Server shutdown: negotiation is cut off, transmission finishes its in-flight requests first. */
  shutdown(): void {
    this.guard(() => {
      if (this.relay) this.relay.close();
      else if (this.transmission) this.transmission.finish('server shutting down');
      else this.end();
    });
  }

  /** The volume of this connection left this node: the client reconnects (and is forwarded to its new owner). */
  dropIfServing(volumeId: string): boolean {
    if (this.volume?.id !== volumeId || this.closed) return false;
    this.log.info({ export: this.exportName, volume_id: volumeId }, 'nbd: volume no longer served here, closing the connection');
    this.socket.destroy();
    return true;
  }

  get closed(): boolean {
    return this.socketClosed || this.ended;
  }

  private pump(): void {
    if (!this.relay && !this.transmission) {
      // While resolving, the bytes wait in the receiver until the export is answered.
      if (this.resolving || this.upgrading || !this.begin(this.handshake.step(this.q))) return;
    }
    if (this.relay) this.relay.fromClient();
    else this.transmission?.pump();
  }

  /** Acts on a negotiation step; true when the transmission phase (local or relayed) has begun. */
  private begin(step: HandshakeStep): boolean {
    switch (step.kind) {
      case 'more':
        return false;
      case 'close':
        this.log.debug({ reason: step.reason }, 'nbd: closing during negotiation');
        this.end();
        return false;
      case 'starttls':
        // A client must wait for the ACK before its TLS hello: anything already queued is a protocol violation.
        if (this.q.length > 0) {
          this.end();
          return false;
        }
        this.upgrading = true;
        void this.startTls();
        return false;
      case 'resolve':
        this.resolving = true;
        void this.resolve(step.code, step.name);
        return false;
      case 'forward':
        this.exportName = step.name;
        this.relay = new Relay(this.socket, this.q, step.upstream, () => this.end());
        return true;
      case 'transmission':
        this.exportName = step.name;
        this.volume = step.volume;
        this.log.info({ export: step.name, size: step.volume.size, readOnly: step.volume.readOnly }, 'nbd: client attached');
        this.transmission = new Transmission(this.socket, this.q, step.volume, this.maxInFlight, this.log, () => this.end(), this.opts.disconnectWhenHalted ?? false);
        return true;
    }
  }

  /** An export not served here: a volume that appears here meanwhile, the owner's edge, or the refusal. */
  private async resolve(code: number, name: string): Promise<void> {
    let answer: { volume: NbdVolume } | { upstream: UpstreamExport } | undefined;
    const deadline = Date.now() + (this.opts.forwardRetryMs ?? FORWARD_RETRY_MS);
    try {
      for (;;) {
        const found = await this.opts.forwarding?.resolve(name, { forward: this.handshake.mayForward });
        if (!found || 'volume' in found) {
          answer = found;
          break;
        }
        const target = `${found.target.host}:${found.target.port}`;
        try {
          answer = { upstream: await openUpstream(found.target, name, this.opts.tls) };
          this.log.info({ export: name, target, node: found.target.node }, 'nbd: forwarding to the owner');
          break;
        } catch (err) {
          // During a move the owner we know of may have just handed the volume on: ask again who has it.
          if (this.closed || Date.now() >= deadline) throw err;
          this.log.debug({ err, export: name, target }, 'nbd: the owner refused the export, resolving again');
          await new Promise((r) => setTimeout(r, FORWARD_RETRY_PAUSE_MS));
        }
      }
    } catch (err) {
      this.log.warn({ err, export: name }, 'nbd: the export could not be forwarded');
    }
    this.resolving = false;
    this.guard(() => {
      if (this.closed) {
        if (answer && 'upstream' in answer) answer.upstream.socket.destroy();
        return;
      }
      const step = this.handshake.resolved(code, name, answer);
      if (step) this.begin(step);
      this.pump();
    });
  }

  private write(b: Buffer): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(b);
  }

  /** Sends what is queued, then closes; destroys after a grace period if the peer does not read. */
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.q.clear();
    const s = this.socket;
    if (s.destroyed) return;
    const timer = setTimeout(() => s.destroy(), END_GRACE_MS);
    timer.unref();
    s.once('close', () => clearTimeout(timer));
    s.end(() => s.destroy());
  }

  /** Runs a socket callback; an unexpected exception closes this connection only. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, 'nbd: internal error, dropping connection');
      this.socket.destroy();
    }
  }
}

/** NBD server (fixed newstyle, simple replies) exporting `NbdExports` — see spec C10. */
export class NbdServer {
  private readonly server: Server;
  private readonly conns = new Set<Connection>();
  private readonly log: Logger;
  private readonly maxInFlight: number;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly exports: NbdExports,
    private readonly opts: NbdServerOptions = {},
  ) {
    this.log = opts.log ?? pino({ level: 'silent' });
    this.maxInFlight = Math.max(1, opts.maxInFlightPerConnection ?? 16);
    // pauseOnConnect: each accepted socket's handle moves to a socket reading through a Receiver (adoptWithOnread).
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => this.accept(s));
    this.server.on('error', (err) => this.log.error({ err }, 'nbd: server error'));
  }

  /** Starts listening; resolves with the actual port (pass 0 for an ephemeral one). */
  listen(port: number, host?: string): Promise<number> {
    const h = host ?? this.opts.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, h, () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        const actual = typeof addr === 'object' && addr ? addr.port : port;
        this.log.info({ host: h, port: actual }, 'nbd: listening');
        resolve(actual);
      });
    });
  }

  /** Stops accepting, lets every connection finish its in-flight requests, closes them all. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  /** Attached clients (transmission phase): export name and remote address. */
  connections(): NbdConnectionInfo[] {
    const out: NbdConnectionInfo[] = [];
    for (const c of this.conns) if (c.exportName !== undefined && !c.closed) out.push({ export: c.exportName, ip: c.ip, port: c.port });
    return out;
  }

  /** Closes the connections serving a volume that is no longer served here (moved away); returns how many. */
  dropVolume(volumeId: string): number {
    let n = 0;
    for (const c of this.conns) if (c.dropIfServing(volumeId)) n++;
    return n;
  }

  private async doClose(): Promise<void> {
    const listening = new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
    for (const c of this.conns) c.shutdown();
    await Promise.all([...this.conns].map((c) => c.done));
    await listening;
    this.log.info('nbd: server closed');
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const log = this.log.child({ client: `${socket.remoteAddress}:${socket.remotePort}` });
    const conn = new Connection(socket, this.exports, this.maxInFlight, log, this.opts);
    this.conns.add(conn);
    void conn.done.then(() => this.conns.delete(conn));
  }
}
