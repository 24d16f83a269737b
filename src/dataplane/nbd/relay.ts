import type { Socket } from 'node:net';
import type { Receiver } from './receiver.js';
import type { UpstreamExport } from './upstream.js';

/**
 * The transmission phase of a forwarded connection: bytes go both ways unchanged between the client and the owner's
 * edge, with backpressure each way. Either side closing closes the other: a client whose owner went away
 * reconnects and is forwarded to wherever the export is then.
 */
export class Relay {
  private closed = false;
  readonly done: Promise<void>;

  constructor(
    private readonly client: Socket,
    private readonly rx: Receiver,
    private readonly upstream: UpstreamExport,
    /** Ends the client side (after what is queued to it has been sent). */
    private readonly endClient: () => void,
  ) {
    const up = upstream.socket;
    this.done = new Promise((resolve) => up.once('close', () => resolve()));
    up.on('data', (d: Buffer) => {
      if (!this.client.write(d)) up.pause();
    });
    up.on('end', () => this.close());
    up.on('close', () => this.close());
    up.on('error', () => this.close());
    if (upstream.leftover.length > 0) client.write(upstream.leftover);
    up.resume();
    this.fromClient();
  }

  /** The client socket drained: the owner's replies may flow again. */
  clientDrained(): void {
    if (!this.closed) this.upstream.socket.resume();
  }

  /** Bytes arrived from the client (the receiver holds them): pass them on. */
  fromClient(): void {
    const n = this.rx.length;
    if (n === 0) return;
    const bytes = Buffer.from(this.rx.take(n)); // copy: the receive buffer is reused by the next read
    if (this.closed) return;
    if (!this.upstream.socket.write(bytes)) {
      this.client.pause();
      this.upstream.socket.once('drain', () => {
        if (!this.closed) this.client.resume();
      });
    }
  }

  /** The client half-closed: so does the owner's side, which then finishes and closes. */
  clientEnded(): void {
    if (!this.closed) this.upstream.socket.end();
  }

  /** Closes both sides (what is queued to the client is still sent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.upstream.socket.destroy();
    this.endClient();
  }
}
