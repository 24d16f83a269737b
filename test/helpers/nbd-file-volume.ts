import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { NbdExports, NbdVolume } from '../../src/dataplane/nbd/export.js';

/** A file-backed NbdVolume for tests (the real Volume comes from the data plane). */
export class FileVolume implements NbdVolume {
  halted = false;
  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    readonly readOnly: boolean,
    readonly blockSize: number,
  ) {}

  /** Opens (creating if needed) `path` and sets its length to `size`. */
  static async create(path: string, size: number, opts: { readOnly?: boolean; blockSize?: number } = {}): Promise<FileVolume> {
    const fh = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    await fh.truncate(size);
    return new FileVolume(fh, size, opts.readOnly ?? false, opts.blockSize ?? 4096);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const b = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(b, done, length - done, offset + done);
      if (bytesRead === 0) {
        b.fill(0, done);
        break;
      }
      done += bytesRead;
    }
    return b;
  }

  async write(offset: number, data: Buffer, opts?: { fua?: boolean }): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
    if (opts?.fua) await this.fh.datasync();
  }

  async sync(): Promise<void> {
    await this.fh.datasync();
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** NbdExports over a Map (name → volume). */
export class MapExports implements NbdExports {
  readonly volumes = new Map<string, NbdVolume>();

  constructor(entries: Iterable<[string, NbdVolume]> = []) {
    for (const [k, v] of entries) this.volumes.set(k, v);
  }

  lookup(name: string): NbdVolume | undefined {
    return this.volumes.get(name);
  }

  list(): string[] {
    return [...this.volumes.keys()];
  }
}
