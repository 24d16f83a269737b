// A node process for crash tests: creates a volume, writes the first half, syncs, reports "synced" on stdout,
// then keeps writing the second half, eight writes in flight, until it is killed with SIGKILL.
import { harness, pattern } from './volume-harness.js';

const [dir, volumeId, sizeText] = process.argv.slice(2) as [string, string, string];
const size = Number(sizeText);
const h = await harness(undefined, dir);
await h.driver.create_volume({ target_path: `/${volumeId}.raw`, volume_size: size, volume_id: volumeId });
const v = h.driver.running(volumeId)!;
const half = size / 2;
for (let i = 0; i < 40; i++) {
  const len = 4096 * (1 + ((i * 7) % 16));
  const off = ((i * 37 * 4096) % (half - len)) + (i % 3);
  await v.write(off, pattern(len, 1000 + i));
}
await v.sync();
process.stdout.write('synced\n');
// At most WRITES writes (the test knows every pattern that may appear), then idle until killed.
const WRITES = 4000;
let next = 0;
const writer = async (): Promise<void> => {
  while (next < WRITES) {
    const i = next++;
    const off = half + ((i * 4096 * 13) % (half - 65536));
    await v.write(off - (off % 4096), pattern(65536, 5000 + i));
  }
};
await Promise.all(Array.from({ length: 8 }, writer));
setInterval(() => undefined, 60_000);
