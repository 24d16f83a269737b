import test from 'ava';
import { Receiver } from '../../src/dataplane/nbd/receiver.js';

/**
 * A stream of messages `[u32 length][payload]`, fed to a Receiver in reads of the given sizes the way the socket
 * does it (ask for a buffer, fill up to its size, report). Payloads of at least `sinkMin` bytes go through a sink.
 */
function parse(stream: Buffer, readSizes: number[], sinkMin: number, shortRead = Infinity): { payloads: Buffer[]; sinkReads: number; maxRx: number } {
  const payloads: Buffer[] = [];
  let want: number | undefined;
  let sinkReads = 0;
  const rx = new Receiver(() => pump(), 1024);
  const pump = (): void => {
    for (;;) {
      if (want === undefined) {
        if (rx.length < 4) return;
        want = rx.take(4).readUInt32BE(0);
        if (want >= sinkMin) rx.receiveInto(Buffer.alloc(want));
        rx.readLimit = want >= sinkMin ? shortRead : Infinity;
        continue;
      }
      if (want >= sinkMin) {
        if (!rx.sinkDone) return;
        payloads.push(rx.takeSink());
      } else {
        if (rx.length < want) return;
        payloads.push(Buffer.from(rx.take(want))); // a view: copied before the next read
      }
      want = undefined;
    }
  };
  let at = 0;
  let maxRx = 0;
  for (let i = 0; at < stream.length; i++) {
    const buf = rx.nextBuffer();
    if (buf.buffer !== (rx as unknown as { rx: Buffer }).rx.buffer) sinkReads++;
    maxRx = Math.max(maxRx, (rx as unknown as { rx: Buffer }).rx.length);
    const n = Math.min(buf.length, readSizes[i % readSizes.length]!, stream.length - at);
    stream.copy(Buffer.from(buf.buffer, buf.byteOffset, buf.length), 0, at, at + n);
    at += n;
    rx.onRead(n);
  }
  return { payloads, sinkReads, maxRx };
}

function message(len: number, seed: number): Buffer {
  const b = Buffer.alloc(4 + len);
  b.writeUInt32BE(len, 0);
  for (let i = 0; i < len; i++) b[4 + i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

const lengths = [0, 3, 28, 4096, 70_000, 5, 300_000, 1, 65_536];
const stream = Buffer.concat(lengths.map((l, k) => message(l, k + 1)));

for (const [readSizes, shortRead] of [[[1]], [[7, 13]], [[4096]], [[65_536]], [[1_000_000]], [[28, 100_000, 3]], [[1_000_000], 5], [[9000], 64]] as Array<[number[], number?]>) {
  test(`reads of ${readSizes.join('/')} bytes${shortRead ? `, ${shortRead} after a large payload` : ''}: every payload arrives intact, large ones through their sink`, (t) => {
    const { payloads, sinkReads } = parse(stream, readSizes, 60_000, shortRead);
    t.deepEqual(payloads.map((p) => p.length), lengths);
    payloads.forEach((p, k) => t.true(p.equals(message(lengths[k]!, k + 1).subarray(4)), `payload ${k}`));
    if (Math.max(...readSizes) < 60_000) t.true(sinkReads > 0, 'socket reads went straight into the sinks');
  });
}

test('the receive buffer grows only as far as unconsumed bytes need', (t) => {
  // Everything small: nothing is taken through a sink and the receive buffer is reused.
  const small = Buffer.concat(Array.from({ length: 2000 }, (_, k) => message(40, k)));
  const { payloads, maxRx } = parse(small, [9000], 1 << 30);
  t.is(payloads.length, 2000);
  t.true(maxRx <= 256 * 1024, `receive buffer stayed small (${maxRx})`);
});

test('bytes read into a sink that clear() dropped are not counted for a later sink', (t) => {
  const rx = new Receiver(() => undefined, 1024);
  rx.receiveInto(Buffer.alloc(10));
  const stale = rx.nextBuffer(); // the socket holds this view of the first sink
  rx.clear();
  const fresh = Buffer.alloc(10);
  rx.receiveInto(fresh);
  stale.fill(1, 0, 5);
  rx.onRead(5);
  t.false(rx.sinkDone);
  t.is(rx.length, 0);
});
