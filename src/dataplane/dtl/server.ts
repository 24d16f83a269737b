/**
 * DTL server (spec C6): keeps the clusters volumes wrote but did not upload yet, so another node can replay them
 * when the owner dies. One server per vPool per node. One active client per namespace: a REGISTER with an owner tag
 * at least the current one takes the namespace over and fences the previous connection; a lower tag is refused.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { DtlError } from '../../errors/dataplane.js';
import { Mutex } from '../common/locks.js';
import { DtlOp, DtlStatus, encodeFrame, FrameDecoder, type Frame, MalformedFrameError } from './frame.js';
import {
  decodeAdd, decodeRegister, decodeScoNumber, DtlFailure, encodeFailure, encodeRange, encodeStreamEntry, STREAM_END, type DtlRegistration,
} from './messages.js';
import { type DtlNamespaceLog, DtlStore, isValidDtlNamespace } from './store.js';
import { FramePool } from './frame-pool.js';

/** Socket reads pause while this many frames of one connection wait to be handled. */
const MAX_QUEUED_FRAMES = 64;

class RequestFailure extends Error {
  constructor(readonly failure: DtlFailure, message: string) {
    super(message);
  }
}

export class DtlServer {
  private readonly store: DtlStore;
  private readonly sessions = new Map<string, DtlConnection>();
  private readonly connections = new Set<DtlConnection>();
  private readonly registrations = new Mutex();
  private server: Server | undefined;

  /** `dir` holds one directory per namespace (the node's `dtl/`). */
  constructor(dir: string) {
    this.store = new DtlStore(dir);
  }

  /** Resolves with the bound port (useful with port 0). */
  async listen(port: number, host: string): Promise<number> {
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        const reason = error.code === 'EADDRINUSE' ? 'port_in_use' : 'unreachable';
        reject(new DtlError(`DTL server cannot listen on ${host}:${port}: ${error.message}`, { reason, host, port }));
      });
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const connection of this.connections) connection.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.store.close();
  }

  private accept(socket: Socket): void {
    const connection = new DtlConnection(socket, this);
    this.connections.add(connection);
    socket.once('close', () => {
      this.connections.delete(connection);
      const ns = connection.registration?.ns;
      if (ns !== undefined && this.sessions.get(ns) === connection) this.sessions.delete(ns);
    });
  }

  /** @internal for DtlConnection */
  async register(connection: DtlConnection, registration: DtlRegistration): Promise<DtlNamespaceLog> {
    return this.registrations.run(async () => {
      const { ns, ownerTag } = registration;
      if (!isValidDtlNamespace(ns)) throw new RequestFailure(DtlFailure.BAD_REQUEST, `invalid namespace ${JSON.stringify(ns)}`);
      const log = await this.store.namespace(ns);
      const current = this.sessions.get(ns)?.registration?.ownerTag ?? 0n;
      const highest = current > log.ownerTag ? current : log.ownerTag;
      if (ownerTag < highest) throw new RequestFailure(DtlFailure.REFUSED, `namespace ${ns} belongs to owner tag ${highest}, not ${ownerTag}`);
      const previous = connection.registration?.ns;
      if (previous !== undefined && previous !== ns && this.sessions.get(previous) === connection) this.sessions.delete(previous);
      // Synchronously before the owner tag write is queued on the namespace, so every later op of the fenced
      // connection sees the new session, and ops it already queued run before anything of the new owner.
      this.sessions.set(ns, connection);
      connection.registration = registration;
      await log.setOwnerTag(ownerTag);
      return log;
    });
  }

  /** @internal The namespace log if `connection` is its active session, else the failure to answer. */
  async activeLog(connection: DtlConnection): Promise<DtlNamespaceLog> {
    const registration = connection.registration;
    if (registration === undefined) throw new RequestFailure(DtlFailure.NOT_REGISTERED, 'REGISTER first');
    const log = await this.store.namespace(registration.ns);
    const active = this.sessions.get(registration.ns);
    if (active !== connection) {
      const by = active?.registration?.ownerTag;
      throw new RequestFailure(DtlFailure.FENCED, `namespace ${registration.ns} was taken over${by === undefined ? '' : ` by owner tag ${by}`}; this session (owner tag ${registration.ownerTag}) is fenced`);
    }
    return log;
  }

  /** @internal */
  async unregister(connection: DtlConnection): Promise<void> {
    await this.activeLog(connection);
    const ns = connection.registration!.ns;
    this.sessions.delete(ns);
    connection.registration = undefined;
    await this.store.drop(ns);
  }
}

/**
 * One client socket; its frames are handled one after the other, in arrival order. ADDs that wait together are
 * appended together (one write per SCO file) and answered together (one socket write): a volume with many writes
 * in flight costs the DTL node far less than one round of file and socket I/O per write.
 */
class DtlConnection {
  registration: DtlRegistration | undefined;
  private readonly pool = new FramePool();
  private readonly decoder = new FrameDecoder((bytes) => this.pool.take(bytes));
  private readonly waiting: Frame[] = [];
  private pumping = false;
  private closed = false;

  constructor(private readonly socket: Socket, private readonly server: DtlServer) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('error', () => this.destroy());
    socket.once('close', () => (this.closed = true));
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch {
      // A bad length means the stream cannot be re-synchronised: drop only this client.
      this.destroy();
      return;
    }
    this.waiting.push(...frames);
    if (this.waiting.length >= MAX_QUEUED_FRAMES) this.socket.pause();
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.waiting.length > 0 && !this.closed) {
        let adds = 0;
        while (adds < this.waiting.length && this.waiting[adds]!.code === (DtlOp.ADD as number)) adds++;
        const batch = this.waiting.splice(0, Math.max(adds, 1));
        try {
          if (adds > 1) await this.handleAdds(batch);
          else await this.handle(batch[0]!);
        } catch {
          // Only a reply to a connection that closed meanwhile fails here; nobody is left to tell.
        }
        // Appended and answered: nothing refers to a gathered payload any more.
        for (const frame of batch) if (frame.gathered) this.pool.give(frame.payload);
        if (this.waiting.length < MAX_QUEUED_FRAMES / 4 && !this.closed) this.socket.resume();
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Several ADDs at once: all appended or, on a failure, each handled alone so each gets its own answer. */
  private async handleAdds(frames: Frame[]): Promise<void> {
    let entries;
    let log;
    try {
      log = await this.server.activeLog(this);
      entries = frames.flatMap((f) => decodeAdd(f.payload, this.registration!.clusterSize));
    } catch {
      for (const frame of frames) await this.handle(frame);
      return;
    }
    try {
      await log.append(entries);
    } catch (error) {
      for (const frame of frames) await this.answerFailure(frame, error);
      return;
    }
    if (this.closed) return;
    this.socket.cork();
    for (const frame of frames) this.socket.write(encodeFrame(DtlStatus.OK, frame.requestId));
    this.socket.uncork();
  }

  private async handle(frame: Frame): Promise<void> {
    try {
      await this.dispatch(frame);
    } catch (error) {
      await this.answerFailure(frame, error);
    }
  }

  private async answerFailure(frame: Frame, error: unknown): Promise<void> {
    if (this.closed) return;
    const failure = error instanceof RequestFailure ? error.failure : error instanceof MalformedFrameError ? DtlFailure.BAD_REQUEST : DtlFailure.SERVER;
    const message = error instanceof Error ? error.message : String(error);
    await this.send(encodeFrame(DtlStatus.NOT_OK, frame.requestId, encodeFailure(failure, message)));
  }

  private async dispatch({ code, requestId, payload }: Frame): Promise<void> {
    const ok = (reply?: Buffer): Promise<void> => this.send(encodeFrame(DtlStatus.OK, requestId, reply));
    switch (code as DtlOp) {
      case DtlOp.REGISTER:
        await this.server.register(this, decodeRegister(payload));
        return ok();
      case DtlOp.ADD: {
        const log = await this.server.activeLog(this);
        await log.append(decodeAdd(payload, this.registration!.clusterSize));
        return ok();
      }
      case DtlOp.FLUSH:
        await (await this.server.activeLog(this)).flush();
        return ok();
      case DtlOp.CLEAR:
        await (await this.server.activeLog(this)).clear();
        return ok();
      case DtlOp.REMOVE_UP_TO: {
        const log = await this.server.activeLog(this);
        await log.removeUpTo(decodeScoNumber(payload, 'REMOVE_UP_TO'));
        return ok();
      }
      case DtlOp.RANGE:
        return ok(encodeRange(await (await this.server.activeLog(this)).range()));
      case DtlOp.ENTRIES:
      case DtlOp.GET_SCO: {
        const log = await this.server.activeLog(this);
        const onlySco = code === (DtlOp.GET_SCO as number) ? decodeScoNumber(payload, 'GET_SCO') : undefined;
        await log.forEachEntry((entry) => this.send(encodeFrame(DtlStatus.OK, requestId, encodeStreamEntry(entry))), onlySco);
        return ok(STREAM_END);
      }
      case DtlOp.UNREGISTER:
        await this.server.unregister(this);
        return ok();
      default:
        throw new RequestFailure(DtlFailure.BAD_REQUEST, `unknown DTL op ${code}`);
    }
  }

  /** Waits for the socket to drain, so a long ENTRIES stream does not pile up in memory. */
  private async send(frame: Buffer): Promise<void> {
    if (this.closed) throw new RequestFailure(DtlFailure.SERVER, 'connection closed');
    if (this.socket.write(frame)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }
}
