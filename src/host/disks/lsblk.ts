import { HostCommandError } from '../../errors.js';
import type { CommandRunner } from './run-command.js';

export interface LsblkEntry {
  kname: string;
  size: number;
  model: string | null;
  state: string | null;
  major: string;
  fstype: string | null;
  type: string;
  rota: boolean;
  mountpoint: string | null;
  log_sec: number;
  serial: string | null;
}

const BASE_ARGS = ['--json', '--bytes', '--noheadings', '--exclude', '1,2,11,43'];
const COLUMNS = 'KNAME,SIZE,MODEL,STATE,MAJ:MIN,FSTYPE,TYPE,ROTA,MOUNTPOINT,LOG-SEC';
const DEFAULT_SECTOR_SIZE = 512;

export function lsblkArgs(withSerial: boolean): string[] {
  return [...BASE_ARGS, `--output=${COLUMNS}${withSerial ? ',SERIAL' : ''}`];
}

/** Older util-linux lacks SERIAL; then every serial is reported as null instead of breaking the entry. */
export async function listBlockDevices(run: CommandRunner): Promise<LsblkEntry[]> {
  const withSerial = await run('lsblk', lsblkArgs(true));
  if (withSerial.code === 0) {
    const parsed = tryParse(withSerial.stdout);
    if (parsed !== undefined) return parsed;
  }
  const without = await run('lsblk', lsblkArgs(false));
  // A non-zero exit includes the timeout of a busy host, which a later run may pass.
  if (without.code !== 0) throw new HostCommandError('lsblk', `exit code ${without.code}`, true);
  const parsed = tryParse(without.stdout);
  if (parsed === undefined) throw unusable('unparsable JSON');
  return parsed.map((entry) => ({ ...entry, serial: null }));
}

function tryParse(stdout: string): LsblkEntry[] | undefined {
  try {
    return parseLsblkJson(stdout);
  } catch {
    return undefined;
  }
}

export function parseLsblkJson(stdout: string): LsblkEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch (e) {
    throw unusable(`not JSON (${(e as Error).message})`);
  }
  if (!isRecord(doc)) throw unusable('the JSON is not an object');
  const devices = doc['blockdevices'] ?? [];
  if (!Array.isArray(devices)) throw unusable('the JSON has no blockdevices list');
  const entries: LsblkEntry[] = [];
  flatten(devices, entries);
  return entries;
}

// Without a NAME column lsblk prints a flat list, but some versions still nest children; flatten depth-first.
function flatten(devices: unknown[], into: LsblkEntry[]): void {
  for (const device of devices) {
    if (!isRecord(device)) throw unusable('a device is not an object');
    into.push(normaliseEntry(device));
    const children = device['children'];
    if (Array.isArray(children)) flatten(children, into);
  }
}

function normaliseEntry(raw: Record<string, unknown>): LsblkEntry {
  const kname = toText(raw['kname']);
  if (kname === null) throw unusable('an entry has no kname');
  const majMin = toText(raw['maj:min']) ?? '';
  return {
    kname,
    size: toInt(raw['size']) ?? 0,
    model: toText(raw['model']),
    state: toText(raw['state']),
    major: majMin.split(':')[0]?.trim() ?? '',
    fstype: toText(raw['fstype']),
    type: toText(raw['type']) ?? '',
    rota: toBool(raw['rota']),
    mountpoint: toText(raw['mountpoint']),
    log_sec: toInt(raw['log-sec']) ?? DEFAULT_SECTOR_SIZE,
    serial: toText(raw['serial']),
  };
}

// Running lsblk again prints the same output: not retryable.
function unusable(reason: string): HostCommandError {
  return new HostCommandError('lsblk', `unusable output: ${reason}`, false);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toText(value: unknown): string | null {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

function toInt(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) return Number.parseInt(value, 10);
  return null;
}

function toBool(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    return v !== '' && v !== '0' && v !== 'false';
  }
  return false;
}
