// `npm run bench -- <name>`: one benchmark per run. Add a benchmark with one line in BENCHES.
import { Resources } from './lib/procs.js';

type Bench = (res: Resources, args: string[]) => Promise<void>;

const BENCHES: Record<string, () => Promise<Bench>> = {
  rtt: async () => (await import('./rtt.js')).rtt,
  nbd: async () => (await import('./nbd.js')).nbd,
  snapshots: async () => (await import('./snapshots.js')).snapshots,
  failover: async () => (await import('./failover.js')).failover,
  dtl: async () => (await import('./dtl.js')).dtl,
  scrub: async () => (await import('./scrub.js')).scrub,
};

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  const load = name === undefined ? undefined : BENCHES[name];
  if (!load) {
    process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [args...]\n`);
    return 2;
  }
  const bench = await load();
  const res = new Resources();
  const onSignal = (): void => {
    void res.cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await bench(res, args);
    return 0;
  } catch (e) {
    process.stderr.write(`bench ${name} failed: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  } finally {
    await res.cleanup();
  }
}

process.exitCode = await main();
