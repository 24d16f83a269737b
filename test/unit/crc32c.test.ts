import test from 'ava';
import { crc32, crc32Combine } from '../../src/dataplane/common/crc32.js';
import { crc32c, crc32cCombine } from '../../src/dataplane/common/crc32c.js';

/** Bit-at-a-time reference: slow, obviously right. */
function reference(data: Uint8Array, previous = 0): number {
  let crc = ~previous >>> 0;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

test('known check value and empty input', (t) => {
  t.is(crc32c(Buffer.from('123456789')), 0xe3069283);
  t.is(crc32c(Buffer.alloc(0)), 0);
  t.is(crc32c(Buffer.alloc(32)), 0x8a9136aa);
});

test('matches the bitwise reference at every alignment and tail length of the word path', (t) => {
  const backing = Buffer.alloc(4096 + 64);
  for (let i = 0; i < backing.length; i++) backing[i] = (i * 131 + (i >> 7)) & 0xff;
  for (let start = 0; start < 8; start++) {
    for (const len of [0, 1, 15, 63, 64, 65, 67, 79, 80, 81, 1000, 4096]) {
      const view = backing.subarray(start, start + len);
      t.is(crc32c(view), reference(view), `start ${start} length ${len}`);
    }
  }
});

test('a running CRC over pieces equals the CRC of the whole', (t) => {
  const whole = Buffer.alloc(1 << 16);
  for (let i = 0; i < whole.length; i++) whole[i] = (i * 7) ^ (i >> 9);
  let running = 0;
  for (let at = 0; at < whole.length; ) {
    const n = Math.min(whole.length - at, 1 + ((at * 37) % 5000));
    running = crc32c(whole.subarray(at, at + n), running);
    at += n;
  }
  t.is(running, crc32c(whole));
  t.is(crc32c(whole), reference(whole));
});

test('crc32cCombine joins pieces summed apart', (t) => {
  const whole = Buffer.alloc(300_000);
  for (let i = 0; i < whole.length; i++) whole[i] = (i * 13) ^ (i >> 11);
  for (const cut of [0, 1, 4095, 4096, 65536, 299_999, 300_000]) {
    const a = whole.subarray(0, cut);
    const b = whole.subarray(cut);
    t.is(crc32cCombine(crc32c(a), crc32c(b), b.length), crc32c(whole), `cut at ${cut}`);
  }
  t.is(crc32cCombine(0, crc32c(whole), whole.length), crc32c(whole));
});

test('CRC-32 of SCO data: check value, and pieces summed apart combine to the whole', (t) => {
  t.is(crc32(Buffer.from('123456789')), 0xcbf43926);
  const data = Buffer.alloc(300_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 13;
  for (const cut of [0, 1, 4096, 65_536, 299_999, 300_000]) {
    const a = data.subarray(0, cut);
    const b = data.subarray(cut);
    t.is(crc32Combine(crc32(a), crc32(b), b.length), crc32(data), `cut at ${cut}`);
    t.is(crc32(b, crc32(a)), crc32(data));
  }
});
