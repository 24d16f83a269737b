import { Option } from 'commander';

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
