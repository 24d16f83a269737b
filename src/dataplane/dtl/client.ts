/**
 * DTL client (spec C6), one per volume. Any error or timeout rejects with a DtlError and leaves the client broken:
 * every later call rejects with the same error, and the volume goes DEGRADED and connects a new client later.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { DtlError } from '../../errors/dataplane.js';
import { DtlOp, DtlStatus, encodeFrame, FRAME_HEADER_BYTES, FrameDecoder, type Frame, MAX_FRAME_BYTES, writeFrameHeader } from './frame.js';
import {
  addPieces, decodeFailure, decodeRange, decodeStreamItem, DtlFailure, encodeRegister, encodeScoNumber, entryBytes, MAX_ENTRIES_PER_ADD,
  type DtlEntry, type DtlRange,
} from './messages.js';
import { AsyncAddQueue } from './send-queue.js';

export interface DtlClientOptions {
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** `sync`: add() resolves once the server has the entries. `async`: add() queues them (see AsyncAddQueue). */
  mode?: 'sync' | 'async';
  /** Entries the async queue holds before add() waits. */
  queueEntries?: number;
  /** Called once when the client breaks, also when nothing is in flight (the server closed an idle connection). */
  onBroken?: (error: DtlError) => void;
}

type DtlErrorReason = 'unreachable' | 'timeout' | 'closed' | 'fenced' | 'refused' | 'protocol' | 'server';

interface PendingRequest {
  /** Returns true when the request is complete. */
  onFrame(frame: Frame): boolean;
  onError(error: DtlError): void;
  timer: NodeJS.Timeout;
}

const FAILURE_REASONS: Record<DtlFailure, DtlErrorReason> = {
  [DtlFailure.NOT_REGISTERED]: 'refused',
  [DtlFailure.FENCED]: 'fenced',
  [DtlFailure.REFUSED]: 'refused',
  [DtlFailure.BAD_REQUEST]: 'protocol',
  [DtlFailure.SERVER]: 'server',
};

export class DtlClient {
  private readonly decoder = new FrameDecoder();
  private readonly pending = new Map<number, PendingRequest>();
  private nextRequestId = 1;
  private failure: DtlError | undefined;
  private ns = '';
  private clusterSize = 0;
  private readonly queue: AsyncAddQueue | undefined;
  private corked = false;
  /** The entries added in this event-loop turn: they leave together, as few ADD frames as the SCOs allow. */
  private gathering: { entries: DtlEntry[]; waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> } | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly host: string,
    private readonly port: number,
    private readonly requestTimeoutMs: number,
    private readonly options: DtlClientOptions,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('error', (error) => this.fail('closed', `connection to the DTL failed: ${error.message}`));
    socket.on('close', () => this.fail('closed', 'the DTL closed the connection'));
    if (options.mode === 'async') {
      this.queue = new AsyncAddQueue(
        options.queueEntries ?? 1024,
        (entries) => this.sendAdd(entries),
        () => this.failure,
        (error) => this.fail('protocol', `sending queued entries to the DTL failed: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
  }

  static async connect(host: string, port: number, options: DtlClientOptions = {}): Promise<DtlClient> {
    const connectTimeoutMs = options.connectTimeoutMs ?? 1000;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const socket = netConnect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new DtlError(`DTL ${host}:${port} did not accept a connection within ${connectTimeoutMs} ms`, { reason: 'timeout', host, port }));
      }, connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new DtlError(`DTL ${host}:${port} is unreachable: ${error.message}`, { reason: 'unreachable', host, port }));
      });
    });
    return new DtlClient(socket, host, port, options.requestTimeoutMs ?? 60_000, options);
  }

  /** Set once the client failed; a broken client never recovers. */
  get broken(): DtlError | undefined {
    return this.failure;
  }

  /** Takes the namespace over on the server, fencing a previous client with a lower or equal owner tag. */
  async register(ns: string, clusterSize: number, ownerTag: bigint): Promise<void> {
    await this.request(DtlOp.REGISTER, encodeRegister({ ns, clusterSize, ownerTag }));
    this.ns = ns;
    this.clusterSize = clusterSize;
  }

  /**
   * Sync mode: resolves once the server appended every entry (not yet durable: see flush()); the entries' data is
   * sent from where it is, so it must stay unchanged until then. Async mode: resolves once the entries are queued
   * (copied), waiting while the queue is full.
   */
  async add(entries: readonly DtlEntry[]): Promise<void> {
    this.throwIfBroken();
    if (this.clusterSize === 0) throw new DtlError('DTL add before register', { reason: 'protocol', host: this.host, port: this.port });
    const wrongSize = entries.find((entry) => entry.data.length !== this.clusterSize);
    if (wrongSize !== undefined) throw new RangeError(`DTL entry of ${wrongSize.data.length} bytes, cluster size is ${this.clusterSize}`);
    if (this.queue !== undefined) return this.queue.add(entries);
    await this.sendAdd(entries);
  }

  /** Resolves once every entry added before is on the server's disk (async mode: the queue drained first). */
  async flush(): Promise<void> {
    if (this.queue !== undefined) await this.queue.drained();
    await this.request(DtlOp.FLUSH);
  }

  async clear(): Promise<void> {
    if (this.queue !== undefined) await this.queue.drained();
    await this.request(DtlOp.CLEAR);
  }

  /** Drops the entries of SCOs up to `scoNumber` (they reached the backend). */
  async removeUpTo(scoNumber: number): Promise<void> {
    if (this.queue !== undefined) await this.queue.drained();
    await this.request(DtlOp.REMOVE_UP_TO, encodeScoNumber(scoNumber));
  }

  /** Oldest and youngest SCO numbers on the server, `undefined` when it holds nothing. */
  async rangeOf(): Promise<DtlRange | undefined> {
    if (this.queue !== undefined) await this.queue.drained();
    return decodeRange(await this.request(DtlOp.RANGE));
  }

  /** Every entry on the server in SCO, then append order (to replay after a failover). */
  entries(): AsyncIterable<DtlEntry> {
    return this.stream(DtlOp.ENTRIES);
  }

  /** The entries of one SCO. */
  scoEntries(scoNumber: number): AsyncIterable<DtlEntry> {
    return this.stream(DtlOp.GET_SCO, encodeScoNumber(scoNumber));
  }

  /** Deletes the namespace's entries on the server and ends the session. */
  async unregister(): Promise<void> {
    if (this.queue !== undefined) await this.queue.drained();
    await this.request(DtlOp.UNREGISTER);
    this.ns = '';
    this.clusterSize = 0;
  }

  close(): void {
    this.fail('closed', 'the DTL client was closed');
  }

  private entriesPerFrame(): number {
    return Math.max(1, Math.min(MAX_ENTRIES_PER_ADD, Math.floor((MAX_FRAME_BYTES - FRAME_HEADER_BYTES - 4) / entryBytes(this.clusterSize))));
  }

  /**
   * Gathers the entries of this event-loop turn (every write of one NBD poll): at the end of the turn they leave as
   * few ADD frames as their SCOs allow, answered by one reply each, instead of a frame, a reply and a timer per write.
   * Adds reach the server in call order, and before any later request, so the DTL holds writes in the order the
   * volume reserved them.
   */
  private sendAdd(entries: readonly DtlEntry[]): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.gathering === undefined) {
      this.gathering = { entries: [], waiters: [] };
      this.corkUntilTick();
    }
    const g = this.gathering;
    for (const entry of entries) g.entries.push(entry);
    return new Promise<void>((resolve, reject) => g.waiters.push({ resolve, reject }));
  }

  private sendGathered(): void {
    const g = this.gathering;
    if (g === undefined) return;
    this.gathering = undefined;
    const acks = [...batches(g.entries, this.entriesPerFrame())].map((batch) => this.requestPieces(DtlOp.ADD, addPieces(batch, this.clusterSize, FRAME_HEADER_BYTES)));
    Promise.all(acks).then(
      () => g.waiters.forEach((w) => w.resolve()),
      (e: unknown) => g.waiters.forEach((w) => w.reject(e)),
    );
  }

  private async request(op: DtlOp, payload?: Buffer): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      this.start(op, payload, (frame) => (resolve(frame.payload), true), reject);
    });
  }

  /** A request whose payload is `pieces`, the first with FRAME_HEADER_BYTES of room in front. */
  private requestPieces(op: DtlOp, pieces: Buffer[]): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      this.start(op, undefined, (reply) => (resolve(reply.payload), true), reject, pieces);
    });
  }

  private async *stream(op: DtlOp, payload?: Buffer): AsyncGenerator<DtlEntry> {
    const arrived: DtlEntry[] = [];
    let next = 0;
    let finished = false;
    let error: DtlError | undefined;
    let wake: (() => void) | undefined;
    this.start(
      op,
      payload,
      (frame) => {
        const entry = decodeStreamItem(frame.payload);
        if (entry === undefined) finished = true;
        else arrived.push(entry);
        wake?.();
        return finished;
      },
      (failure) => {
        error = failure;
        wake?.();
      },
    );
    for (;;) {
      if (next < arrived.length) {
        yield arrived[next++]!;
        if (next > 1024) {
          arrived.splice(0, next);
          next = 0;
        }
      } else if (error !== undefined) {
        throw error;
      } else if (finished) {
        return;
      } else {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    }
  }

  private start(op: DtlOp, payload: Buffer | undefined, onFrame: (frame: Frame) => boolean, onError: (error: DtlError) => void, pieces?: Buffer[]): void {
    if (this.failure !== undefined) return onError(this.failure);
    const requestId = this.nextRequestId;
    this.nextRequestId = (this.nextRequestId + 1) >>> 0 || 1;
    const timer = setTimeout(() => this.fail('timeout', `DTL request ${DtlOp[op]} got no answer within ${this.requestTimeoutMs} ms`), this.requestTimeoutMs);
    if (op !== DtlOp.ADD) this.sendGathered();
    this.pending.set(requestId, { onFrame, onError, timer });
    this.corkUntilTick();
    if (pieces !== undefined) {
      writeFrameHeader(pieces[0]!, op, requestId, pieces.reduce((n, p) => n + p.length, 0) - FRAME_HEADER_BYTES);
      for (const piece of pieces) this.socket.write(piece);
    } else {
      this.socket.write(encodeFrame(op, requestId, payload));
    }
  }

  /**
   * Requests made in the same event-loop iteration (every NBD request that arrived in one poll, with its writes in
   * flight) leave in one system call: on loopback and in the kernel each send costs far more than its bytes.
   */
  private corkUntilTick(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    setImmediate(() => {
      this.sendGathered();
      this.corked = false;
      this.socket.uncork();
    });
  }

  private received(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      return this.fail('protocol', `bad frame from the DTL: ${(error as Error).message}`);
    }
    for (const frame of frames) {
      const request = this.pending.get(frame.requestId);
      if (request === undefined) return this.fail('protocol', `the DTL answered unknown request ${frame.requestId}`);
      if (frame.code !== (DtlStatus.OK as number)) {
        const { failure, message } = decodeFailure(frame.payload);
        return this.fail(FAILURE_REASONS[failure], `DTL ${this.host}:${this.port} refused a request for ${this.ns || 'no namespace'}: ${message}`);
      }
      let complete: boolean;
      try {
        complete = request.onFrame(frame);
      } catch (error) {
        return this.fail('protocol', `bad reply from the DTL: ${(error as Error).message}`);
      }
      if (complete) {
        clearTimeout(request.timer);
        this.pending.delete(frame.requestId);
      } else {
        request.timer.refresh();
      }
    }
  }

  private fail(reason: DtlErrorReason, message: string): void {
    const first = this.failure === undefined;
    const failure = this.failure ?? new DtlError(message, { reason, ns: this.ns, host: this.host, port: this.port });
    if (first) {
      this.failure = failure;
      this.socket.destroy();
    }
    for (const request of this.pending.values()) {
      clearTimeout(request.timer);
      request.onError(failure);
    }
    this.pending.clear();
    const gathered = this.gathering;
    this.gathering = undefined;
    gathered?.waiters.forEach((w) => w.reject(failure));
    this.queue?.wake();
    if (first) this.options.onBroken?.(failure);
  }

  private throwIfBroken(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

/** Splits into frames of at most `size` entries and never across SCOs, so a frame lands in one DTL file. */
function* batches(entries: readonly DtlEntry[], size: number): Generator<readonly DtlEntry[]> {
  let start = 0;
  while (start < entries.length) {
    const sco = entries[start]!.location.scoNumber;
    let end = start + 1;
    while (end < entries.length && end - start < size && entries[end]!.location.scoNumber === sco) end++;
    yield entries.slice(start, end);
    start = end;
  }
}

