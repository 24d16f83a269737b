/**
 * A receive queue of socket chunks. Bytes are consumed from the front without concatenating the whole
 * backlog: `take(n)` returns a view into the first chunk when it holds `n` bytes, and copies only the
 * `n` bytes it needs otherwise.
 */
export class ChunkQueue {
  private chunks: Buffer[] = [];
  private first = 0; // index of the first live chunk in `chunks`
  private offset = 0; // consumed bytes of that chunk
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Removes and returns the first `n` bytes (n ≤ length). A view when contiguous, else one copy of n bytes. */
  take(n: number): Buffer {
    if (n > this.total) throw new RangeError(`take(${n}) with ${this.total} buffered`);
    if (n === 0) return Buffer.alloc(0);
    const head = this.chunks[this.first]!;
    const avail = head.length - this.offset;
    if (avail >= n) {
      const view = head.subarray(this.offset, this.offset + n);
      this.advance(n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[this.first]!;
      const m = Math.min(c.length - this.offset, n - filled);
      c.copy(out, filled, this.offset, this.offset + m);
      filled += m;
      this.advance(m);
    }
    return out;
  }

  /** Drops up to `n` bytes; returns how many were dropped. */
  skip(n: number): number {
    let left = Math.min(n, this.total);
    const dropped = left;
    while (left > 0) {
      const c = this.chunks[this.first]!;
      const m = Math.min(c.length - this.offset, left);
      this.advance(m);
      left -= m;
    }
    return dropped;
  }

  clear(): void {
    this.chunks = [];
    this.first = 0;
    this.offset = 0;
    this.total = 0;
  }

  /** Consumes m bytes of the first chunk (m ≤ its remaining bytes). */
  private advance(m: number): void {
    this.offset += m;
    this.total -= m;
    const c = this.chunks[this.first]!;
    if (this.offset === c.length) {
      this.chunks[this.first] = EMPTY; // release the reference
      this.first++;
      this.offset = 0;
      if (this.first === this.chunks.length) {
        this.chunks = [];
        this.first = 0;
      } else if (this.first >= 1024) {
        this.chunks = this.chunks.slice(this.first);
        this.first = 0;
      }
    }
  }
}

const EMPTY = Buffer.alloc(0);
