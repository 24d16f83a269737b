// Baseline responder for `bench rtt`: plain NATS request/reply in its own process, no ovs code in the path.
// Usage: node dist/bench/raw-responder.js <nats-url> <subject> <queue>
import { Packr } from 'msgpackr';
import { connect } from 'nats';

const [url, subject, queue] = process.argv.slice(2);
if (!url || !subject || !queue) {
  process.stderr.write('usage: raw-responder <nats-url> <subject> <queue>\n');
  process.exit(2);
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true });
const pad = 'x'.repeat(27);
const nc = await connect({ servers: url, name: 'ovs-bench raw-responder' });
nc.subscribe(subject, {
  queue,
  callback: (err, m) => {
    if (err) return;
    // ~100 bytes (with a 36-char guid in the request), same envelope shape as the agent's replies; decoded and packed per message like a real handler.
    const req = m.data.length > 0 ? (packr.unpack(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength)) as unknown) : null;
    m.respond(packr.pack({ ok: true, result: { echo: req, pad } }));
  },
});
await nc.flush();
process.stdout.write('ready\n');

const stop = (): void => {
  void nc.drain().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
