import { connect, type Socket } from 'node:net';

/** Byte-level NBD client for protocol tests: exact reads from the stream, raw writes, close detection. */
export class RawClient {
  private buf = Buffer.alloc(0);
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private closedFlag = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.check();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedFlag = true;
        const w = this.waiter;
        this.waiter = undefined;
        w?.reject(new Error(`connection closed with ${this.buf.length} bytes buffered, ${w.n} wanted`));
        resolve();
      }),
    );
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' }, () => {
        s.off('error', reject);
        s.setNoDelay(true);
        resolve(new RawClient(s));
      });
      s.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  /** Bytes received and not yet consumed. */
  get buffered(): number {
    return this.buf.length;
  }

  read(n: number): Promise<Buffer> {
    if (this.waiter) throw new Error('concurrent read');
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
      this.check();
      if (this.waiter && this.closedFlag) {
        this.waiter = undefined;
        reject(new Error('connection closed'));
      }
    });
  }

  write(b: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(b, (err) => (err ? reject(err) : resolve())));
  }

  /** Resolves true when the server closes the connection, false if it sends a byte instead. */
  async expectClose(): Promise<boolean> {
    if (this.buf.length > 0) return false;
    const r = await Promise.race([this.closed.then(() => 'closed' as const), this.read(1).then(() => 'data' as const, () => 'closed' as const)]);
    return r === 'closed' && this.buf.length === 0;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private check(): void {
    const w = this.waiter;
    if (w && this.buf.length >= w.n) {
      this.waiter = undefined;
      const out = this.buf.subarray(0, w.n);
      this.buf = this.buf.subarray(w.n);
      w.resolve(Buffer.from(out));
    }
  }
}

// ---- message builders and parsers ----

export const IHAVEOPT = Buffer.from('IHAVEOPT', 'latin1');

export function option(code: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(16);
  IHAVEOPT.copy(h, 0);
  h.writeUInt32BE(code, 8);
  h.writeUInt32BE(data.length, 12);
  return Buffer.concat([h, data]);
}

export function infoData(name: string, requests: number[] = []): Buffer {
  const n = Buffer.from(name, 'utf8');
  const b = Buffer.alloc(4 + n.length + 2 + 2 * requests.length);
  b.writeUInt32BE(n.length, 0);
  n.copy(b, 4);
  b.writeUInt16BE(requests.length, 4 + n.length);
  requests.forEach((r, i) => b.writeUInt16BE(r, 4 + n.length + 2 + 2 * i));
  return b;
}

export interface OptionReply {
  magic: bigint;
  option: number;
  type: number;
  data: Buffer;
}

export async function readOptionReply(c: RawClient): Promise<OptionReply> {
  const h = await c.read(20);
  const len = h.readUInt32BE(16);
  const data = len > 0 ? await c.read(len) : Buffer.alloc(0);
  return { magic: h.readBigUInt64BE(0), option: h.readUInt32BE(8), type: h.readUInt32BE(12), data };
}

export function request(type: number, cookie: number | bigint, offset: number, length: number, opts: { flags?: number; data?: Buffer; magic?: number } = {}): Buffer {
  const h = Buffer.alloc(28);
  h.writeUInt32BE(opts.magic ?? 0x25609513, 0);
  h.writeUInt16BE(opts.flags ?? 0, 4);
  h.writeUInt16BE(type, 6);
  h.writeBigUInt64BE(BigInt(cookie), 8);
  h.writeBigUInt64BE(BigInt(offset), 16);
  h.writeUInt32BE(length, 24);
  return opts.data ? Buffer.concat([h, opts.data]) : h;
}

export interface SimpleReply {
  error: number;
  cookie: number;
}

/** Reads one simple reply header (16 bytes) and checks its magic; the cookie as sent, all 64 bits of it. */
export async function readReplyExact(c: RawClient): Promise<{ error: number; cookie: bigint }> {
  const h = await c.read(16);
  const magic = h.readUInt32BE(0);
  if (magic !== 0x67446698) throw new Error(`bad reply magic 0x${magic.toString(16)}`);
  return { error: h.readUInt32BE(4), cookie: h.readBigUInt64BE(8) };
}

/** Reads one simple reply header (16 bytes) and checks its magic; cookies up to 2^53 (the tests' small ones). */
export async function readReply(c: RawClient): Promise<SimpleReply> {
  const { error, cookie } = await readReplyExact(c);
  return { error, cookie: Number(cookie) };
}

/** Greeting + client flags + GO for `name`; returns the export size and transmission flags. */
export async function attach(c: RawClient, name: string): Promise<{ size: number; flags: number }> {
  await c.read(18);
  const cf = Buffer.alloc(4);
  cf.writeUInt32BE(3, 0);
  await c.write(Buffer.concat([cf, option(7, infoData(name))]));
  let size = -1;
  let flags = -1;
  for (;;) {
    const r = await readOptionReply(c);
    if (r.type === 1) break;
    if (r.type !== 3) throw new Error(`GO failed: reply type 0x${r.type.toString(16)}`);
    if (r.data.readUInt16BE(0) === 0) {
      size = Number(r.data.readBigUInt64BE(2));
      flags = r.data.readUInt16BE(10);
    }
  }
  return { size, flags };
}
