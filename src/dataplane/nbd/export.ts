import type { ForwardTarget } from './upstream.js';

/** What the NBD server needs of a volume. The Volume implements it; unit tests may use a file-backed one. */
export interface NbdVolume {
  /** The volume behind the export, whatever name the client used (connections are dropped by it). */
  readonly id?: string;
  /** Size in bytes at the time of the handshake (clients reconnect to see a resize). */
  readonly size: number;
  /** Templates are exported read-only. */
  readonly readOnly: boolean;
  /** Preferred block size (the volume's cluster size). */
  readonly blockSize: number;
  /** `into` (at least `length` bytes) may be used for the result, to save an allocation; the result is what counts. */
  read(offset: number, length: number, into?: Buffer): Promise<Buffer>;
  /** With `fua` the write is durable when the promise resolves (the server does not sync again). */
  write(offset: number, data: Buffer, opts?: { fua?: boolean }): Promise<void>;
  /** Makes every acknowledged write durable. */
  sync(): Promise<void>;
  /** Set when the volume cannot serve I/O (halted, stopping, fenced): requests then fail with ESHUTDOWN. */
  readonly halted?: boolean;
  /** False while the node's I/O lease is closed: a request first waits for `whenServing`, then checks `halted`. */
  readonly serving?: boolean;
  whenServing?(): Promise<void>;
}

/** Exports by name (the volume id, also accepted: its devicename path). */
export interface NbdExports {
  lookup(name: string): NbdVolume | undefined;
  list(): string[];
}

/** Where an export that is not served here can be found now. */
export type NbdResolution = { volume: NbdVolume } | { target: ForwardTarget } | undefined;

/**
 * Exports served elsewhere: a name this node does not serve is looked up here before the client is refused.
 * `forward: false` for connections that were forwarded already (loop guard): only a local volume may answer then.
 */
export interface NbdForwarding {
  resolve(name: string, opts: { forward: boolean }): Promise<NbdResolution>;
}
