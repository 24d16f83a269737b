import { connect, type Socket } from 'node:net';
import {
  FLAG_C_FIXED_NEWSTYLE,
  FLAG_C_NO_ZEROES,
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  IHAVEOPT,
  INFO_BLOCK_SIZE,
  INFO_EXPORT,
  MAX_OPTION_DATA,
  NBDMAGIC,
  OPT_GO,
  OPT_OVS_NO_FORWARD,
  OPT_REPLY_MAGIC_HI,
  OPT_REPLY_MAGIC_LO,
  OPT_STARTTLS,
  REP_ACK,
  REP_INFO,
  readU64,
} from './protocol.js';
import { connectTls, type NbdTls } from './tls.js';

/** Where another node serves an export: its edge address, and the node (for logs). */
export interface ForwardTarget {
  host: string;
  port: number;
  node: string;
}

/** An export negotiated on the owner's edge, ready for the transmission phase. */
export interface UpstreamExport {
  socket: Socket;
  size: number;
  /** The owner's transmission flags, passed to the client unchanged. */
  flags: number;
  /** min, preferred, max (the owner's NBD_INFO_BLOCK_SIZE). */
  blockSizes: [number, number, number] | undefined;
  /** Bytes the owner sent after its final ACK (none with a conforming server); they go to the client first. */
  leftover: Buffer;
}

/** What the owner said when it refused the export, or why the negotiation failed. */
export class UpstreamRefused extends Error {}

/** Time the whole upstream connect and negotiation may take. */
const NEGOTIATION_TIMEOUT_MS = 10_000;

/** Reads exact byte counts from a socket during negotiation. */
class ExactReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private readonly onData = (d: Buffer): void => {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    this.check();
  };

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.once('close', () => this.fail(new UpstreamRefused('the owner closed the connection during negotiation')));
  }

  fail(e: Error): void {
    this.failure ??= e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.failure);
  }

  read(n: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.waiter = { n, resolve, reject };
      this.check();
    });
  }

  /** Stops reading through this reader; what it buffered beyond the last read is returned. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.pause();
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }

  private check(): void {
    const w = this.waiter;
    if (!w || this.buf.length < w.n) return;
    this.waiter = undefined;
    const out = this.buf.subarray(0, w.n);
    this.buf = this.buf.subarray(w.n);
    w.resolve(out);
  }
}

function optionRequest(code: number, data: Buffer): Buffer {
  const h = Buffer.allocUnsafe(16);
  IHAVEOPT.copy(h, 0);
  h.writeUInt32BE(code, 8);
  h.writeUInt32BE(data.length, 12);
  return Buffer.concat([h, data]);
}

async function optionReply(r: ExactReader, code: number): Promise<{ type: number; data: Buffer }> {
  const h = await r.read(20);
  if (h.readUInt32BE(0) !== OPT_REPLY_MAGIC_HI || h.readUInt32BE(4) !== OPT_REPLY_MAGIC_LO) throw new UpstreamRefused('bad option reply magic from the owner');
  if (h.readUInt32BE(8) !== code) throw new UpstreamRefused(`the owner replied to option ${h.readUInt32BE(8)}, expected ${code}`);
  const len = h.readUInt32BE(16);
  if (len > MAX_OPTION_DATA) throw new UpstreamRefused(`option reply of ${len} bytes from the owner`);
  return { type: h.readUInt32BE(12), data: Buffer.from(await r.read(len)) };
}

/**
 * Opens `name` on the owner's edge as a client: fixed newstyle, the loop guard (the owner must not forward this
 * connection again), then GO. Resolves with the export's size and flags and the socket, paused, at the start of the
 * transmission phase; rejects with UpstreamRefused when the owner does not serve it.
 */
export async function openUpstream(target: ForwardTarget, name: string, tls?: NbdTls): Promise<UpstreamExport> {
  const raw = connect({ host: target.host, port: target.port });
  raw.setNoDelay(true);
  let socket: Socket = raw;
  let r = new ExactReader(socket);
  const onError = (err: Error): void => r.fail(new UpstreamRefused(`owner ${target.host}:${target.port}: ${err.message}`));
  raw.on('error', onError);
  const timer = setTimeout(() => r.fail(new UpstreamRefused(`owner ${target.host}:${target.port} did not negotiate within ${NEGOTIATION_TIMEOUT_MS} ms`)), NEGOTIATION_TIMEOUT_MS);
  try {
    const g = await r.read(18);
    if (!g.subarray(0, 8).equals(NBDMAGIC) || !g.subarray(8, 16).equals(IHAVEOPT)) throw new UpstreamRefused('the owner is not a newstyle NBD server');
    const serverFlags = g.readUInt16BE(16);
    if ((serverFlags & FLAG_FIXED_NEWSTYLE) === 0) throw new UpstreamRefused('the owner does not speak fixed newstyle');
    const flags = Buffer.allocUnsafe(4);
    flags.writeUInt32BE(FLAG_C_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES ? FLAG_C_NO_ZEROES : 0), 0);
    if (tls) {
      // Edges of a vPool that requires TLS forward over TLS too: the owner refuses anything else.
      socket.write(Buffer.concat([flags, optionRequest(OPT_STARTTLS, Buffer.alloc(0))]));
      const ack = await optionReply(r, OPT_STARTTLS);
      if (ack.type !== REP_ACK) throw new UpstreamRefused(`the owner refused STARTTLS (reply 0x${ack.type.toString(16)})`);
      if (r.detach().length > 0) throw new UpstreamRefused('the owner sent bytes before the TLS handshake');
      // The old reader fails on the negotiation timeout or a close during the TLS handshake.
      const aborted = r.read(1).then((): never => {
        throw new UpstreamRefused('the owner sent bytes before the TLS handshake');
      });
      const secured = connectTls(raw, tls, target.host).catch((err: Error): never => {
        throw new UpstreamRefused(`TLS to owner ${target.host}:${target.port}: ${err.message}`);
      });
      aborted.catch(() => undefined);
      secured.catch(() => undefined);
      socket = await Promise.race([secured, aborted]);
      socket.on('error', onError);
      r = new ExactReader(socket);
    }
    const nameBytes = Buffer.from(name, 'utf8');
    const go = Buffer.allocUnsafe(4 + nameBytes.length + 4);
    go.writeUInt32BE(nameBytes.length, 0);
    nameBytes.copy(go, 4);
    go.writeUInt16BE(1, 4 + nameBytes.length);
    go.writeUInt16BE(INFO_BLOCK_SIZE, 6 + nameBytes.length);
    socket.write(Buffer.concat([tls ? Buffer.alloc(0) : flags, optionRequest(OPT_OVS_NO_FORWARD, Buffer.alloc(0)), optionRequest(OPT_GO, go)]));
    // Any answer to the guard will do: an owner that does not know it does not forward either.
    await optionReply(r, OPT_OVS_NO_FORWARD);
    let size: number | undefined;
    let tflags = 0;
    let blockSizes: [number, number, number] | undefined;
    for (;;) {
      const rep = await optionReply(r, OPT_GO);
      if (rep.type === REP_ACK) break;
      if (rep.type !== REP_INFO) throw new UpstreamRefused(`the owner refused export ${JSON.stringify(name)} (reply 0x${rep.type.toString(16)})`);
      if (rep.data.length < 2) continue;
      const info = rep.data.readUInt16BE(0);
      if (info === INFO_EXPORT && rep.data.length >= 12) {
        size = readU64(rep.data, 2);
        tflags = rep.data.readUInt16BE(10);
      } else if (info === INFO_BLOCK_SIZE && rep.data.length >= 14) {
        blockSizes = [rep.data.readUInt32BE(2), rep.data.readUInt32BE(6), rep.data.readUInt32BE(10)];
      }
    }
    if (size === undefined || !Number.isFinite(size)) throw new UpstreamRefused('the owner acknowledged GO without the export size');
    return { socket, size, flags: tflags, blockSizes, leftover: r.detach() };
  } catch (e) {
    socket.destroy();
    raw.destroy();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
