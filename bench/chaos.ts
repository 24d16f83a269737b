// `npm run chaos -- [--rounds N] [--seed S] [--faults a,b] [--schedule a,b]` (--schedule: that order, round-robin): the chaos suite; prints its figures as the last line.
import { FAULTS, figuresLine, runChaos, type Fault } from './chaos/suite.js';

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
  if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(seed) || [...(faults ?? []), ...(schedule ?? [])].some((f) => !FAULTS.includes(f))) {
    process.stderr.write(`usage: npm run chaos -- [--rounds N] [--seed S] [--faults|--schedule ${FAULTS.join(',')}]\n`);
    return 2;
  }
  const figures = await runChaos({ rounds, seed, ...(faults ? { faults } : {}), ...(schedule ? { schedule } : {}) });
  process.stderr.write(`chaos: seed ${seed}; faults ${figures.faults.join(' ')}; fio phases ${figures.fioPhases}, connection losses ${figures.fioConnectionLosses}, qemu clients replaced ${figures.fioReattaches}; tasks ${figures.tasksSubmitted}\n`);
  if (figures.fuzz.untyped.length) process.stderr.write(`chaos: fuzzed requests without a typed error: ${figures.fuzz.untyped.join(', ')}\n`);
  process.stdout.write(`${figuresLine(figures)}\n`);
  const clean = figures.ackedWritesLost + figures.fioVerifyErrors + figures.tasksLost + figures.tasksDuplicated + figures.agentCrashes === 0 && figures.fuzz.typed === figures.fuzz.sent;
  return clean ? 0 : 1;
}

process.exitCode = await main().catch((e: unknown) => {
  process.stderr.write(`chaos failed: ${(e as Error)?.stack ?? String(e)}\n`);
  return 1;
});
