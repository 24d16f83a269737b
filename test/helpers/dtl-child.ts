// A node process for DTL crash tests (I14, I15): creates a volume with a DTL on the given port, writes a
// deterministic sequence, says what it did on stdout, then idles until the test kills it with SIGKILL.
//   sync:  writes everything (eight writers on disjoint regions), prints "acked".
//   async: writes the first half, flushes, prints "flushed", writes the second half, prints "acked".
import { harness } from './volume-harness.js';
import { dtlWrites } from './dtl-writes.js';

const [dir, volumeId, sizeText, portText, mode] = process.argv.slice(2) as [string, string, string, string, 'sync' | 'async'];
const size = Number(sizeText);
const h = await harness(undefined, dir);
await h.driver.create_volume({ target_path: `/${volumeId}.raw`, volume_size: size, volume_id: volumeId });
await h.driver.set_manual_dtl_config({ volume_id: volumeId, config: { host: '127.0.0.1', port: Number(portText), mode: mode === 'sync' ? 'Synchronous' : 'Asynchronous' } });
const v = h.driver.running(volumeId)!;
if (v.dtl.state !== 'OK_SYNC') throw new Error(`DTL state ${v.dtl.state}: ${v.dtl.lastError}`);
const run = async (phase: 0 | 1): Promise<void> => {
  await Promise.all(dtlWrites(size, phase).map(async (writer) => {
    for (const w of writer) await v.write(w.offset, w.data);
  }));
};
if (mode === 'sync') {
  await run(0);
  await run(1);
} else {
  await run(0);
  await v.sync();
  process.stdout.write('flushed\n');
  await run(1);
}
process.stdout.write(`acked ${v.dtl.state}\n`);
setInterval(() => undefined, 60_000);
