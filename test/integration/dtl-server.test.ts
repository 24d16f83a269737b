import test from 'ava';
import { promises as fs } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DtlClient, type DtlClientOptions } from '../../src/dataplane/dtl/client.js';
import { DtlOp, DtlStatus, encodeFrame, type Frame, FrameDecoder } from '../../src/dataplane/dtl/frame.js';
import { decodeAdd, decodeFailure, DtlFailure, encodeRange, encodeRegister, type DtlEntry } from '../../src/dataplane/dtl/messages.js';
import { DtlServer } from '../../src/dataplane/dtl/server.js';
import { DtlStore } from '../../src/dataplane/dtl/store.js';
import { DtlError } from '../../src/errors/dataplane.js';

const HOST = '127.0.0.1';
const CLUSTER = 4096;
const cleanups: (() => Promise<void> | void)[] = [];
test.after.always(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function tmpdir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ovs-dtl-'));
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

async function startServer(dir?: string, port = 0): Promise<{ server: DtlServer; port: number; dir: string }> {
  const root = dir ?? (await tmpdir());
  const server = new DtlServer(root);
  const bound = await server.listen(port, HOST);
  cleanups.push(() => server.close());
  return { server, port: bound, dir: root };
}

async function client(port: number, options: DtlClientOptions = {}): Promise<DtlClient> {
  const c = await DtlClient.connect(HOST, port, { connectTimeoutMs: 1000, requestTimeoutMs: 5000, ...options });
  cleanups.push(() => c.close());
  return c;
}

/** Entries of distinct content: SCO `sco`, offsets from `first`, cluster filled from a seed. */
function makeEntries(sco: number, count: number, first = 0, clusterSize = CLUSTER): DtlEntry[] {
  return Array.from({ length: count }, (_, i) => {
    const data = Buffer.alloc(clusterSize);
    for (let b = 0; b < clusterSize; b += 4) data.writeUInt32BE((sco * 1_000_003 + (first + i) * 7919 + b) >>> 0, b);
    return { location: { scoNumber: sco, offset: first + i }, lba: BigInt((sco << 20) + first + i) * 8n, data };
  });
}

async function collect(entries: AsyncIterable<DtlEntry>): Promise<DtlEntry[]> {
  const out: DtlEntry[] = [];
  for await (const entry of entries) out.push(entry);
  return out;
}

const isDtlError = (reason: string) => (error: unknown): boolean => error instanceof DtlError && error.details.reason === reason;

function closedByPeer(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

test('sync mode: add, flush, entries, GET_SCO, range, removeUpTo and clear round trip the bytes', async (t) => {
  const { port } = await startServer();
  const c = await client(port);
  await c.register('vol1', CLUSTER, 1n);
  t.is(await c.rangeOf(), undefined);
  const written = [...makeEntries(1, 300), ...makeEntries(2, 10), ...makeEntries(3, 5)];
  await c.add(written);
  await c.flush();
  t.deepEqual(await collect(c.entries()), written);
  t.deepEqual(await collect(c.scoEntries(2)), written.slice(300, 310));
  t.deepEqual(await c.rangeOf(), { oldest: 1, youngest: 3 });
  await c.removeUpTo(2);
  t.deepEqual(await c.rangeOf(), { oldest: 3, youngest: 3 });
  t.deepEqual(await collect(c.entries()), written.slice(310));
  await c.clear();
  t.is(await c.rangeOf(), undefined);
  t.deepEqual(await collect(c.entries()), []);
  t.is(c.broken, undefined);
});

test('sync mode: the adds of one event-loop turn leave as one ADD frame per SCO, in call order, ahead of a later request of the same turn', async (t) => {
  const frames: Array<{ op: number; entries: DtlEntry[] }> = [];
  const server: Server = createServer((socket) => {
    socket.on('error', () => undefined);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        frames.push({ op: frame.code, entries: frame.code === (DtlOp.ADD as number) ? decodeAdd(frame.payload, CLUSTER) : [] });
        socket.write(encodeFrame(DtlStatus.OK, frame.requestId, frame.code === (DtlOp.RANGE as number) ? encodeRange(undefined) : undefined));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const c = await client((server.address() as { port: number }).port);
  await c.register('vol1', CLUSTER, 1n);
  frames.length = 0;
  const [a, b, d] = [makeEntries(1, 3), makeEntries(1, 2, 3), makeEntries(2, 1)];
  const acks = [c.add(a), c.add(b), c.add(d)];
  const range = c.rangeOf();
  await Promise.all(acks);
  t.is(await range, undefined);
  t.deepEqual(frames.map((f) => [DtlOp[f.op], f.entries.length]), [['ADD', 5], ['ADD', 1], ['RANGE', 0]]);
  t.deepEqual(frames.flatMap((f) => f.entries), [...a, ...b, ...d]);
  // The next turn's adds are the next frame.
  await c.add(makeEntries(2, 1, 1));
  t.is(frames.length, 4);
});

test('flushed entries survive a server restart and a client reconnect; UNREGISTER deletes them', async (t) => {
  const first = await startServer();
  const c1 = await client(first.port);
  await c1.register('vol1', CLUSTER, 3n);
  const written = [...makeEntries(7, 20), ...makeEntries(8, 3)];
  await c1.add(written);
  await c1.flush();
  await first.server.close();
  await t.throwsAsync(c1.add(makeEntries(9, 1)), { is: c1.broken });
  t.true(isDtlError('closed')(c1.broken));

  const second = await startServer(first.dir);
  const c2 = await client(second.port);
  await t.throwsAsync(c2.register('vol1', CLUSTER, 2n), { message: /owner tag 3/ });
  t.true(isDtlError('refused')(c2.broken));
  const c3 = await client(second.port);
  await c3.register('vol1', CLUSTER, 3n);
  t.deepEqual(await collect(c3.entries()), written);
  await c3.unregister();
  await t.throwsAsync(fs.stat(path.join(first.dir, 'vol1')));
});

test('a higher owner tag fences the previous client; a lower one is refused; other namespaces go on', async (t) => {
  const { port } = await startServer();
  const old = await client(port);
  const other = await client(port);
  await old.register('vol1', CLUSTER, 5n);
  await other.register('vol2', CLUSTER, 1n);
  await old.add(makeEntries(1, 2));
  const newer = await client(port);
  await newer.register('vol1', CLUSTER, 6n);
  const error = await t.throwsAsync(old.add(makeEntries(1, 1, 2)), { instanceOf: DtlError });
  t.is(error.details.reason, 'fenced');
  t.regex(error.message, /taken over by owner tag 6/);
  await t.throwsAsync(old.flush(), { is: error });

  const stale = await client(port);
  await t.throwsAsync(stale.register('vol1', CLUSTER, 4n), { instanceOf: DtlError, message: /belongs to owner tag 6/ });

  t.deepEqual(await collect(newer.entries()), makeEntries(1, 2));
  await other.add(makeEntries(4, 1));
  await other.flush();
  t.deepEqual(await collect(other.entries()), makeEntries(4, 1));
});

test('garbage bytes and a huge frame length close only that connection', async (t) => {
  const { port } = await startServer();
  const c = await client(port);
  await c.register('vol1', CLUSTER, 1n);
  await c.add(makeEntries(1, 1));

  const http = connect(port, HOST);
  const httpClosed = closedByPeer(http);
  http.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await httpClosed;

  const huge = connect(port, HOST);
  const hugeClosed = closedByPeer(huge);
  const header = Buffer.alloc(9);
  header.writeUInt32BE(0xffff_fff0, 0);
  huge.write(header);
  await hugeClosed;

  const short = connect(port, HOST);
  const shortClosed = closedByPeer(short);
  short.write(Buffer.from([0, 0, 0, 1, 0]));
  await shortClosed;

  await c.add(makeEntries(1, 1, 1));
  await c.flush();
  t.deepEqual(await collect(c.entries()), makeEntries(1, 2));
  const late = await client(port);
  await late.register('vol2', CLUSTER, 1n);
  t.is(await late.rangeOf(), undefined);
});

test('a malformed payload in a well-formed frame gets a not-ok answer and the connection stays open', async (t) => {
  const { port } = await startServer();
  const raw = connect(port, HOST);
  raw.on('error', () => undefined);
  const decoder = new FrameDecoder();
  const replies: Frame[] = [];
  let arrived: () => void = () => undefined;
  raw.on('data', (chunk: Buffer) => {
    replies.push(...decoder.push(chunk));
    arrived();
  });
  const reply = async (count: number): Promise<Frame> => {
    while (replies.length < count) await new Promise<void>((resolve) => (arrived = resolve));
    return replies[count - 1]!;
  };
  raw.write(encodeFrame(DtlOp.REGISTER, 1, encodeRegister({ ns: 'vol1', clusterSize: 512, ownerTag: 1n })));
  t.is((await reply(1)).code, DtlStatus.OK);
  raw.write(encodeFrame(DtlOp.ADD, 2, Buffer.from([0, 0, 0, 1, 1, 2, 3])));
  const notOk = await reply(2);
  t.deepEqual([notOk.code, notOk.requestId, decodeFailure(notOk.payload).failure], [DtlStatus.NOT_OK, 2, DtlFailure.BAD_REQUEST]);
  raw.write(encodeFrame(99, 3));
  t.is(decodeFailure((await reply(3)).payload).failure, DtlFailure.BAD_REQUEST);
  raw.write(encodeFrame(DtlOp.RANGE, 4));
  t.deepEqual([(await reply(4)).code, replies[3]!.payload.length], [DtlStatus.OK, 0]);
  raw.destroy();

  const c = await client(port);
  await t.throwsAsync(c.add(makeEntries(1, 1)), { instanceOf: DtlError, message: /before register/ });
  const unregistered = await client(port);
  await t.throwsAsync(unregistered.flush(), { instanceOf: DtlError, message: /REGISTER first/ });
});

test('listen on a port already taken fails with a typed error', async (t) => {
  const { port } = await startServer();
  const second = new DtlServer(await tmpdir());
  const error = await t.throwsAsync(second.listen(port, HOST), { instanceOf: DtlError });
  t.is(error.details.reason, 'port_in_use');
  await second.close();
});

test('async mode: entries arrive in order, the caller may reuse its buffers, and after flush() all are on disk', async (t) => {
  const { port, dir } = await startServer();
  const c = await client(port, { mode: 'async', queueEntries: 64 });
  await c.register('vol1', 512, 1n);
  const written: DtlEntry[] = [];
  const scratch = Buffer.alloc(512);
  for (let sco = 1; sco <= 5; sco++) {
    for (const batch of [makeEntries(sco, 150, 0, 512), makeEntries(sco, 90, 150, 512)]) {
      written.push(...batch);
      for (const entry of batch) {
        entry.data.copy(scratch);
        await c.add([{ ...entry, data: scratch }]);
      }
    }
  }
  await t.throwsAsync(c.add(makeEntries(9, 1, 0, 4096)), { instanceOf: RangeError, message: /cluster size is 512/ });
  await c.flush();
  t.is(c.broken, undefined);
  const onDisk: DtlEntry[] = [];
  const store = new DtlStore(dir);
  await (await store.namespace('vol1')).forEachEntry(async (entry) => void onDisk.push(entry));
  await store.close();
  t.is(onDisk.length, written.length);
  t.deepEqual(onDisk, written);
  t.deepEqual(await collect(c.entries()), written);
});

test('async mode: the producer waits on a full queue and fails when the server stalls', async (t) => {
  const stalled = await silentServer({ answerFirstFrame: true });
  const c = await client(stalled, { mode: 'async', queueEntries: 8, requestTimeoutMs: 400 });
  await c.register('vol1', 512, 1n);
  await c.add(makeEntries(1, 8, 0, 512));
  let settled = false;
  const ninth = c.add(makeEntries(1, 1, 8, 512)).finally(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.false(settled, 'the producer waits while the queue is full');
  await t.throwsAsync(ninth, { instanceOf: DtlError, message: /ADD got no answer within 400 ms/ });
  t.true(isDtlError('timeout')(c.broken));
  await t.throwsAsync(c.flush(), { is: c.broken });
});

test('sync requests time out against a server that never answers; an unused port is unreachable', async (t) => {
  const stalled = await silentServer();
  const c = await client(stalled, { requestTimeoutMs: 200 });
  const started = Date.now();
  const error = await t.throwsAsync(c.rangeOf(), { instanceOf: DtlError });
  t.is(error.details.reason, 'timeout');
  t.true(Date.now() - started >= 190);
  await t.throwsAsync(c.flush(), { is: error });

  const { server, port } = await startServer();
  await server.close();
  await t.throwsAsync(DtlClient.connect(HOST, port, { connectTimeoutMs: 500 }), { instanceOf: DtlError, message: /unreachable/ });
});

/** A server that reads and never answers (but the first frame, with `answerFirstFrame`, so REGISTER passes). */
async function silentServer({ answerFirstFrame = false } = {}): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    const decoder = new FrameDecoder();
    let answered = !answerFirstFrame;
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        if (answered) continue;
        answered = true;
        socket.write(encodeFrame(DtlStatus.OK, frame.requestId));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return address.port;
}
