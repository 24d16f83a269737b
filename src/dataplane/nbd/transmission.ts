import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { DIRECT_ALIGN, sharedAlignedPool } from '../common/aligned-pool.js';
import type { NbdVolume } from './export.js';
import type { Receiver } from './receiver.js';
import {
  CMD_DISC,
  CMD_FLAG_FUA,
  CMD_FLUSH,
  CMD_READ,
  CMD_WRITE,
  CMD_WRITE_ZEROES,
  EINVAL,
  EIO,
  ENOSPC,
  EPERM,
  ESHUTDOWN,
  MAX_PAYLOAD,
  REQUEST_HEADER_SIZE,
  REQUEST_MAGIC,
  SIMPLE_REPLY_HEADER_SIZE,
  SIMPLE_REPLY_MAGIC,
  readU64,
} from './protocol.js';

/** Read replies up to this size are assembled into one buffer (fewer iovecs); larger ones are written as header + data. */
const COPY_REPLY_LIMIT = 32 * 1024;
/** New requests are not parsed while more than this many reply bytes wait in the socket's user-space buffer. */
const OUTPUT_HIGH_WATER = 4 * 1024 * 1024;
/** WRITE_ZEROES is executed as writes of at most this many zero bytes. */
const ZERO_CHUNK = 1024 * 1024;
/** WRITE payloads of at least this size are received into an aligned I/O slot, from which O_DIRECT writes them. */
const SLOT_MIN_BYTES = 64 * 1024;
/** READ replies from this size up to REPLY_BUFFER_BYTES are read into reused buffers, returned once sent. */
const REPLY_POOL_MIN = 64 * 1024;
const REPLY_BUFFER_BYTES = 1024 * 1024;
/** Receive-buffer read size after a large WRITE: a header and a little more (see Receiver.readLimit). */
const SHORT_READ = 4096;
/** Slots left to the volumes' own I/O: a payload only takes a slot while more than this many are free. */
const SLOTS_KEPT_FREE = 8;

/** A WRITE whose header was parsed and whose payload is still arriving (or being discarded). */
interface PendingWrite {
  cookie: Buffer;
  offset: number;
  length: number;
  fua: boolean;
  /** When set, the payload is dropped and this error is replied once it has been consumed. */
  error?: number;
  left: number;
  /** The aligned I/O slot the payload is received into, when it got one. */
  slot?: Buffer;
}

/**
 * The transmission phase of one connection: parses requests from the receiver, runs them against the
 * volume concurrently (at most `maxInFlight` at a time, pausing the socket at the cap) and sends simple
 * replies in completion order. Nothing here throws into socket callbacks.
 */
export class Transmission {
  private readonly inflight = new Set<Promise<void>>();
  private pending: PendingWrite | undefined;
  private isStopped = false;
  private eof = false;
  private closeWhenIdle = false;
  private paused = false;
  /** Replies completing in the same event-loop turn are corked together and flushed in one writev. */
  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };
  private idleWaiters: Array<() => void> = [];
  /**
   * Reply buffers of large READs, reused: a fresh 1 MiB per read is fresh memory each time, and on a VM that hands
   * freed memory back to its host, touching fresh memory costs more than reading the data.
   */
  private readonly replyBuffers: Buffer[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly rx: Receiver,
    private readonly volume: NbdVolume,
    private readonly maxInFlight: number,
    private readonly log: Logger,
    /** Called once, when the connection should be closed (DISC, protocol error, shutdown) and nothing is in flight. */
    private readonly close: () => void,
    /** Requests to a halted volume drop the connection unanswered (see NbdServerOptions.disconnectWhenHalted). */
    private readonly disconnectWhenHalted = false,
  ) {}

  /** No more requests are parsed (DISC, protocol error, shutdown, or the socket is gone). */
  get stopped(): boolean {
    return this.isStopped;
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  /** Parses and dispatches as many requests as the queue and the in-flight cap allow. */
  pump(): void {
    while (!this.isStopped) {
      if (this.pending) {
        if (!this.feedPayload(this.pending)) {
          if (this.eof) return this.finish('client closed its side mid-request');
          this.setPaused(false); // committed to this request: we need its bytes
          return;
        }
        continue;
      }
      if (this.inflight.size >= this.maxInFlight || this.socket.writableLength > OUTPUT_HIGH_WATER) {
        this.setPaused(true);
        return;
      }
      if (this.rx.length < REQUEST_HEADER_SIZE) {
        if (this.eof) return this.finish('client closed its side');
        this.setPaused(false);
        return;
      }
      this.request(this.rx.take(REQUEST_HEADER_SIZE));
    }
  }

  /** Stops parsing; once in-flight requests have replied, the connection is closed. */
  finish(reason: string): void {
    if (!this.isStopped) this.log.debug({ reason }, 'nbd: ending transmission');
    this.isStopped = true;
    this.closeWhenIdle = true;
    this.dropPending();
    this.maybeClose();
  }

  /** The client half-closed: requests already received are still served, then the connection closes. */
  endOfInput(): void {
    this.eof = true;
    this.pump();
  }

  /** The socket is gone: stop parsing; in-flight requests finish but their replies are dropped. */
  abandon(): void {
    this.isStopped = true;
    this.dropPending();
  }

  /** Nothing more is parsed: reading stops first, so no socket read can land in a slot handed back to the pool. */
  private dropPending(): void {
    this.setPaused(true);
    if (this.pending?.slot) sharedAlignedPool().release(this.pending.slot);
    this.pending = undefined;
    this.rx.clear();
  }

  /** Resolves when no request is in flight. */
  idle(): Promise<void> {
    if (this.inflight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private setPaused(p: boolean): void {
    if (p === this.paused || this.socket.destroyed) return;
    this.paused = p;
    if (p) this.socket.pause();
    else this.socket.resume();
  }

  private request(h: Buffer): void {
    if (h.readUInt32BE(0) !== REQUEST_MAGIC) {
      this.log.warn({ magic: h.readUInt32BE(0) }, 'nbd: bad request magic, closing');
      this.finish('bad request magic');
      return;
    }
    const flags = h.readUInt16BE(4);
    const type = h.readUInt16BE(6);
    const cookie = Buffer.from(h.subarray(8, 16)); // copy: do not pin the receive chunk while in flight
    const offset = readU64(h, 16);
    const length = h.readUInt32BE(24);
    const v = this.volume;
    const inRange = offset <= v.size && length <= v.size - offset;
    this.rx.readLimit = type === CMD_WRITE && length >= SLOT_MIN_BYTES ? SHORT_READ : Infinity;

    switch (type) {
      case CMD_READ: {
        if (length > MAX_PAYLOAD || !inRange) return this.reply(cookie, EINVAL);
        this.track(this.doRead(cookie, offset, length));
        return;
      }
      case CMD_WRITE: {
        if (length > MAX_PAYLOAD) {
          // The payload cannot be skipped safely: the stream cannot be resynchronised.
          this.reply(cookie, EINVAL);
          this.finish(`write length ${length} > ${MAX_PAYLOAD}`);
          return;
        }
        const error = v.readOnly ? EPERM : !inRange ? EINVAL : undefined;
        const fua = (flags & CMD_FLAG_FUA) !== 0;
        if (error !== undefined) {
          this.pending = { cookie, offset, length, fua, left: length, error };
          return;
        }
        const slot = length >= SLOT_MIN_BYTES && length % DIRECT_ALIGN === 0 ? this.trySlot(length) : undefined;
        this.rx.receiveInto(slot ? slot.subarray(0, length) : Buffer.allocUnsafe(length));
        this.pending = { cookie, offset, length, fua, left: length, ...(slot ? { slot } : {}) };
        return;
      }
      case CMD_WRITE_ZEROES: {
        if (v.readOnly) return this.reply(cookie, EPERM);
        if (!inRange) return this.reply(cookie, EINVAL);
        this.track(this.doWriteZeroes(cookie, offset, length, (flags & CMD_FLAG_FUA) !== 0));
        return;
      }
      case CMD_FLUSH: {
        const earlier = [...this.inflight];
        this.track(this.doFlush(cookie, earlier));
        return;
      }
      case CMD_DISC:
        this.finish('client disconnect (DISC)');
        return;
      default:
        // TRIM, CACHE, BLOCK_STATUS are not advertised; anything else is unknown. None carries a payload.
        this.log.debug({ type }, 'nbd: unsupported command');
        this.reply(cookie, EINVAL);
    }
  }

  /** Consumes payload bytes for the pending WRITE; true once it has been dispatched or answered. */
  private feedPayload(p: PendingWrite): boolean {
    if (p.error !== undefined) {
      p.left -= this.rx.skip(p.left);
      if (p.left > 0) return false;
      this.pending = undefined;
      this.reply(p.cookie, p.error);
      return true;
    }
    if (!this.rx.sinkDone) return false;
    this.pending = undefined;
    const data = this.rx.takeSink();
    this.track(this.doWrite(p.cookie, p.offset, data, p.fua).finally(() => p.slot && sharedAlignedPool().release(p.slot)));
    return true;
  }

  private trySlot(length: number): Buffer | undefined {
    const pool = sharedAlignedPool();
    return length <= pool.slotBytes && pool.freeSlots > SLOTS_KEPT_FREE ? pool.tryAcquire() : undefined;
  }

  private track(p: Promise<void>): void {
    this.inflight.add(p);
    void p.then(() => {
      this.inflight.delete(p);
      try {
        if (this.inflight.size === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
        if (this.isStopped) this.maybeClose();
        else this.pump();
      } catch (e) {
        this.log.error({ err: e }, 'nbd: internal error after completion');
        this.socket.destroy();
      }
    });
  }

  private maybeClose(): void {
    if (this.closeWhenIdle && this.inflight.size === 0) {
      this.closeWhenIdle = false;
      this.close();
    }
  }

  private async doRead(cookie: Buffer, offset: number, length: number): Promise<void> {
    let error = 0;
    let data: Buffer | undefined;
    const pooled = length >= REPLY_POOL_MIN && length <= REPLY_BUFFER_BYTES ? this.replyBuffers.pop() ?? Buffer.allocUnsafeSlow(REPLY_BUFFER_BYTES) : undefined;
    const giveBack = (): void => {
      if (pooled && this.replyBuffers.length < 2 * this.maxInFlight) this.replyBuffers.push(pooled);
    };
    try {
      if (this.volume.serving === false) await this.volume.whenServing?.();
      if (this.volume.halted) error = ESHUTDOWN;
      else if (length > 0) {
        data = await this.volume.read(offset, length, pooled);
        if (data.length !== length) {
          this.log.error({ offset, length, got: data.length }, 'nbd: volume returned a short read');
          error = EIO;
        }
      }
    } catch (e) {
      error = this.errnoOf(e, 'read', offset, length);
    }
    this.reply(cookie, error, error === 0 ? data : undefined, giveBack);
  }

  private async doWrite(cookie: Buffer, offset: number, data: Buffer, fua: boolean): Promise<void> {
    let error = 0;
    try {
      if (this.volume.serving === false) await this.volume.whenServing?.();
      if (this.volume.halted) error = ESHUTDOWN;
      else if (data.length > 0) {
        await this.volume.write(offset, data, fua ? { fua: true } : undefined);
        if (fua) await this.volume.sync();
      }
    } catch (e) {
      error = this.errnoOf(e, 'write', offset, data.length);
    }
    this.reply(cookie, error);
  }

  private async doWriteZeroes(cookie: Buffer, offset: number, length: number, fua: boolean): Promise<void> {
    let error = 0;
    try {
      if (this.volume.serving === false) await this.volume.whenServing?.();
      if (this.volume.halted) error = ESHUTDOWN;
      else {
        for (let done = 0; done < length; ) {
          const n = Math.min(ZERO_CHUNK, length - done);
          await this.volume.write(offset + done, Buffer.alloc(n), fua ? { fua: true } : undefined);
          done += n;
        }
        if (fua && length > 0) await this.volume.sync();
      }
    } catch (e) {
      error = this.errnoOf(e, 'write_zeroes', offset, length);
    }
    this.reply(cookie, error);
  }

  private async doFlush(cookie: Buffer, earlier: Array<Promise<void>>): Promise<void> {
    let error = 0;
    try {
      await Promise.all(earlier); // tracked promises never reject
      if (this.volume.serving === false) await this.volume.whenServing?.();
      if (this.volume.halted) error = ESHUTDOWN;
      else await this.volume.sync();
    } catch (e) {
      error = this.errnoOf(e, 'flush', 0, 0);
    }
    this.reply(cookie, error);
  }

  private errnoOf(e: unknown, op: string, offset: number, length: number): number {
    const errno = this.volume.halted ? ESHUTDOWN : (e as { code?: unknown } | null)?.code === 'ENOSPC' ? ENOSPC : EIO;
    this.log.warn({ err: e, op, offset, length, errno }, 'nbd: volume request failed');
    return errno;
  }

  /**
   * Sends a simple reply; data only for a successful READ. Silently dropped when the socket is gone. `sent` is
   * called once `data` is no longer needed (handed to the kernel, copied, or dropped).
   */
  private reply(cookie: Buffer, error: number, data?: Buffer, sent?: () => void): void {
    const s = this.socket;
    if (s.destroyed || !s.writable) return sent?.();
    if (error === ESHUTDOWN && this.disconnectWhenHalted) {
      // Unanswered, the request is retried by a reconnecting client; replies still corked are dropped with it.
      this.log.info('nbd: volume halted (moved away or stopping), closing the connection unanswered');
      s.destroy();
      return sent?.();
    }
    if (!this.corked) {
      this.corked = true;
      s.cork();
      setImmediate(this.uncork);
    }
    const dlen = data?.length ?? 0;
    const small = dlen <= COPY_REPLY_LIMIT;
    const b = Buffer.allocUnsafe(SIMPLE_REPLY_HEADER_SIZE + (small ? dlen : 0));
    b.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
    b.writeUInt32BE(error, 4);
    cookie.copy(b, 8);
    if (data && dlen > 0 && small) data.copy(b, SIMPLE_REPLY_HEADER_SIZE);
    s.write(b);
    if (data && dlen > 0 && !small) s.write(data, () => sent?.()); // no copy: header and data leave in the same writev
    else sent?.();
  }
}
