import test from 'ava';
import { DtlOp, encodeFrame, FrameDecoder, FrameTooLargeError, MalformedFrameError, MAX_FRAME_BYTES } from '../../src/dataplane/dtl/frame.js';
import {
  decodeAdd, decodeRange, decodeRegister, decodeStreamItem, encodeAdd, encodeRange, encodeRegister, encodeStreamEntry, STREAM_END, type DtlEntry,
} from '../../src/dataplane/dtl/messages.js';

const header = (length: number): Buffer => {
  const b = Buffer.alloc(9);
  b.writeUInt32BE(length, 0);
  return b;
};

test('frames come out whole whatever the chunking: byte by byte, several in one chunk, split headers', (t) => {
  const frames = [encodeFrame(DtlOp.FLUSH, 1), encodeFrame(DtlOp.ADD, 2, Buffer.from('hello')), encodeFrame(DtlOp.RANGE, 0xffffffff, Buffer.alloc(70_000, 7))];
  const all = Buffer.concat(frames);
  for (const chunkSize of [1, 3, 9, 14, 1000, all.length]) {
    const decoder = new FrameDecoder();
    const out = [];
    for (let at = 0; at < all.length; at += chunkSize) out.push(...decoder.push(all.subarray(at, at + chunkSize)));
    t.deepEqual(out.map((f) => [f.code, f.requestId, f.payload.length]), [[DtlOp.FLUSH, 1, 0], [DtlOp.ADD, 2, 5], [DtlOp.RANGE, 0xffffffff, 70_000]], `chunk ${chunkSize}`);
    t.is(out[1]!.payload.toString(), 'hello');
    t.true(out[2]!.payload.every((b) => b === 7));
    t.is(decoder.bufferedBytes, 0);
  }
});

test('a frame above the limit or shorter than its header is refused as soon as its length is seen', (t) => {
  t.throws(() => new FrameDecoder().push(header(MAX_FRAME_BYTES + 1).subarray(0, 4)), { instanceOf: FrameTooLargeError });
  t.throws(() => new FrameDecoder().push(Buffer.from('GET / HTTP/1.1\r\n')), { instanceOf: FrameTooLargeError });
  t.throws(() => new FrameDecoder().push(header(2)), { instanceOf: MalformedFrameError });
  t.throws(() => encodeFrame(DtlOp.ADD, 1, Buffer.alloc(MAX_FRAME_BYTES)), { instanceOf: FrameTooLargeError });
  t.deepEqual(new FrameDecoder().push(header(MAX_FRAME_BYTES).subarray(0, 4)), []);
});

test('payload codecs round trip and reject malformed payloads', (t) => {
  t.deepEqual(decodeRegister(encodeRegister({ ns: 'vol-1', clusterSize: 4096, ownerTag: 2n ** 63n + 5n })), { ns: 'vol-1', clusterSize: 4096, ownerTag: 2n ** 63n + 5n });
  t.throws(() => decodeRegister(Buffer.alloc(3)), { instanceOf: MalformedFrameError });
  const entries: DtlEntry[] = [
    { location: { scoNumber: 3, offset: 0 }, lba: 0n, data: Buffer.alloc(8, 1) },
    { location: { scoNumber: 4, offset: 8 }, lba: 2n ** 40n, data: Buffer.alloc(8, 2) },
  ];
  t.deepEqual(decodeAdd(encodeAdd(entries, 8), 8), entries);
  t.throws(() => decodeAdd(encodeAdd(entries, 8), 16), { instanceOf: MalformedFrameError });
  t.throws(() => encodeAdd(entries, 16), { instanceOf: RangeError });
  t.deepEqual(decodeRange(encodeRange({ oldest: 1, youngest: 9 })), { oldest: 1, youngest: 9 });
  t.is(decodeRange(encodeRange(undefined)), undefined);
  t.deepEqual(decodeStreamItem(encodeStreamEntry(entries[1]!)), entries[1]);
  t.is(decodeStreamItem(STREAM_END), undefined);
  t.throws(() => decodeStreamItem(Buffer.from([9])), { instanceOf: MalformedFrameError });
});
