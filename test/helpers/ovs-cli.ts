import { fileURLToPath } from 'node:url';
import { run } from './run.js';

export const OVS_BIN = fileURLToPath(new URL('../../src/bin/ovs.js', import.meta.url));

export type CliRun = { code: number | null; stdout: string; stderr: string };

/** The CLI with a clean environment of connection settings (none of the caller's OVS_CONTEXT or credentials). */
export function ovsCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^OVS_(CONTEXT|NATS_)/.test(k)));
  return run(process.execPath, [OVS_BIN, ...args], { env: { ...clean, ...env } });
}

/** The typed error's type of a `--json` run, or what it printed instead. */
export function errorType(r: CliRun): string | undefined {
  try {
    return (JSON.parse(r.stdout) as { error?: { type: string } }).error?.type;
  } catch {
    return `not JSON (exit ${r.code}): ${r.stdout} ${r.stderr}`;
  }
}
