import { BadRequestError, fromWire, type WireError } from '../errors.js';
import { PAGE_BYTES } from '../dataplane/metadata/page-table.js';

/** MDS requests stay below 1 MiB: at most this many pages per message (§C5). */
export const MAX_PAGES_PER_MESSAGE = 128;

/** NATS subject of the MDS service at `ip:port` (dots in the address become underscores). */
export function mdsSubject(address: string): string {
  const [ip, port] = splitAddress(address);
  return `mds.${ip.replaceAll('.', '_')}.${port}`;
}

export function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  const port = Number(address.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new BadRequestError(`not an MDS address (ip:port): ${address.slice(0, 80)}`);
  return [address.slice(0, at), port];
}

/** A message: u32 length of a JSON head, the head, then whole pages back to back. */
export function encodeMessage(head: unknown, pages: Buffer[] = []): Uint8Array {
  const json = Buffer.from(JSON.stringify(head));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  return Buffer.concat([len, json, ...pages]);
}

export function decodeMessage(data: Uint8Array): { head: Record<string, unknown>; pages: Buffer[] } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 4) throw new BadRequestError('MDS message shorter than its header');
  const n = buf.readUInt32BE(0);
  if (4 + n > buf.length) throw new BadRequestError('MDS message head runs past its end');
  let head: unknown;
  try {
    head = JSON.parse(buf.subarray(4, 4 + n).toString('utf8'));
  } catch {
    throw new BadRequestError('MDS message head is not JSON');
  }
  if (typeof head !== 'object' || head === null || Array.isArray(head)) throw new BadRequestError('MDS message head is not a map');
  const rest = buf.subarray(4 + n);
  if (rest.length % PAGE_BYTES !== 0) throw new BadRequestError(`MDS page payload of ${rest.length} bytes is not whole pages`);
  const pages: Buffer[] = [];
  for (let at = 0; at < rest.length; at += PAGE_BYTES) pages.push(Buffer.from(rest.subarray(at, at + PAGE_BYTES)));
  return { head: head as Record<string, unknown>, pages };
}

export function replyError(head: Record<string, unknown>): never {
  throw fromWire(head.error as WireError);
}
