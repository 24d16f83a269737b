// `npm run chaos -- [--rounds N] [--seed S] [--faults a,b] [--schedule a,b] [--nats-cluster] [--ips a,b,c]` (--schedule:
// that order, round-robin; --nats-cluster: three nats-servers, and the faults lose_nats_server, lose_quorum; --ips: the
// agents' loopback addresses, default 127.0.0.2-4): the chaos suite;
// prints its figures as the last line. SIGINT/SIGTERM stop everything it started.
import { CLUSTER_FAULTS, FAULTS, clean, figuresLine, runChaos, type Fault } from './chaos/suite.js';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const rounds = Number(option(args, '--rounds') ?? 5);
  const seed = Number(option(args, '--seed') ?? Date.now() % 1_000_000);
  const faults = option(args, '--faults')?.split(',') as Fault[] | undefined;
  const schedule = option(args, '--schedule')?.split(',') as Fault[] | undefined;
  const natsCluster = args.includes('--nats-cluster');
  const ips = option(args, '--ips')?.split(',');
  const asked = [...(faults ?? []), ...(schedule ?? [])];
  if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(seed) || asked.some((f) => !FAULTS.includes(f)) || (!natsCluster && asked.some((f) => CLUSTER_FAULTS.includes(f))) || (ips && ips.length !== 3)) {
    process.stderr.write(`usage: npm run chaos -- [--rounds N] [--seed S] [--faults|--schedule ${FAULTS.join(',')}] [--nats-cluster] [--ips a,b,c] (${CLUSTER_FAULTS.join(', ')}: only with --nats-cluster)\n`);
    return 2;
  }
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stop.signal.aborted) {
      process.stderr.write(`chaos: ${sig} again: exiting without waiting for the cleanup\n`);
      process.exit(130);
    }
    process.stderr.write(`chaos: ${sig}: stopping what the suite started\n`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const figures = await runChaos({ rounds, seed, natsCluster, signal: stop.signal, ...(ips ? { ips } : {}), ...(faults ? { faults } : {}), ...(schedule ? { schedule } : {}) })
    .catch((e: unknown) => {
      if (stop.signal.aborted) return undefined;
      throw e;
    });
  if (!figures) {
    process.stderr.write('chaos: stopped; everything it started is stopped\n');
    // The abandoned round would otherwise poll on (up to its timeouts) against the stopped cluster before node exits.
    process.exit(130);
  }
  process.stderr.write(`chaos: seed ${seed}; faults ${figures.faults.join(' ')}; fio phases ${figures.fioPhases}, connection losses ${figures.fioConnectionLosses}, qemu clients replaced ${figures.fioReattaches}; tasks ${figures.tasksSubmitted}\n`);
  if (figures.fuzz.untyped.length) process.stderr.write(`chaos: fuzzed requests without a typed error: ${figures.fuzz.untyped.join(', ')}\n`);
  if (figures.natsFaultFailures) process.stderr.write(`chaos: ${figures.natsFaultFailures} failed checks of the NATS cluster faults (see "NATS FAULT CHECK FAILED" above)\n`);
  process.stdout.write(`${figuresLine(figures)}\n`);
  return clean(figures) ? 0 : 1;
}

process.exitCode = await main().catch((e: unknown) => {
  process.stderr.write(`chaos failed: ${(e as Error)?.stack ?? String(e)}\n`);
  return 1;
});
