import type { Logger } from 'pino';
import type { Receiver } from './receiver.js';
import type { NbdExports, NbdVolume } from './export.js';
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
  REP_ACK,
  REP_ERR_INVALID,
  REP_ERR_UNKNOWN,
  REP_ERR_UNSUP,
  REP_INFO,
  REP_SERVER,
  optionReply,
  preferredBlockSize,
  transmissionFlags,
  writeU64,
} from './protocol.js';

export type HandshakeStep =
  | { kind: 'more' }
  | { kind: 'transmission'; name: string; volume: NbdVolume }
  | { kind: 'close'; reason: string };

/**
 * Fixed-newstyle option negotiation after the greeting has been sent. `step` consumes whatever complete
 * messages the queue holds (a client may split or merge packets arbitrarily) and says what to do next.
 * Bytes after the message that ends negotiation stay in the queue for the transmission phase.
 */
export class Handshake {
  private clientFlags: number | undefined;
  private option: { code: number; length: number } | undefined;

  constructor(
    private readonly exports: NbdExports,
    private readonly send: (b: Buffer) => void,
    private readonly log: Logger,
  ) {}

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

  /** Handles one complete option; returns a step when negotiation ends. */
  private handle(code: number, data: Buffer): HandshakeStep | undefined {
    switch (code) {
      case OPT_EXPORT_NAME: {
        const name = data.toString('utf8');
        const volume = this.exports.lookup(name);
        if (!volume) return { kind: 'close', reason: `unknown export ${JSON.stringify(name)} (EXPORT_NAME)` };
        const b = Buffer.alloc(this.noZeroes ? 10 : 134);
        writeU64(b, volume.size, 0);
        b.writeUInt16BE(transmissionFlags(volume.readOnly), 8);
        this.send(b);
        return { kind: 'transmission', name, volume };
      }
      case OPT_GO:
      case OPT_INFO: {
        const parsed = parseInfoRequest(data);
        if (!parsed) {
          this.send(optionReply(code, REP_ERR_INVALID));
          return undefined;
        }
        const volume = this.exports.lookup(parsed.name);
        if (!volume) {
          this.log.debug({ export: parsed.name }, 'nbd: unknown export');
          this.send(optionReply(code, REP_ERR_UNKNOWN));
          return undefined;
        }
        const exp = Buffer.allocUnsafe(12);
        exp.writeUInt16BE(INFO_EXPORT, 0);
        writeU64(exp, volume.size, 2);
        exp.writeUInt16BE(transmissionFlags(volume.readOnly), 10);
        const bs = Buffer.allocUnsafe(14);
        bs.writeUInt16BE(INFO_BLOCK_SIZE, 0);
        bs.writeUInt32BE(1, 2);
        bs.writeUInt32BE(preferredBlockSize(volume.blockSize), 6);
        bs.writeUInt32BE(MAX_PAYLOAD, 10);
        this.send(Buffer.concat([optionReply(code, REP_INFO, exp), optionReply(code, REP_INFO, bs), optionReply(code, REP_ACK)]));
        return code === OPT_GO ? { kind: 'transmission', name: parsed.name, volume } : undefined;
      }
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
