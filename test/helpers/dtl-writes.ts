import { pattern, Shadow } from './volume-harness.js';

export interface PlannedWrite {
  offset: number;
  data: Buffer;
}

const WRITERS = 8;
const WRITE_BYTES = 16 * 1024;

/**
 * The writes of one phase: eight writers, each on its own region (phase 0 the first half of the volume, phase 1
 * the second), each overwriting its region several times, so the end result does not depend on how they interleave.
 */
export function dtlWrites(size: number, phase: 0 | 1): PlannedWrite[][] {
  const half = size / 2;
  const region = half / WRITERS;
  return Array.from({ length: WRITERS }, (_, w) => {
    const base = phase * half + w * region;
    const writes: PlannedWrite[] = [];
    for (let pass = 0; pass < 3; pass++) {
      for (let off = 0; off < region; off += WRITE_BYTES * (pass + 1)) {
        writes.push({ offset: base + off, data: pattern(WRITE_BYTES, 1 + phase * 1_000_000 + w * 10_000 + pass * 1000 + off / WRITE_BYTES) });
      }
    }
    return writes;
  });
}

/** The volume's content after the given phases. */
export function expectedAfter(size: number, phases: Array<0 | 1>): Shadow {
  const s = new Shadow(size);
  for (const phase of phases) for (const writer of dtlWrites(size, phase)) for (const w of writer) s.write(w.offset, w.data);
  return s;
}
