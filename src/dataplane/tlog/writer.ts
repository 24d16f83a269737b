import * as fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { crc32c } from '../common/crc32c.js';
import { Mutex } from '../common/locks.js';
import { RECORD_BYTES, type TLogRecord, encodeRecord } from './record.js';

/**
 * Appends 32-byte records to a TLog file. Records are buffered until `flush`/`sync`/`close`; a running CRC32C over
 * everything written lets `close` append the TLog CRC record without rereading the file.
 */
export class TLogWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written: number;
  private crc: number;
  private closed = false;
  private readonly io = new Mutex();

  private constructor(readonly path: string, private readonly fh: FileHandle, written: number, crc: number) {
    this.written = written;
    this.crc = crc;
  }

  /** `append`: continue an existing (open, not CRC-closed) TLog; a torn trailing record is cut off first. */
  static async open(path: string, opts: { append?: boolean } = {}): Promise<TLogWriter> {
    if (!opts.append) return new TLogWriter(path, await fs.open(path, 'w'), 0, 0);
    await (await fs.open(path, 'a')).close(); // create if missing, without truncating
    const fh = await fs.open(path, 'r+');
    try {
      const existing = await fh.readFile();
      const whole = existing.length - (existing.length % RECORD_BYTES);
      if (whole !== existing.length) await fh.truncate(whole);
      return new TLogWriter(path, fh, whole, crc32c(existing.subarray(0, whole)));
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Bytes in the TLog including buffered records. */
  get size(): number {
    return this.written + this.pendingBytes;
  }

  /** Bytes actually handed to the file (durable after the next `sync`). */
  get writtenSize(): number {
    return this.written;
  }

  add(records: readonly TLogRecord[]): void {
    if (records.length === 0) return;
    const buf = Buffer.allocUnsafe(records.length * RECORD_BYTES);
    records.forEach((r, i) => encodeRecord(r, buf, i * RECORD_BYTES));
    this.addEncoded(buf);
  }

  /** Pre-encoded records (a multiple of 32 bytes); the buffer is kept, not copied. */
  addEncoded(buf: Buffer): void {
    if (this.closed) throw new Error(`TLog ${this.path} is closed`);
    if (buf.length % RECORD_BYTES !== 0) throw new RangeError('encoded records must be a multiple of 32 bytes');
    this.pending.push(buf);
    this.pendingBytes += buf.length;
  }

  /** Writes buffered records to the file (no fsync). */
  flush(): Promise<void> {
    return this.io.run(() => this.writePending());
  }

  /** Writes buffered records and makes them durable. */
  sync(): Promise<void> {
    return this.io.run(async () => {
      this.assertOpen();
      await this.writePending();
      await this.fh.datasync();
    });
  }

  /**
   * Appends the TLog CRC record (over all previous bytes), fsyncs (unless `durable: false`, when the caller makes it
   * durable later) and closes. Returns that CRC.
   */
  close(opts: { durable?: boolean } = {}): Promise<number> {
    return this.io.run(async () => {
      this.assertOpen();
      await this.writePending();
      const final = this.crc;
      this.addEncoded(encodeRecord({ kind: 'tlog_crc', crc: final }));
      await this.writePending();
      if (opts.durable ?? true) await this.fh.sync();
      this.closed = true;
      await this.fh.close();
      return final;
    });
  }

  /** Closes the file without a CRC record (the TLog stays "current", e.g. on shutdown or halt). */
  abandon(): Promise<void> {
    return this.io.run(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.fh.close();
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`TLog ${this.path} is closed`);
  }

  private async writePending(): Promise<void> {
    if (this.pendingBytes === 0) return;
    this.assertOpen();
    // Records added while this write is in flight stay pending; after a failed write a retry rewrites the same range.
    const n = this.pending.length;
    const buf = n === 1 ? this.pending[0]! : Buffer.concat(this.pending.slice(0, n));
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, this.written + done);
      done += bytesWritten;
    }
    this.pending.splice(0, n);
    this.pendingBytes -= buf.length;
    this.written += buf.length;
    this.crc = crc32c(buf, this.crc);
  }
}
