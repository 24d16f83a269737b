import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

let ovsVersion: string | undefined;

/** Version of this package, from its package.json. */
export function ownVersion(): string {
  if (ovsVersion === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    ovsVersion = pkg.version;
  }
  return ovsVersion;
}

let natsServerVersion: Promise<string | null> | undefined;

/** Version of the nats-server binary installed on this host (null when it is not installed here). */
export function installedNatsServerVersion(): Promise<string | null> {
  natsServerVersion ??= run('nats-server', ['--version'], { timeout: 5_000 }).then(
    ({ stdout }) => /v?(\d+\.\d+\.\d+\S*)/.exec(stdout)?.[1] ?? stdout.trim(),
    () => null,
  );
  return natsServerVersion;
}
