/**
 * CRC32C (Castagnoli), table-driven slicing-by-16 over 32-bit little-endian words; no native addon.
 * `crc32c(b2, crc32c(b1))` = CRC of b1‖b2. Reading four bytes per load through a Uint32Array halves the cost of
 * byte-wise slicing-by-8 in V8 (measured 2.5 vs 1.2 GB/s), which matters because every byte written is summed.
 */
import { endianness } from 'node:os';
import { crcCombiner } from './crc-combine.js';

const POLY = 0x82f63b78;
const SLICES = 16;
/** SLICES tables of 256 entries, back to back: T[k][b] is at TABLE[k * 256 + b]. */
const TABLE = new Uint32Array(SLICES * 256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  TABLE[i] = c >>> 0;
}
for (let t = 1; t < SLICES; t++) {
  for (let i = 0; i < 256; i++) {
    const prev = TABLE[(t - 1) * 256 + i]!;
    TABLE[t * 256 + i] = ((prev >>> 8) ^ TABLE[prev & 0xff]!) >>> 0;
  }
}

const WORDS_OK = endianness() === 'LE';
/** Below this many bytes the word view costs more than it saves. */
const WORD_MIN = 64;

function bytewise(crc: number, data: Uint8Array, from: number, to: number): number {
  const T = TABLE;
  for (let i = from; i < to; i++) crc = T[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return crc;
}

export function crc32c(data: Uint8Array, previous = 0): number {
  let crc = ~previous >>> 0;
  const n = data.length;
  if (!WORDS_OK || n < WORD_MIN) return ~bytewise(crc, data, 0, n) >>> 0;
  const head = (4 - (data.byteOffset & 3)) & 3;
  crc = bytewise(crc, data, 0, head);
  const blocks = (n - head) >>> 4;
  const w = new Uint32Array(data.buffer, data.byteOffset + head, blocks * 4);
  const T = TABLE;
  for (let i = 0; i < w.length; i += 4) {
    const a = w[i]! ^ crc;
    const b = w[i + 1]!;
    const c = w[i + 2]!;
    const d = w[i + 3]!;
    crc =
      T[3840 + (a & 0xff)]! ^ T[3584 + ((a >>> 8) & 0xff)]! ^ T[3328 + ((a >>> 16) & 0xff)]! ^ T[3072 + (a >>> 24)]! ^
      T[2816 + (b & 0xff)]! ^ T[2560 + ((b >>> 8) & 0xff)]! ^ T[2304 + ((b >>> 16) & 0xff)]! ^ T[2048 + (b >>> 24)]! ^
      T[1792 + (c & 0xff)]! ^ T[1536 + ((c >>> 8) & 0xff)]! ^ T[1280 + ((c >>> 16) & 0xff)]! ^ T[1024 + (c >>> 24)]! ^
      T[768 + (d & 0xff)]! ^ T[512 + ((d >>> 8) & 0xff)]! ^ T[256 + ((d >>> 16) & 0xff)]! ^ T[d >>> 24]!;
  }
  return ~bytewise(crc, data, head + blocks * 16, n) >>> 0;
}

/**
 * CRC of a‖b from crc(a), crc(b) and b's length, in O(log length): lets pieces be summed apart (another thread)
 * and joined in order.
 */
export const crc32cCombine = crcCombiner(POLY);
