/** Payloads of the DTL ops (spec C6); the frame header is in frame.ts. All integers big-endian. */
import { MalformedFrameError } from './frame.js';

/** Where a cluster sits in the volume's write cache; SCO numbers order the entries. */
export interface DtlLocation {
  scoNumber: number;
  offset: number;
}

export interface DtlEntry {
  location: DtlLocation;
  lba: bigint;
  data: Buffer;
}

export interface DtlRegistration {
  ns: string;
  clusterSize: number;
  ownerTag: bigint;
}

/** Oldest and youngest SCO numbers the DTL holds entries of. */
export interface DtlRange {
  oldest: number;
  youngest: number;
}

/** Why a request was not ok; sent as the first byte of a NOT_OK payload, the message follows in UTF-8. */
export enum DtlFailure {
  NOT_REGISTERED = 1,
  FENCED = 2,
  REFUSED = 3,
  BAD_REQUEST = 4,
  SERVER = 5,
}

/** ENTRIES and GET_SCO answer with several OK frames: one per entry, then one END. */
export enum DtlStreamItem {
  ENTRY = 1,
  END = 2,
}

export const ENTRY_HEADER_BYTES = 16;
export const MAX_ENTRIES_PER_ADD = 256;
const MAX_NS_BYTES = 1024;

export function encodeRegister({ ns, clusterSize, ownerTag }: DtlRegistration): Buffer {
  const name = Buffer.from(ns, 'utf8');
  if (name.length === 0 || name.length > MAX_NS_BYTES) throw new RangeError(`DTL namespace must be 1..${MAX_NS_BYTES} bytes`);
  const payload = Buffer.allocUnsafe(14 + name.length);
  payload.writeUInt32BE(clusterSize, 0);
  payload.writeBigUInt64BE(ownerTag, 4);
  payload.writeUInt16BE(name.length, 12);
  name.copy(payload, 14);
  return payload;
}

export function decodeRegister(payload: Buffer): DtlRegistration {
  need(payload, 14, 'REGISTER');
  const nameBytes = payload.readUInt16BE(12);
  if (payload.length !== 14 + nameBytes || nameBytes === 0) throw new MalformedFrameError('REGISTER: bad namespace length');
  const ns = payload.toString('utf8', 14);
  const clusterSize = payload.readUInt32BE(0);
  if (clusterSize === 0) throw new MalformedFrameError('REGISTER: cluster size 0');
  return { ns, clusterSize, ownerTag: payload.readBigUInt64BE(4) };
}

export function entryBytes(clusterSize: number): number {
  return ENTRY_HEADER_BYTES + clusterSize;
}

function writeEntryHeader(target: Buffer, at: number, entry: DtlEntry): void {
  target.writeUInt32BE(entry.location.scoNumber, at);
  target.writeUInt32BE(entry.location.offset, at + 4);
  target.writeBigUInt64BE(entry.lba, at + 8);
}

/** Writes one entry at `at`; returns the offset after it. */
export function writeEntry(target: Buffer, at: number, entry: DtlEntry): number {
  writeEntryHeader(target, at, entry);
  entry.data.copy(target, at + ENTRY_HEADER_BYTES);
  return at + ENTRY_HEADER_BYTES + entry.data.length;
}

function readEntry(source: Buffer, at: number, clusterSize: number): DtlEntry {
  return {
    location: { scoNumber: source.readUInt32BE(at), offset: source.readUInt32BE(at + 4) },
    lba: source.readBigUInt64BE(at + 8),
    data: source.subarray(at + ENTRY_HEADER_BYTES, at + ENTRY_HEADER_BYTES + clusterSize),
  };
}

export function encodeAdd(entries: readonly DtlEntry[], clusterSize: number): Buffer {
  return Buffer.concat(addPieces(entries, clusterSize, 0));
}

/**
 * The ADD payload as pieces for one vectored socket write, `headroom` bytes left in front of the first for a frame
 * header: the count, then each entry's header and its cluster, which is not copied (the clusters are most of a DTL's
 * traffic, and a copy of them cost the owner more than the socket write). The clusters must stay unchanged until the
 * write is done.
 */
export function addPieces(entries: readonly DtlEntry[], clusterSize: number, headroom: number): Buffer[] {
  const headers = Buffer.allocUnsafe(headroom + 4 + entries.length * ENTRY_HEADER_BYTES);
  headers.writeUInt32BE(entries.length, headroom);
  const pieces: Buffer[] = [headers.subarray(0, headroom + 4)];
  let at = headroom + 4;
  for (const entry of entries) {
    if (entry.data.length !== clusterSize) throw new RangeError(`DTL entry of ${entry.data.length} bytes, cluster size is ${clusterSize}`);
    writeEntryHeader(headers, at, entry);
    pieces.push(headers.subarray(at, at + ENTRY_HEADER_BYTES), entry.data);
    at += ENTRY_HEADER_BYTES;
  }
  return pieces;
}

export function decodeAdd(payload: Buffer, clusterSize: number): DtlEntry[] {
  need(payload, 4, 'ADD');
  const count = payload.readUInt32BE(0);
  if (payload.length !== 4 + count * entryBytes(clusterSize)) throw new MalformedFrameError(`ADD: ${count} entries do not fill ${payload.length} bytes`);
  const entries: DtlEntry[] = [];
  for (let i = 0; i < count; i++) entries.push(readEntry(payload, 4 + i * entryBytes(clusterSize), clusterSize));
  return entries;
}

export function encodeScoNumber(scoNumber: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(scoNumber, 0);
  return payload;
}

export function decodeScoNumber(payload: Buffer, op: string): number {
  if (payload.length !== 4) throw new MalformedFrameError(`${op}: payload must be a u32 SCO number`);
  return payload.readUInt32BE(0);
}

export function encodeRange(range: DtlRange | undefined): Buffer {
  if (range === undefined) return Buffer.alloc(0);
  const payload = Buffer.allocUnsafe(8);
  payload.writeUInt32BE(range.oldest, 0);
  payload.writeUInt32BE(range.youngest, 4);
  return payload;
}

export function decodeRange(payload: Buffer): DtlRange | undefined {
  if (payload.length === 0) return undefined;
  if (payload.length !== 8) throw new MalformedFrameError('RANGE: reply must be empty or two u32');
  return { oldest: payload.readUInt32BE(0), youngest: payload.readUInt32BE(4) };
}

export function encodeStreamEntry(entry: DtlEntry): Buffer {
  const payload = Buffer.allocUnsafe(1 + ENTRY_HEADER_BYTES + entry.data.length);
  payload.writeUInt8(DtlStreamItem.ENTRY, 0);
  writeEntry(payload, 1, entry);
  return payload;
}

export const STREAM_END = Buffer.from([DtlStreamItem.END]);

/** `undefined` for END. */
export function decodeStreamItem(payload: Buffer): DtlEntry | undefined {
  need(payload, 1, 'stream item');
  if (payload[0] === DtlStreamItem.END && payload.length === 1) return undefined;
  if (payload[0] !== DtlStreamItem.ENTRY || payload.length < 1 + ENTRY_HEADER_BYTES) throw new MalformedFrameError('bad ENTRIES stream item');
  return readEntry(payload, 1, payload.length - 1 - ENTRY_HEADER_BYTES);
}

export function encodeFailure(failure: DtlFailure, message: string): Buffer {
  return Buffer.concat([Buffer.from([failure]), Buffer.from(message, 'utf8')]);
}

export function decodeFailure(payload: Buffer): { failure: DtlFailure; message: string } {
  const code = payload[0] ?? DtlFailure.SERVER;
  const failure = code in DtlFailure ? (code as DtlFailure) : DtlFailure.SERVER;
  return { failure, message: payload.toString('utf8', 1) };
}

function need(payload: Buffer, bytes: number, what: string): void {
  if (payload.length < bytes) throw new MalformedFrameError(`${what}: payload of ${payload.length} bytes, need ${bytes}`);
}
