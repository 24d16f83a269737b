import { randomUUID } from 'node:crypto';

/** SCO object name `cc_nnnnnnnn_vv` (clone id, number, version; lower-case hex). */
export function scoName(number: number, version = 0, cloneId = 0): string {
  return `${hex(cloneId, 2)}_${hex(number, 8)}_${hex(version, 2)}`;
}

export function parseScoName(name: string): { cloneId: number; number: number; version: number } | undefined {
  const m = /^([0-9a-f]{2})_([0-9a-f]{8})_([0-9a-f]{2})$/.exec(name);
  if (!m) return undefined;
  return { cloneId: parseInt(m[1]!, 16), number: parseInt(m[2]!, 16), version: parseInt(m[3]!, 16) };
}

export function newTLogName(): string {
  return `tlog_${randomUUID()}`;
}

export function isTLogName(name: string): boolean {
  return /^tlog_[0-9a-f-]{36}$/.test(name);
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}
