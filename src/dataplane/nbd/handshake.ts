import type { Logger } from 'pino';
import type { Receiver } from './receiver.js';
import type { NbdExports, NbdVolume } from './export.js';
import type { UpstreamExport } from './upstream.js';
import {
  FLAG_C_FIXED_NEWSTYLE,
  FLAG_C_NO_ZEROES,
  IHAVEOPT,
  INFO_BLOCK_SIZE,
  INFO_EXPORT,
  MAX_OPTION_DATA,
  MAX_PAYLOAD,
  OPTION_HEADER_SIZE,
  OPT_ABORT,
  OPT_EXPORT_NAME,
  OPT_GO,
  OPT_INFO,
  OPT_LIST,
  OPT_OVS_NO_FORWARD,
  OPT_STARTTLS,
  REP_ACK,
  REP_ERR_INVALID,
  REP_ERR_UNKNOWN,
  REP_ERR_TLS_REQD,
  REP_ERR_UNSUP,
  REP_INFO,
  REP_SERVER,
  optionReply,
  preferredBlockSize,
  transmissionFlags,
  writeU64,
} from './protocol.js';

export type NbdTlsMode = 'off' | 'optional' | 'required';

export type HandshakeStep =
  | { kind: 'more' }
  | { kind: 'transmission'; name: string; volume: NbdVolume }
  /** The export is not served here: resolve it (asynchronously), then call `resolved`. */
  | { kind: 'resolve'; code: number; name: string }
  | { kind: 'forward'; name: string; upstream: UpstreamExport }
  /** STARTTLS was acknowledged: upgrade the socket, then call `secured` and go on negotiating. */
  | { kind: 'starttls' }
  | { kind: 'close'; reason: string };

/**
 * Fixed-newstyle option negotiation after the greeting has been sent. `step` consumes whatever complete
 * messages the queue holds (a client may split or merge packets arbitrarily) and says what to do next.
 * Bytes after the message that ends negotiation stay in the queue for the transmission phase.
 */
export class Handshake {
  private clientFlags: number | undefined;
  private option: { code: number; length: number } | undefined;
  /** Set by the loop guard: this connection comes from another node's edge and must not be forwarded again. */
  private forwarded = false;

  constructor(
    private readonly exports: NbdExports,
    private readonly send: (b: Buffer) => void,
    private readonly log: Logger,
    /** Names not served here are handed back as a 'resolve' step instead of being refused. */
    private readonly canResolve = false,
    /** 'off': STARTTLS is unsupported; 'optional': offered; 'required': every option but STARTTLS and ABORT waits for it. */
    private readonly tls: NbdTlsMode = 'off',
  ) {}

  private secure = false;

  /** The socket was upgraded to TLS: negotiation goes on over it. */
  secured(): void {
    this.secure = true;
  }

  /** Whether a name not served here may be forwarded to another node. */
  get mayForward(): boolean {
    return !this.forwarded;
  }

  /**
   * Answers the option a 'resolve' step stopped at: with a volume that is served here now, the owner's export
   * (GO keeps it for the relay; INFO closes it) or a refusal.
   */
  resolved(code: number, name: string, r: { volume: NbdVolume } | { upstream: UpstreamExport } | undefined): HandshakeStep | undefined {
    if (r && 'volume' in r) return this.answer(code, name, r.volume);
    if (!r) return this.refuse(code, name);
    const { upstream } = r;
    if (code === OPT_EXPORT_NAME) {
      this.send(this.exportNameReply(upstream.size, upstream.flags));
      return { kind: 'forward', name, upstream };
    }
    const [min, preferred, max] = upstream.blockSizes ?? [1, 4096, MAX_PAYLOAD];
    this.send(infoReplies(code, upstream.size, upstream.flags, min, preferred, max));
    if (code === OPT_GO) return { kind: 'forward', name, upstream };
    upstream.socket.destroy();
    return undefined;
  }

  get noZeroes(): boolean {
    return ((this.clientFlags ?? 0) & FLAG_C_NO_ZEROES) !== 0;
  }

  step(q: Receiver): HandshakeStep {
    for (;;) {
      if (this.clientFlags === undefined) {
        if (q.length < 4) return { kind: 'more' };
        const flags = q.take(4).readUInt32BE(0);
        if ((flags & FLAG_C_FIXED_NEWSTYLE) === 0) return { kind: 'close', reason: 'client without fixed newstyle' };
        if ((flags & ~(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES)) !== 0) return { kind: 'close', reason: `unknown client flags 0x${flags.toString(16)}` };
        this.clientFlags = flags;
        continue;
      }
      if (this.option === undefined) {
        if (q.length < OPTION_HEADER_SIZE) return { kind: 'more' };
        const h = q.take(OPTION_HEADER_SIZE);
        if (!h.subarray(0, 8).equals(IHAVEOPT)) return { kind: 'close', reason: 'bad option magic' };
        const code = h.readUInt32BE(8);
        const length = h.readUInt32BE(12);
        if (length > MAX_OPTION_DATA) return { kind: 'close', reason: `option ${code} data too long (${length})` };
        this.option = { code, length };
      }
      if (q.length < this.option.length) return { kind: 'more' };
      const { code, length } = this.option;
      this.option = undefined;
      const data = q.take(length);
      const next = this.handle(code, data);
      if (next) return next;
    }
  }

  /** EXPORT_NAME, GO or INFO for a name: a local volume, a 'resolve' step, or the refusal. */
  private answer(code: number, name: string, volume: NbdVolume | undefined): HandshakeStep | undefined {
    if (!volume) return this.canResolve ? { kind: 'resolve', code, name } : this.refuse(code, name);
    if (code === OPT_EXPORT_NAME) {
      this.send(this.exportNameReply(volume.size, transmissionFlags(volume.readOnly)));
      return { kind: 'transmission', name, volume };
    }
    this.send(infoReplies(code, volume.size, transmissionFlags(volume.readOnly), 1, preferredBlockSize(volume.blockSize), MAX_PAYLOAD));
    return code === OPT_GO ? { kind: 'transmission', name, volume } : undefined;
  }

  private refuse(code: number, name: string): HandshakeStep | undefined {
    if (code === OPT_EXPORT_NAME) return { kind: 'close', reason: `unknown export ${JSON.stringify(name)} (EXPORT_NAME)` };
    this.log.debug({ export: name }, 'nbd: unknown export');
    this.send(optionReply(code, REP_ERR_UNKNOWN));
    return undefined;
  }

  private exportNameReply(size: number, flags: number): Buffer {
    const b = Buffer.alloc(this.noZeroes ? 10 : 134);
    writeU64(b, size, 0);
    b.writeUInt16BE(flags, 8);
    return b;
  }

  /** Handles one complete option; returns a step when negotiation ends. */
  private handle(code: number, data: Buffer): HandshakeStep | undefined {
    if (code === OPT_STARTTLS && this.tls !== 'off') {
      // Once is enough; a client sending data with it is broken.
      const ok = !this.secure && data.length === 0;
      this.send(optionReply(code, ok ? REP_ACK : REP_ERR_INVALID));
      return ok ? { kind: 'starttls' } : undefined;
    }
    if (this.tls === 'required' && !this.secure && code !== OPT_ABORT) {
      // EXPORT_NAME has no error reply: the only refusal is closing.
      if (code === OPT_EXPORT_NAME) return { kind: 'close', reason: 'EXPORT_NAME without TLS on a vPool that requires it' };
      this.send(optionReply(code, REP_ERR_TLS_REQD));
      return undefined;
    }
    switch (code) {
      case OPT_EXPORT_NAME: {
        const name = data.toString('utf8');
        return this.answer(code, name, this.exports.lookup(name));
      }
      case OPT_GO:
      case OPT_INFO: {
        const parsed = parseInfoRequest(data);
        if (!parsed) {
          this.send(optionReply(code, REP_ERR_INVALID));
          return undefined;
        }
        return this.answer(code, parsed.name, this.exports.lookup(parsed.name));
      }
      case OPT_OVS_NO_FORWARD:
        this.forwarded = true;
        this.send(optionReply(code, REP_ACK));
        return undefined;
      case OPT_LIST: {
        if (data.length !== 0) {
          this.send(optionReply(code, REP_ERR_INVALID));
          return undefined;
        }
        const parts: Buffer[] = [];
        for (const name of this.exports.list()) {
          const n = Buffer.from(name, 'utf8');
          const d = Buffer.allocUnsafe(4 + n.length);
          d.writeUInt32BE(n.length, 0);
          n.copy(d, 4);
          parts.push(optionReply(code, REP_SERVER, d));
        }
        parts.push(optionReply(code, REP_ACK));
        this.send(Buffer.concat(parts));
        return undefined;
      }
      case OPT_ABORT:
        this.send(optionReply(code, REP_ACK));
        return { kind: 'close', reason: 'client aborted negotiation' };
      default:
        // STRUCTURED_REPLY, META_CONTEXT, STARTTLS, EXTENDED_HEADERS, anything new: not supported, keep negotiating.
        this.send(optionReply(code, REP_ERR_UNSUP));
        return undefined;
    }
  }
}

/** INFO_EXPORT, INFO_BLOCK_SIZE and the final ACK of a GO or INFO. */
function infoReplies(code: number, size: number, flags: number, min: number, preferred: number, max: number): Buffer {
  const exp = Buffer.allocUnsafe(12);
  exp.writeUInt16BE(INFO_EXPORT, 0);
  writeU64(exp, size, 2);
  exp.writeUInt16BE(flags, 10);
  const bs = Buffer.allocUnsafe(14);
  bs.writeUInt16BE(INFO_BLOCK_SIZE, 0);
  bs.writeUInt32BE(min, 2);
  bs.writeUInt32BE(preferred, 6);
  bs.writeUInt32BE(max, 10);
  return Buffer.concat([optionReply(code, REP_INFO, exp), optionReply(code, REP_INFO, bs), optionReply(code, REP_ACK)]);
}

/** GO/INFO data: u32 name length, name, u16 count, count × u16 info requests. */
function parseInfoRequest(data: Buffer): { name: string; requests: number[] } | undefined {
  if (data.length < 6) return undefined;
  const nameLen = data.readUInt32BE(0);
  if (4 + nameLen + 2 > data.length) return undefined;
  const name = data.toString('utf8', 4, 4 + nameLen);
  const count = data.readUInt16BE(4 + nameLen);
  if (data.length !== 4 + nameLen + 2 + 2 * count) return undefined;
  const requests: number[] = [];
  for (let i = 0; i < count; i++) requests.push(data.readUInt16BE(4 + nameLen + 2 + 2 * i));
  return { name, requests };
}
