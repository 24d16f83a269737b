import { BadRequestError } from '../errors.js';

/**
 * Configuration paths (`/ovs/framework/hosts/<id>/ip`, `/ovs/arakoon/x/config.ini`) ↔ KV keys. Each path segment
 * becomes one dot-separated token; characters a KV key cannot hold are escaped as `=XX`, so the mapping is
 * reversible and `keys('ovs.framework.>')` lists a subtree.
 */
export function configKey(path: string): string {
  const segments = splitPath(path);
  return segments.map(escapeSegment).join('.');
}

export function configPath(key: string): string {
  return '/' + key.split('.').map(unescapeSegment).join('/');
}

/** `a|b.c` addresses field `b.c` inside the JSON value of `a`. */
export function splitSubPath(spec: string): { path: string; field: string[] } {
  const bar = spec.indexOf('|');
  if (bar < 0) return { path: spec, field: [] };
  const field = spec.slice(bar + 1).split('.');
  if (field.some((f) => f.length === 0)) throw new BadRequestError(`'${spec}' has an empty field name after '|'`);
  // Field names walk plain objects in the agent: names that reach an object's prototype would poison every object.
  if (field.some((f) => FORBIDDEN_FIELDS.has(f))) throw new BadRequestError(`'${spec}' names a forbidden field`);
  return { path: spec.slice(0, bar), field };
}

const FORBIDDEN_FIELDS = new Set(['__proto__', 'prototype', 'constructor']);

export function splitPath(path: string): string[] {
  if (typeof path !== 'string' || path.length === 0 || path.length > 1024) throw new BadRequestError('a configuration key is a non-empty path of at most 1024 characters');
  const segments = path.split('/').filter((s) => s.length > 0);
  if (segments.length === 0) throw new BadRequestError(`'${path}' is not a configuration key`);
  for (const s of segments) {
    if (s === '.' || s === '..' || s.includes('\u0000')) throw new BadRequestError(`configuration key '${path}' holds an illegal segment`);
  }
  return segments;
}

function escapeSegment(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1').replace(/[^-_a-zA-Z0-9]/g, (c) => '=' + c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase());
}

function unescapeSegment(s: string): string {
  return Buffer.from(s.replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
}
