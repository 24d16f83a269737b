import test, { type ExecutionContext } from 'ava';
import { NbdServer, type NbdServerOptions } from '../../src/dataplane/nbd/server.js';
import { MapExports } from '../helpers/nbd-file-volume.js';
import { Gate, MemoryVolume } from '../helpers/nbd-memory-volume.js';
import { RawClient, attach, infoData, option, readOptionReply, readReply, readReplyExact, request } from '../helpers/nbd-raw-client.js';
import { waitFor } from '../helpers/eventually.js';

const MiB = 1024 * 1024;
const REPLY_MAGIC = 0x3e889045565a9n;
const CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, CACHE: 5, WRITE_ZEROES: 6, BLOCK_STATUS: 7 } as const;
const OPT = { EXPORT_NAME: 1, ABORT: 2, LIST: 3, STARTTLS: 5, INFO: 6, GO: 7, STRUCTURED_REPLY: 8, SET_META_CONTEXT: 10 } as const;
const REP = { ACK: 1, SERVER: 2, INFO: 3, ERR_UNSUP: 0x80000001, ERR_UNKNOWN: 0x80000006 } as const;
const E = { EPERM: 1, EIO: 5, EINVAL: 22, ENOSPC: 28, ESHUTDOWN: 108 } as const;

async function serve(t: ExecutionContext, volumes: Record<string, MemoryVolume>, opts: NbdServerOptions = {}): Promise<{ server: NbdServer; port: number }> {
  const server = new NbdServer(new MapExports(Object.entries(volumes)), opts);
  const port = await server.listen(0, '127.0.0.1');
  t.teardown(async () => {
    for (const v of Object.values(volumes)) v.writeGate?.open(); // a failed test must not leave writes held
    await server.close();
  });
  return { server, port };
}

async function client(t: ExecutionContext, port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  t.teardown(() => c.destroy());
  return c;
}

function clientFlags(flags: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(flags, 0);
  return b;
}

function pattern(len: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** READ and return [error, data]. */
async function readAt(c: RawClient, cookie: number, offset: number, length: number): Promise<{ error: number; data: Buffer }> {
  await c.write(request(CMD.READ, cookie, offset, length));
  const r = await readReply(c);
  if (r.cookie !== cookie) throw new Error(`expected cookie ${cookie}, got ${r.cookie}`);
  return { error: r.error, data: r.error === 0 && length > 0 ? await c.read(length) : Buffer.alloc(0) };
}

async function writeAt(c: RawClient, cookie: number, offset: number, data: Buffer, flags = 0): Promise<number> {
  await c.write(request(CMD.WRITE, cookie, offset, data.length, { data, flags }));
  const r = await readReply(c);
  if (r.cookie !== cookie) throw new Error(`expected cookie ${cookie}, got ${r.cookie}`);
  return r.error;
}

test('greeting and EXPORT_NAME replies have the exact byte layout (with and without NO_ZEROES)', async (t) => {
  const { port } = await serve(t, { vol: new MemoryVolume(64 * MiB), ro: new MemoryVolume(MiB, true) });

  const a = await client(t, port);
  const greeting = await a.read(18);
  t.is(greeting.toString('hex'), Buffer.concat([Buffer.from('NBDMAGICIHAVEOPT'), Buffer.from([0, 3])]).toString('hex'));
  await a.write(Buffer.concat([clientFlags(3), option(OPT.EXPORT_NAME, Buffer.from('vol'))]));
  const r = await a.read(10);
  t.is(r.readBigUInt64BE(0), BigInt(64 * MiB));
  t.is(r.readUInt16BE(8), 1 | 4 | 8 | 64, 'HAS_FLAGS|SEND_FLUSH|SEND_FUA|SEND_WRITE_ZEROES, no MULTI_CONN');
  // nothing more than those 10 bytes: the next bytes are a read reply
  const rd = await readAt(a, 1, 0, 512);
  t.is(rd.error, 0);
  t.is(rd.data.length, 512);

  const b = await client(t, port);
  await b.read(18);
  await b.write(Buffer.concat([clientFlags(1), option(OPT.EXPORT_NAME, Buffer.from('ro'))]));
  const r2 = await b.read(134);
  t.is(r2.readBigUInt64BE(0), BigInt(MiB));
  t.is(r2.readUInt16BE(8), 1 | 2 | 4 | 8 | 64, 'read-only flag set');
  t.true(r2.subarray(10).equals(Buffer.alloc(124)), '124 zero bytes without NO_ZEROES');
});

test('GO replies INFO_EXPORT and INFO_BLOCK_SIZE then ACK; INFO stays in negotiation', async (t) => {
  const { port } = await serve(t, { vol: new MemoryVolume(8 * MiB, false, 65536) });
  const c = await client(t, port);
  await c.read(18);
  await c.write(Buffer.concat([clientFlags(3), option(OPT.INFO, infoData('vol', [3]))]));
  for (const opt of [OPT.INFO, OPT.GO]) {
    if (opt === OPT.GO) await c.write(option(OPT.GO, infoData('vol')));
    const r1 = await readOptionReply(c);
    t.is(r1.magic, REPLY_MAGIC);
    t.is(r1.option, opt);
    t.is(r1.type, REP.INFO);
    t.is(r1.data.length, 12);
    t.is(r1.data.readUInt16BE(0), 0);
    t.is(r1.data.readBigUInt64BE(2), BigInt(8 * MiB));
    t.is(r1.data.readUInt16BE(10), 77);
    const r2 = await readOptionReply(c);
    t.is(r2.type, REP.INFO);
    t.deepEqual([r2.data.readUInt16BE(0), r2.data.readUInt32BE(2), r2.data.readUInt32BE(6), r2.data.readUInt32BE(10)], [3, 1, 65536, 32 * MiB]);
    const ack = await readOptionReply(c);
    t.deepEqual([ack.option, ack.type, ack.data.length], [opt, REP.ACK, 0]);
  }
  // after GO: transmission
  t.is((await readAt(c, 9, 4096, 4096)).error, 0);
});

test('unsupported options (STRUCTURED_REPLY, SET_META_CONTEXT, STARTTLS, unknown) get ERR_UNSUP and negotiation continues', async (t) => {
  const vol = new MemoryVolume(MiB);
  const { port } = await serve(t, { vol, other: new MemoryVolume(MiB) });
  const c = await client(t, port);
  await c.read(18);
  await c.write(clientFlags(3));
  for (const code of [OPT.STRUCTURED_REPLY, OPT.SET_META_CONTEXT, OPT.STARTTLS, 42, 0x7fffffff]) {
    await c.write(option(code, code === OPT.SET_META_CONTEXT ? Buffer.alloc(20) : Buffer.alloc(0)));
    const r = await readOptionReply(c);
    t.is(r.magic, REPLY_MAGIC);
    t.is(r.option, code);
    t.is(r.type, REP.ERR_UNSUP, `option ${code}`);
  }
  // LIST still works
  await c.write(option(OPT.LIST));
  const names: string[] = [];
  for (;;) {
    const r = await readOptionReply(c);
    if (r.type === REP.ACK) break;
    t.is(r.type, REP.SERVER);
    names.push(r.data.toString('utf8', 4, 4 + r.data.readUInt32BE(0)));
  }
  t.deepEqual(names.sort(), ['other', 'vol']);
  // unknown export through GO: ERR_UNKNOWN, still negotiating
  await c.write(option(OPT.GO, infoData('nope')));
  t.is((await readOptionReply(c)).type, REP.ERR_UNKNOWN);
  await c.write(option(OPT.GO, infoData('vol')));
  for (let r = await readOptionReply(c); r.type !== REP.ACK; r = await readOptionReply(c)) t.is(r.type, REP.INFO);
  vol.data.write('hello', 100);
  t.is((await readAt(c, 1, 100, 5)).data.toString(), 'hello');
});

test('negotiation errors close the connection: no fixed-newstyle flag, bad option magic, unknown EXPORT_NAME, oversized option, ABORT', async (t) => {
  const { port } = await serve(t, { vol: new MemoryVolume(MiB) });

  const noFixed = await client(t, port);
  await noFixed.read(18);
  await noFixed.write(clientFlags(0));
  t.true(await noFixed.expectClose(), 'client without fixed newstyle rejected');

  const badMagic = await client(t, port);
  await badMagic.read(18);
  const bad = option(OPT.LIST);
  bad.write('XHAVEOPT', 0, 'latin1');
  await badMagic.write(Buffer.concat([clientFlags(3), bad]));
  t.true(await badMagic.expectClose(), 'bad option magic');

  const unknown = await client(t, port);
  await unknown.read(18);
  await unknown.write(Buffer.concat([clientFlags(3), option(OPT.EXPORT_NAME, Buffer.from('nope'))]));
  t.true(await unknown.expectClose(), 'unknown EXPORT_NAME closes');

  const big = await client(t, port);
  await big.read(18);
  const h = option(99);
  h.writeUInt32BE(64 * 1024 + 1, 12);
  await big.write(Buffer.concat([clientFlags(3), h]));
  t.true(await big.expectClose(), 'oversized option data closes');

  const abort = await client(t, port);
  await abort.read(18);
  await abort.write(Buffer.concat([clientFlags(3), option(OPT.ABORT)]));
  const ack = await readOptionReply(abort);
  t.deepEqual([ack.option, ack.type], [OPT.ABORT, REP.ACK]);
  t.true(await abort.expectClose(), 'ABORT: ACK then close');
});

test('a whole session sent one byte at a time (handshake, write, read, flush)', async (t) => {
  const vol = new MemoryVolume(MiB);
  const { port } = await serve(t, { vol });
  const c = await client(t, port);
  const bytes = async (b: Buffer): Promise<void> => {
    for (const x of b) await c.write(Buffer.from([x]));
  };
  await c.read(18);
  await bytes(Buffer.concat([clientFlags(3), option(OPT.GO, infoData('vol'))]));
  for (let r = await readOptionReply(c); r.type !== REP.ACK; r = await readOptionReply(c)) t.is(r.type, REP.INFO);
  const data = pattern(300, 7);
  await bytes(request(CMD.WRITE, 0x0102030405060708n, 5000, data.length, { data }));
  const w = await readReplyExact(c);
  t.deepEqual([w.error, w.cookie], [0, 0x0102030405060708n]);
  t.true(vol.data.subarray(5000, 5300).equals(data));
  await bytes(request(CMD.READ, 2, 4999, 302));
  const r = await readReply(c);
  t.deepEqual([r.error, r.cookie], [0, 2]);
  t.true((await c.read(302)).equals(Buffer.concat([Buffer.alloc(1), data, Buffer.alloc(1)])));
  await bytes(request(CMD.FLUSH, 3, 0, 0));
  t.deepEqual(await readReply(c), { error: 0, cookie: 3 });
});

test('several requests merged into one packet are all answered', async (t) => {
  const vol = new MemoryVolume(MiB);
  const { port } = await serve(t, { vol });
  const c = await client(t, port);
  await c.read(18);
  const reqs = [];
  for (let i = 0; i < 10; i++) reqs.push(request(CMD.WRITE, 100 + i, i * 1000, 10, { data: Buffer.alloc(10, i + 1) }));
  await c.write(Buffer.concat([clientFlags(3), option(OPT.EXPORT_NAME, Buffer.from('vol')), ...reqs, request(CMD.FLUSH, 200, 0, 0)]));
  await c.read(10);
  const cookies = new Set<number>();
  for (let i = 0; i < 11; i++) {
    const r = await readReply(c);
    t.is(r.error, 0);
    cookies.add(r.cookie);
  }
  t.is(cookies.size, 11);
  for (let i = 0; i < 10; i++) t.true(vol.data.subarray(i * 1000, i * 1000 + 10).equals(Buffer.alloc(10, i + 1)));
});

test('out-of-range requests get EINVAL and the connection stays usable; zero-length requests are no-ops', async (t) => {
  const vol = new MemoryVolume(MiB);
  const { port } = await serve(t, { vol });
  const c = await client(t, port);
  await attach(c, 'vol');

  t.is((await readAt(c, 1, MiB - 100, 101)).error, E.EINVAL, 'read crossing the end');
  t.is((await readAt(c, 2, MiB + 4096, 10)).error, E.EINVAL, 'read past the end');
  await c.write(request(CMD.READ, 3, 0, 10).fill(0xff, 16, 24)); // offset 2^64-1
  t.deepEqual(await readReply(c), { error: E.EINVAL, cookie: 3 });
  // a write out of range: its payload is consumed, nothing written
  t.is(await writeAt(c, 4, MiB - 10, Buffer.alloc(20, 0xab)), E.EINVAL);
  t.true(vol.data.subarray(MiB - 10).equals(Buffer.alloc(10)));
  await c.write(request(CMD.WRITE_ZEROES, 5, MiB, 1));
  t.deepEqual(await readReply(c), { error: E.EINVAL, cookie: 5 });
  // zero length at the end is in range
  t.is((await readAt(c, 6, MiB, 0)).error, 0);
  t.is(await writeAt(c, 7, MiB, Buffer.alloc(0)), 0);
  // still in sync
  t.is(await writeAt(c, 8, MiB - 4, Buffer.from('tail')), 0);
  t.is((await readAt(c, 9, MiB - 4, 4)).data.toString(), 'tail');
  t.false(vol.events.some((e) => e.startsWith('write-start 1048566')), 'out-of-range write never reached the volume');
});

test('READ longer than 32 MiB gets EINVAL (connection stays); WRITE longer than 32 MiB gets EINVAL and the connection closes', async (t) => {
  const vol = new MemoryVolume(64 * MiB);
  const { port } = await serve(t, { vol });
  const c = await client(t, port);
  await attach(c, 'vol');
  t.is((await readAt(c, 1, 0, 32 * MiB + 1)).error, E.EINVAL);
  t.is((await readAt(c, 2, 0, 16)).error, 0, 'still usable');
  // what follows the header cannot be told apart from payload: even a well-formed READ must not be answered
  await c.write(Buffer.concat([request(CMD.WRITE, 3, 0, 32 * MiB + 1), request(CMD.READ, 4, 0, 16)]));
  t.deepEqual(await readReply(c), { error: E.EINVAL, cookie: 3 });
  t.true(await c.expectClose(), 'closed without answering anything else');
  t.false(vol.events.some((e) => e.startsWith('write')));
});

test('unknown and unadvertised commands (TRIM, CACHE, BLOCK_STATUS, 99) get EINVAL', async (t) => {
  const vol = new MemoryVolume(MiB);
  const { port } = await serve(t, { vol });
  const c = await client(t, port);
  await attach(c, 'vol');
  for (const [i, type] of [CMD.TRIM, CMD.CACHE, CMD.BLOCK_STATUS, 99].entries()) {
    await c.write(request(type, 10 + i, 0, 4096));
    t.deepEqual(await readReply(c), { error: E.EINVAL, cookie: 10 + i }, `command ${type}`);
  }
  t.is(await writeAt(c, 20, 0, Buffer.from('ok')), 0);
});

test('bad request magic closes the connection', async (t) => {
  const { port } = await serve(t, { vol: new MemoryVolume(MiB) });
  const c = await client(t, port);
  await attach(c, 'vol');
  await c.write(request(CMD.READ, 1, 0, 512, { magic: 0x12345678 }));
  t.true(await c.expectClose());
});

test('read-only export: WRITE and WRITE_ZEROES get EPERM (payload consumed), READ and FLUSH work', async (t) => {
  const vol = new MemoryVolume(MiB, true);
  vol.data.fill(0x11);
  const { port } = await serve(t, { ro: vol });
  const c = await client(t, port);
  const { flags } = await attach(c, 'ro');
  t.is(flags & 2, 2);
  t.is(await writeAt(c, 1, 0, Buffer.alloc(4096, 0x22)), E.EPERM);
  await c.write(request(CMD.WRITE_ZEROES, 2, 0, 4096));
  t.deepEqual(await readReply(c), { error: E.EPERM, cookie: 2 });
  const r = await readAt(c, 3, 0, 4096);
  t.is(r.error, 0);
  t.true(r.data.equals(Buffer.alloc(4096, 0x11)));
  await c.write(request(CMD.FLUSH, 4, 0, 0));
  t.deepEqual(await readReply(c), { error: 0, cookie: 4 });
  t.false(vol.events.some((e) => e.startsWith('write')));
});

test('WRITE_ZEROES zeroes the range; FUA syncs after the write', async (t) => {
  const vol = new MemoryVolume(4 * MiB);
  vol.data.fill(0xee);
  const { port } = await serve(t, { vol });
  const c = await client(t, port);
  await attach(c, 'vol');
  await c.write(request(CMD.WRITE_ZEROES, 1, 1000, 3 * MiB));
  t.deepEqual(await readReply(c), { error: 0, cookie: 1 });
  t.true(vol.data.subarray(1000, 1000 + 3 * MiB).equals(Buffer.alloc(3 * MiB)));
  t.is(vol.data[999], 0xee);
  t.is(vol.data[1000 + 3 * MiB], 0xee);
  t.false(vol.events.includes('sync'));
  vol.events.length = 0;
  t.is(await writeAt(c, 2, 0, Buffer.from('fua'), 1), 0);
  t.deepEqual(vol.events, ['write-start 0 3', 'write-end 0 3', 'sync']);
});

test('FLUSH replies only after the earlier writes replied, and syncs after them', async (t) => {
  const vol = new MemoryVolume(MiB);
  const { port } = await serve(t, { vol });
  const c = await client(t, port);
  await attach(c, 'vol');
  vol.writeGate = new Gate();
  await c.write(Buffer.concat([
    request(CMD.WRITE, 1, 0, 4, { data: Buffer.from('aaaa') }),
    request(CMD.WRITE, 2, 8, 4, { data: Buffer.from('bbbb') }),
    request(CMD.FLUSH, 3, 0, 0),
  ]));
  await vol.whenActive(2);
  // Reads after the flush are served while the writes are held; every reply seen until then is a read's.
  for (let i = 0; i < 5; i++) {
    await c.write(request(CMD.READ, 100 + i, 0, 16));
    const r = await readReply(c);
    t.deepEqual(r, { error: 0, cookie: 100 + i }, 'no flush reply before the writes completed');
    await c.read(16);
  }
  t.false(vol.events.includes('sync'));
  vol.writeGate.open();
  const order = [(await readReply(c)).cookie, (await readReply(c)).cookie, (await readReply(c)).cookie];
  t.is(order[2], 3, 'flush reply after both write replies');
  t.deepEqual(order.slice(0, 2).sort(), [1, 2]);
  const syncAt = vol.events.indexOf('sync');
  t.true(syncAt > vol.events.indexOf('write-end 0 4') && syncAt > vol.events.indexOf('write-end 8 4'));
});

test('replies may complete out of order, matched by cookie', async (t) => {
  const vol = new MemoryVolume(MiB);
  vol.data.write('xyz', 0);
  const { port } = await serve(t, { vol });
  const c = await client(t, port);
  await attach(c, 'vol');
  vol.writeGate = new Gate();
  await c.write(Buffer.concat([request(CMD.WRITE, 7, 4096, 3, { data: Buffer.from('abc') }), request(CMD.READ, 8, 0, 3)]));
  const first = await readReply(c);
  t.deepEqual(first, { error: 0, cookie: 8 });
  t.is((await c.read(3)).toString(), 'xyz');
  vol.writeGate.open();
  t.deepEqual(await readReply(c), { error: 0, cookie: 7 });
});

test('in-flight cap: at most maxInFlightPerConnection requests execute at once, the rest wait', async (t) => {
  const vol = new MemoryVolume(MiB);
  const { port } = await serve(t, { vol }, { maxInFlightPerConnection: 2 });
  const c = await client(t, port);
  const other = await client(t, port);
  await attach(c, 'vol');
  await attach(other, 'vol');
  vol.writeGate = new Gate();
  const writes = [];
  for (let i = 0; i < 6; i++) writes.push(request(CMD.WRITE, i + 1, i * 4096, 4096, { data: Buffer.alloc(4096, i + 1) }));
  await c.write(Buffer.concat(writes));
  await vol.whenActive(2);
  for (let i = 0; i < 5; i++) t.is((await readAt(other, 50 + i, 0, 4096)).error, 0); // round trips to let the server run
  t.is(vol.events.filter((e) => e.startsWith('write-start')).length, 2, 'only two writes started');
  vol.writeGate.open();
  const seen = new Set<number>();
  for (let i = 0; i < 6; i++) {
    const r = await readReply(c);
    t.is(r.error, 0);
    seen.add(r.cookie);
  }
  t.is(seen.size, 6);
  t.is(vol.maxActive, 2);
  for (let i = 0; i < 6; i++) t.true(vol.data.subarray(i * 4096, (i + 1) * 4096).equals(Buffer.alloc(4096, i + 1)));
});

test('a client that disconnects mid-WRITE payload does not disturb other clients', async (t) => {
  const vol = new MemoryVolume(4 * MiB);
  const { server, port } = await serve(t, { vol });
  const good = await client(t, port);
  await attach(good, 'vol');
  const bad = await client(t, port);
  await attach(bad, 'vol');
  await waitFor('two connections', () => server.connections().length === 2);
  await bad.write(Buffer.concat([request(CMD.WRITE, 1, 0, 65536), Buffer.alloc(1000, 0x77)]));
  bad.destroy();
  await waitFor('bad connection gone', () => server.connections().length === 1);
  for (let i = 0; i < 10; i++) t.is(await writeAt(good, 10 + i, 65536 + i * 512, Buffer.alloc(512, i)), 0);
  t.is((await readAt(good, 30, 65536 + 512, 512)).data[0], 1);
  t.true(vol.data.subarray(0, 65536).equals(Buffer.alloc(65536)), 'partial payload never written');
  // new clients are still accepted
  const late = await client(t, port);
  await attach(late, 'vol');
  t.is((await readAt(late, 1, 65536 + 9 * 512, 1)).data[0], 9);
  const conns = server.connections();
  t.is(conns.length, 2);
  t.true(conns.every((x) => x.export === 'vol' && x.ip.endsWith('127.0.0.1') && x.port > 0));
});

test('halted volume: requests get ESHUTDOWN; a throwing volume gives EIO (ENOSPC passes through)', async (t) => {
  const vol = new MemoryVolume(MiB);
  const { port } = await serve(t, { vol });
  const c = await client(t, port);
  await attach(c, 'vol');
  vol.halted = true;
  t.is((await readAt(c, 1, 0, 512)).error, E.ESHUTDOWN);
  t.is(await writeAt(c, 2, 0, Buffer.alloc(512)), E.ESHUTDOWN);
  await c.write(request(CMD.FLUSH, 3, 0, 0));
  t.deepEqual(await readReply(c), { error: E.ESHUTDOWN, cookie: 3 });
  await c.write(request(CMD.WRITE_ZEROES, 4, 0, 512));
  t.deepEqual(await readReply(c), { error: E.ESHUTDOWN, cookie: 4 });
  vol.halted = false;
  vol.failWith = new Error('disk on fire');
  t.is((await readAt(c, 5, 0, 512)).error, E.EIO);
  t.is(await writeAt(c, 6, 0, Buffer.alloc(512)), E.EIO);
  await c.write(request(CMD.FLUSH, 7, 0, 0));
  t.deepEqual(await readReply(c), { error: E.EIO, cookie: 7 });
  vol.failWith = Object.assign(new Error('full'), { code: 'ENOSPC' });
  t.is(await writeAt(c, 8, 0, Buffer.alloc(512)), E.ENOSPC);
  vol.failWith = undefined;
  t.is((await readAt(c, 9, 0, 512)).error, 0, 'connection survived the failures');
});

test('DISC finishes in-flight requests, then closes', async (t) => {
  const vol = new MemoryVolume(MiB);
  const { port } = await serve(t, { vol });
  const c = await client(t, port);
  await attach(c, 'vol');
  vol.writeGate = new Gate();
  await c.write(Buffer.concat([request(CMD.WRITE, 1, 0, 3, { data: Buffer.from('end') }), request(CMD.DISC, 2, 0, 0)]));
  await vol.whenActive(1);
  t.false(c.isClosed);
  vol.writeGate.open();
  t.deepEqual(await readReply(c), { error: 0, cookie: 1 });
  t.true(await c.expectClose());
  t.is(vol.data.toString('utf8', 0, 3), 'end');
});

test('close() stops accepting, finishes in-flight requests and closes connections', async (t) => {
  const vol = new MemoryVolume(MiB);
  const server = new NbdServer(new MapExports([['vol', vol]]));
  const port = await server.listen(0, '127.0.0.1');
  t.teardown(async () => {
    vol.writeGate?.open();
    await server.close();
  });
  const c = await client(t, port);
  const idle = await client(t, port);
  await attach(c, 'vol');
  await idle.read(18); // still negotiating
  vol.writeGate = new Gate();
  await c.write(request(CMD.WRITE, 1, 0, 4, { data: Buffer.from('last') }));
  await vol.whenActive(1);
  let closed = false;
  const closing = server.close().then(() => (closed = true));
  t.true(await idle.expectClose(), 'negotiating client dropped');
  t.false(closed, 'close waits for the in-flight write');
  vol.writeGate.open();
  t.deepEqual(await readReply(c), { error: 0, cookie: 1 });
  t.true(await c.expectClose());
  await closing;
  t.is(vol.data.toString('utf8', 0, 4), 'last');
  await t.throwsAsync(RawClient.connect(port));
});

test('a client that half-closes after its requests still gets every reply, then the connection closes', async (t) => {
  const vol = new MemoryVolume(MiB);
  const { port } = await serve(t, { vol }, { maxInFlightPerConnection: 1 });
  const c = await client(t, port);
  await attach(c, 'vol');
  const reqs = [request(CMD.WRITE, 1, 0, 4, { data: Buffer.from('half') }), request(CMD.READ, 2, 0, 4), request(CMD.FLUSH, 3, 0, 0)];
  c.socket.end(Buffer.concat(reqs));
  const got = new Map<number, number>();
  for (let i = 0; i < 3; i++) {
    const r = await readReply(c);
    got.set(r.cookie, r.error);
    if (r.cookie === 2) t.is((await c.read(4)).toString(), 'half');
  }
  t.deepEqual([...got.entries()].sort(), [[1, 0], [2, 0], [3, 0]]);
  t.true(await c.expectClose());
});
