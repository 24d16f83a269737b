import { execFile } from 'node:child_process';

export interface CommandResult {
  stdout: string;
  code: number;
}

export type CommandRunner = (cmd: string, args: string[]) => Promise<CommandResult>;

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_BUFFER = 16 * 1024 * 1024;

/** Runs a local command; never rejects — failures (missing binary, timeout, non-zero exit) surface as a non-zero code. */
export function runCommand(cmd: string, args: string[]): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: DEFAULT_TIMEOUT_MS, maxBuffer: MAX_BUFFER, encoding: 'utf8' }, (error, stdout) => {
      if (error === null) {
        resolve({ stdout, code: 0 });
        return;
      }
      const code = typeof error.code === 'number' && error.code !== 0 ? error.code : 127;
      resolve({ stdout: typeof stdout === 'string' ? stdout : '', code });
    });
  });
}
