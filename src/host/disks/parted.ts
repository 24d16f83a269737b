import type { CommandRunner } from './run-command.js';

export interface PartedEntry {
  number: number;
  start: number;
}

/** Partition table of /dev/<disk> in bytes; [] when parted is missing or fails. */
export async function readPartedTable(run: CommandRunner, disk: string): Promise<PartedEntry[]> {
  const result = await run('parted', ['-s', `/dev/${disk}`, 'unit', 'B', 'print']);
  return result.code === 0 ? parsePartedPrint(result.stdout) : [];
}

export function parsePartedPrint(stdout: string): PartedEntry[] {
  const entries: PartedEntry[] = [];
  let inTable = false;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('Number')) {
      inTable = true;
      continue;
    }
    if (!inTable) continue;
    const [numberToken, startToken] = line.trim().split(/\s+/);
    const start = /^(\d+)B$/.exec(startToken ?? '')?.[1];
    if (numberToken === undefined || !/^\d+$/.test(numberToken) || start === undefined) continue;
    entries.push({ number: Number.parseInt(numberToken, 10), start: Number.parseInt(start, 10) });
  }
  return entries;
}

/**
 * Byte offset of a partition from the parted table. The kernel's partition number (sysfs) is exact; without it we
 * fall back to the original suffix match on the kname (last match wins).
 */
export function partedOffset(entries: PartedEntry[], kname: string, partitionNumber: number | null): number | null {
  if (partitionNumber !== null) {
    const exact = entries.find((entry) => entry.number === partitionNumber);
    if (exact !== undefined) return exact.start;
  }
  let offset: number | null = null;
  for (const entry of entries) {
    if (kname.endsWith(String(entry.number))) offset = entry.start;
  }
  return offset;
}
