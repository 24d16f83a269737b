// Malformed NBD handshakes and requests, malformed DTL frames; then a real client on the same port.
import { connect as tcpConnect, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { DtlClient } from '../../src/dataplane/dtl/client.js';
import { DtlOp, encodeFrame } from '../../src/dataplane/dtl/frame.js';
import {
  FLAG_C_FIXED_NEWSTYLE, FLAG_C_NO_ZEROES, IHAVEOPT, NBDMAGIC, OPT_GO, OPT_LIST, REP_ACK, REP_SERVER, REQUEST_MAGIC,
} from '../../src/dataplane/nbd/protocol.js';
import type { Rng } from './rng.js';

export interface PortFuzzResult {
  kind: 'nbd' | 'dtl';
  sent: number;
  servesAfter: boolean;
  why?: string;
}

/** Opens a connection, writes garbage, and waits (bounded) for the server to close it. */
export function garbageTo(host: string, port: number, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port });
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, 3_000);
    s.on('error', done);
    s.on('close', done);
    s.on('connect', () => s.write(data));
    s.resume();
  });
}

/** A socket read as a stream of exact-length pieces, each bounded in time. */
class Conversation {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    const end = (): void => {
      this.closed = true;
      this.wake?.();
    };
    socket.on('close', end);
    socket.on('error', end);
  }

  static open(host: string, port: number): Promise<Conversation> {
    return new Promise((resolve, reject) => {
      const s = tcpConnect({ host, port });
      s.once('connect', () => resolve(new Conversation(s)));
      s.once('error', reject);
    });
  }

  /** `n` bytes, or undefined when the peer closed or stayed silent for `ms`. */
  async read(n: number, ms = 3_000): Promise<Buffer | undefined> {
    const until = Date.now() + ms;
    while (this.buf.length < n) {
      if (this.closed || Date.now() >= until) return undefined;
      await new Promise<void>((r) => {
        const t = setTimeout(r, until - Date.now());
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  write(b: Buffer): void {
    if (!this.closed) this.socket.write(b);
  }

  /** Waits (bounded) for the server to close the connection; the connection is gone afterwards either way. */
  async end(ms = 3_000): Promise<void> {
    const until = Date.now() + ms;
    while (!this.closed && Date.now() < until) await this.read(this.buf.length + 1, until - Date.now());
    this.socket.destroy();
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function option(code: number, data: Buffer, length = data.length): Buffer {
  return Buffer.concat([IHAVEOPT, u32(code), u32(length), data]);
}

/** Greeting read and client flags sent; undefined when the server is not an NBD server. */
async function nbdOpen(host: string, port: number): Promise<Conversation | undefined> {
  const c = await Conversation.open(host, port);
  const greeting = await c.read(18);
  if (!greeting?.subarray(0, 8).equals(NBDMAGIC)) {
    c.socket.destroy();
    return undefined;
  }
  c.write(u32(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES));
  return c;
}

/** One option reply: its type and data. */
async function optionReply(c: Conversation): Promise<{ type: number; data: Buffer } | undefined> {
  const h = await c.read(20);
  if (!h) return undefined;
  const data = await c.read(h.readUInt32BE(16));
  return data ? { type: h.readUInt32BE(12), data } : undefined;
}

/** The export names the server lists (NBD_OPT_LIST). */
async function nbdExports(host: string, port: number): Promise<string[]> {
  const c = await nbdOpen(host, port);
  if (!c) return [];
  c.write(option(OPT_LIST, Buffer.alloc(0)));
  const names: string[] = [];
  for (let r = await optionReply(c); r && r.type === REP_SERVER; r = await optionReply(c)) names.push(r.data.subarray(4, 4 + r.data.readUInt32BE(0)).toString('utf8'));
  c.socket.destroy();
  return names;
}

async function fuzzNbd(host: string, port: number, rng: Rng): Promise<number> {
  let sent = 0;
  await garbageTo(host, port, rng.bytes(4096));
  sent++;
  // The magic handshake, then options with random codes and bytes.
  const garbageOptions = await nbdOpen(host, port);
  if (garbageOptions) {
    for (let i = 0; i < 4; i++) garbageOptions.write(option(0x100 + rng.int(1 << 20), rng.bytes(rng.int(64))));
    garbageOptions.write(rng.bytes(64));
    await garbageOptions.end();
    sent++;
  }
  // An option whose length is far above what the server takes.
  const oversize = await nbdOpen(host, port);
  if (oversize) {
    oversize.write(option(OPT_GO, rng.bytes(64), 0xffff_fff0));
    await oversize.end();
    sent++;
  }
  // A real handshake into transmission, then a WRITE request claiming 4 GiB and garbage after it.
  const [name] = await nbdExports(host, port);
  const huge = name === undefined ? undefined : await nbdOpen(host, port);
  if (huge && name !== undefined) {
    const n = Buffer.from(name, 'utf8');
    huge.write(option(OPT_GO, Buffer.concat([u32(n.length), n, Buffer.from([0, 0])])));
    let r = await optionReply(huge);
    while (r && r.type !== REP_ACK && r.type < 0x8000_0000) r = await optionReply(huge);
    if (r?.type === REP_ACK) {
      const req = Buffer.alloc(28);
      req.writeUInt32BE(REQUEST_MAGIC, 0);
      req.writeUInt16BE(1, 6); // NBD_CMD_WRITE
      req.writeBigUInt64BE(BigInt(rng.int(1 << 30)), 8);
      req.writeUInt32BE(0xffff_ffff, 24);
      huge.write(Buffer.concat([req, rng.bytes(4096)]));
      sent++;
    }
    await huge.end();
  }
  return sent;
}

async function fuzzDtl(host: string, port: number, rng: Rng): Promise<number> {
  const frames = [
    rng.bytes(4096),
    // A header announcing 2 GiB: refused from the length alone.
    Buffer.concat([u32(0x7fff_ffff), Buffer.from([DtlOp.ADD]), u32(1), rng.bytes(128)]),
    // A whole frame of an op the server does not know.
    encodeFrame(0xee, 7, rng.bytes(32)),
    // A REGISTER whose payload is garbage.
    encodeFrame(DtlOp.REGISTER, 8, rng.bytes(7)),
    // A length shorter than the header it counts.
    Buffer.concat([u32(2), Buffer.from([DtlOp.FLUSH, 0])]),
  ];
  await Promise.all(frames.map((f) => garbageTo(host, port, f)));
  return frames.length;
}

function nbdinfoList(host: string, port: number): Promise<{ ok: boolean; why: string }> {
  return new Promise((resolve) => {
    const p = spawn('nbdinfo', ['--list', `nbd://${host}:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => resolve({ ok: false, why: e.message }));
    p.on('close', (code) => resolve({ ok: code === 0, why: err.trim().slice(0, 200) }));
  });
}

/** A DTL answers a request (FLUSH before REGISTER is refused with NOT_REGISTERED: an answer all the same). */
async function dtlServes(host: string, port: number): Promise<{ ok: boolean; why: string }> {
  let client: DtlClient | undefined;
  try {
    client = await DtlClient.connect(host, port, { connectTimeoutMs: 3_000, requestTimeoutMs: 5_000 });
    await client.flush();
    return { ok: true, why: '' };
  } catch (e) {
    const reason = (e as { details?: { reason?: string } }).details?.reason;
    return { ok: reason === 'refused', why: `${reason ?? ''} ${(e as Error).message}` };
  } finally {
    client?.close();
  }
}

async function speaksFirst(host: string, port: number): Promise<boolean> {
  const c = await Conversation.open(host, port);
  const first = await c.read(8, 1_000);
  c.socket.destroy();
  return first?.equals(NBDMAGIC) ?? false;
}

export async function fuzzPort(t: { host: string; port: number; kind?: 'nbd' | 'dtl' }, rng: Rng): Promise<PortFuzzResult> {
  try {
    const kind = t.kind ?? ((await speaksFirst(t.host, t.port)) ? 'nbd' : 'dtl');
    const sent = kind === 'nbd' ? await fuzzNbd(t.host, t.port, rng) : await fuzzDtl(t.host, t.port, rng);
    const check = kind === 'nbd' ? await nbdinfoList(t.host, t.port) : await dtlServes(t.host, t.port);
    return { kind, sent, servesAfter: check.ok, ...(check.ok ? {} : { why: check.why }) };
  } catch (e) {
    return { kind: t.kind ?? 'dtl', sent: 0, servesAfter: false, why: (e as Error).message };
  }
}
