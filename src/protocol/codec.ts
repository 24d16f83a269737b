import { Packr } from 'msgpackr';
import { BadRequestError } from '../errors.js';

/** Plain msgpack maps on the wire (no msgpackr records), so any msgpack client can talk to us. */
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export type Encoding = 'msgpack' | 'json';

export function encodingOf(contentType: string | undefined): Encoding {
  return contentType !== undefined && contentType.toLowerCase().includes('json') ? 'json' : 'msgpack';
}

export function encode(value: unknown, encoding: Encoding = 'msgpack'): Uint8Array {
  if (encoding === 'json') return Buffer.from(JSON.stringify(value ?? null));
  return packr.pack(value);
}

/** Decodes a body; an empty body is an empty map (stock tools send nothing for parameterless tasks). */
export function decode(data: Uint8Array, encoding: Encoding = 'msgpack'): unknown {
  if (data.length === 0) return {};
  try {
    if (encoding === 'json') return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
    return packr.unpack(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  } catch (e) {
    throw new BadRequestError(`request body is not valid ${encoding}: ${(e as Error).message}`, { encoding });
  }
}

/** Request bodies are maps of parameters by their seed names. */
export function decodeParams(data: Uint8Array, encoding: Encoding): Record<string, unknown> {
  const value = decode(data, encoding);
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new BadRequestError(`request body must be a map of parameters, got ${describe(value)}`, { encoding });
  }
  return value as Record<string, unknown>;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'binary';
  return `a ${typeof v}`;
}
