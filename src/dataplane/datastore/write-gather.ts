import { writeSync, writevSync } from 'node:fs';

interface Run {
  fd: number;
  position: number;
  end: number;
  buffers: Buffer[];
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

/**
 * Gathers the small writes made in one event-loop turn: writes that continue each other in one file (SCO space is
 * reserved in order, so the writes of one NBD poll usually do) leave in one vectored system call at the end of the
 * turn. Each system call costs far more than copying 4 KiB into the page cache, and the turn's other work (a DTL
 * send, the replies of earlier requests) goes out first instead of waiting behind every write.
 */
export class WriteGather {
  private runs: Run[] = [];
  private scheduled = false;

  /** Resolves once `data` is in the file at `position` (in the page cache, not durable). */
  write(fd: number, data: Buffer, position: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const last = this.runs[this.runs.length - 1];
      if (last !== undefined && last.fd === fd && last.end === position && last.buffers.length < MAX_IOV) {
        last.buffers.push(data);
        last.end += data.length;
        last.waiters.push({ resolve, reject });
      } else {
        this.runs.push({ fd, position, end: position + data.length, buffers: [data], waiters: [{ resolve, reject }] });
      }
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Writes what was gathered now (before a file is closed, for one). */
  flush(): void {
    this.scheduled = false;
    const runs = this.runs;
    this.runs = [];
    for (const run of runs) {
      try {
        writeRun(run);
      } catch (e) {
        for (const w of run.waiters) w.reject(e);
        continue;
      }
      for (const w of run.waiters) w.resolve();
    }
  }
}

/** IOV_MAX on Linux is 1024. */
const MAX_IOV = 1024;

function writeRun(run: Run): void {
  const total = run.end - run.position;
  let written = run.buffers.length === 1 ? 0 : writevSync(run.fd, run.buffers, run.position);
  if (written === total) return;
  // A short vectored write (or a single buffer): the rest one buffer at a time.
  let at = 0;
  for (const b of run.buffers) {
    const from = Math.max(0, written - at);
    let done = from;
    while (done < b.length) done += writeSync(run.fd, b, done, b.length - done, run.position + at + done);
    at += b.length;
    written = Math.max(written, at);
  }
}
