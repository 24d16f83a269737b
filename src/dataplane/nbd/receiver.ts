/** Free room a read into the receive buffer gets at least; the buffer is compacted or grown to offer it. */
const MIN_READ_ROOM = 64 * 1024;

/**
 * Where a connection's socket reads land (the socket's `onread` option): request headers and handshake bytes go to
 * one reused receive buffer; a WRITE payload goes straight into the buffer it will be written from (`receiveInto`),
 * so a 1 MiB payload is neither allocated per socket read nor copied together from 64 KiB pieces.
 *
 * Views returned by `take` point into the receive buffer and are valid until the next socket read.
 */
export class Receiver {
  private rx: Buffer;
  private start = 0;
  private end = 0;
  private sink: { dest: Buffer; filled: number } | undefined;
  /**
   * At most this many bytes per read into the receive buffer. After a large WRITE the next bytes are most likely
   * another header and payload: a short read takes the header, and the payload then goes straight to its sink
   * instead of being copied out of the receive buffer.
   */
  readLimit = Infinity;
  /** The sink whose memory the read buffer handed out last belongs to (undefined: the receive buffer's free room). */
  private readTarget: { dest: Buffer; filled: number } | undefined;

  constructor(
    /** Called after every read, once the bytes are accounted for. */
    private readonly onData: () => void,
    initialBytes = 256 * 1024,
  ) {
    this.rx = Buffer.allocUnsafe(Math.max(initialBytes, MIN_READ_ROOM));
  }

  /** Bytes buffered and not yet taken (a sink's bytes are not counted). */
  get length(): number {
    return this.end - this.start;
  }

  /** Removes and returns the first `n` buffered bytes (n ≤ length) as a view. */
  take(n: number): Buffer {
    if (n > this.length) throw new RangeError(`take(${n}) with ${this.length} buffered`);
    const view = this.rx.subarray(this.start, this.start + n);
    this.start += n;
    return view;
  }

  /** Drops up to `n` buffered bytes; returns how many were dropped. */
  skip(n: number): number {
    const m = Math.min(n, this.length);
    this.start += m;
    return m;
  }

  clear(): void {
    this.start = this.end = 0;
    this.sink = undefined;
  }

  /**
   * The next `dest.length` bytes of the stream go into `dest`: what is buffered now is copied, the rest is read from
   * the socket into it directly. Poll `sinkDone` (after each read) and collect it with `takeSink`.
   */
  receiveInto(dest: Buffer): void {
    const n = Math.min(dest.length, this.length);
    this.rx.copy(dest, 0, this.start, this.start + n);
    this.start += n;
    this.sink = { dest, filled: n };
  }

  get sinkDone(): boolean {
    return this.sink !== undefined && this.sink.filled === this.sink.dest.length;
  }

  takeSink(): Buffer {
    const s = this.sink;
    if (!s || s.filled !== s.dest.length) throw new Error('the receive sink is not full yet');
    this.sink = undefined;
    return s.dest;
  }

  /** `onread.buffer` of the socket: the memory the next read may fill. */
  readonly nextBuffer = (): Uint8Array => {
    const s = this.sink;
    if (s && s.filled < s.dest.length) {
      this.readTarget = s;
      return s.dest.subarray(s.filled);
    }
    this.readTarget = undefined;
    if (this.start === this.end) this.start = this.end = 0;
    if (this.rx.length - this.end < MIN_READ_ROOM && this.start > 0) {
      this.rx.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.rx.length - this.end < MIN_READ_ROOM) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.rx.length, this.end + MIN_READ_ROOM));
      this.rx.copy(grown, 0, 0, this.end);
      this.rx = grown;
    }
    return this.rx.subarray(this.end, Math.min(this.rx.length, this.end + this.readLimit));
  };

  /** `onread.callback` of the socket. */
  readonly onRead = (nread: number): void => {
    if (this.readTarget) {
      // Bytes read into a sink dropped by clear() meanwhile belong to no request: parsing has stopped anyway.
      if (this.readTarget === this.sink) this.sink.filled += nread;
    } else {
      this.end += nread;
      // A sink set up after this read was handed its buffer: its bytes arrived here, move them over.
      const s = this.sink;
      if (s && s.filled < s.dest.length) {
        const n = Math.min(s.dest.length - s.filled, this.length);
        this.rx.copy(s.dest, s.filled, this.start, this.start + n);
        this.start += n;
        s.filled += n;
      }
    }
    this.onData();
  };
}
