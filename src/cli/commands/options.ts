import { Option, type Command } from 'commander';

/** Help text only: the default itself is resolved when the command runs, with the client it loads. */
export function natsOption(): Option {
  return new Option('--nats <urls>', 'NATS server URL, or several separated by commas (default: $OVS_NATS_URL or nats://127.0.0.1:4222)');
}

export function jsonOption(): Option {
  return new Option('--json', 'print JSON');
}

export function logFormatOption(): Option {
  return new Option('--log-format <format>', 'log lines (default: pretty when stdout is a terminal, else json)')
    .choices(['json', 'pretty'])
    .env('OVS_LOG_FORMAT');
}

export function toNumber(value: string): number {
  return Number(value);
}

/**
 * Credentials and TLS for NATS, taken by every command (before or after its name); a preAction hook hands them to
 * the connection (src/cli/connection-flags.ts), so each command's own `--nats` stays as it is.
 */
export function addConnectionOptions(program: Command): void {
  program
    .addOption(new Option('--context <file>', 'NATS context file: url, credentials, CA (as `ovs up --secure` writes it)').env('OVS_CONTEXT'))
    .addOption(new Option('--user <name>', 'NATS user (with --password)').env('OVS_NATS_USER'))
    .addOption(new Option('--password <password>', 'NATS password').env('OVS_NATS_PASSWORD'))
    .addOption(new Option('--token <token>', 'NATS token').env('OVS_NATS_TOKEN'))
    .addOption(new Option('--nkey <file>', 'NATS nkey seed file'))
    .addOption(new Option('--creds <file>', 'NATS credentials file (JWT and nkey seed)'))
    .addOption(new Option('--tls-ca <file>', 'CA certificate that signed the NATS server certificate'))
    .addOption(new Option('--tls-cert <file>', 'client certificate for NATS (with --tls-key)'))
    .addOption(new Option('--tls-key <file>', 'key of the client certificate'))
    .configureHelp({ showGlobalOptions: true })
    .hook('preAction', async (_program, action) => {
      (await import('../connection-flags.js')).setConnectionFlags(action.optsWithGlobals());
    });
}
