// `bench rtt`: request/reply round trip of the agent against raw NATS request/reply, on one nats-server.
import { modelSubject, taskSubject } from '../src/protocol/subjects.js';
import { connect } from 'nats';
import { DEFAULT_RTT, formatTable, measureRtt, packr, type RttCase, type RttResult } from './lib/measure.js';
import { Resources, startAgent, startNatsServer, waitForOutput } from './lib/procs.js';

const RAW_SUBJECT = 'bench.raw.echo';
const RAW_QUEUE = 'bench-raw';
const RESPONDER = new URL('./raw-responder.js', import.meta.url).pathname;

export async function rtt(res: Resources): Promise<void> {
  const log = (m: string): void => void process.stderr.write(`rtt: ${m}\n`);
  const nats = await startNatsServer(res);
  log(`nats-server at ${nats.url}`);

  const responder = res.spawn('raw-responder', process.execPath, [RESPONDER, nats.url, RAW_SUBJECT, RAW_QUEUE]);
  await waitForOutput(responder, 'ready');
  const agent = await startAgent(res, nats.url, 'bench');
  log(`agent ready: StorageRouter ${agent.guid}`);

  const nc = await connect({ servers: nats.url, name: 'ovs-bench rtt' });
  try {
    const cases: RttCase[] = [
      { label: 'raw nats echo', subject: RAW_SUBJECT, body: packr.pack({ guid: agent.guid }) },
      { label: 'ovs.model.storagerouter.get', subject: modelSubject('storagerouter', 'get'), body: packr.pack({ guid: agent.guid }) },
      {
        // A node-pinned task whose own work is negligible, so the figure is the runtime's cost, not the task's I/O.
        label: 'ovs.task.storagerouter.get_version_info',
        subject: taskSubject('storagerouter.get_version_info'),
        body: packr.pack({ storagerouter_guid: agent.guid }),
      },
    ];
    log(`measuring ${cases.map((c) => c.label).join(', ')} (interleaved)`);
    const results = await measureRtt(nc, cases, DEFAULT_RTT);
    for (const r of results) if (r.failures > 0) throw new Error(`${r.label}: ${r.failures} failed requests; first: ${r.firstFailure}`);
    const [raw, model, task] = results as [RttResult, RttResult, RttResult];
    const o = DEFAULT_RTT;
    process.stdout.write(
      `\nrtt: sequential p50/p99 over ${o.sequential} requests (after ${o.warmup} warm-up); ` +
        `throughput over ${o.throughputTotal} requests with ${o.inFlight} in flight; ` +
        `each phase in ${o.rounds} blocks interleaved across subjects\n\n` +
        formatTable(results) +
        '\n\n',
    );
    const p50Ratio = Math.max(model.p50Us, task.p50Us) / raw.p50Us;
    const tputRatio = Math.min(model.reqPerSec, task.reqPerSec) / raw.reqPerSec;
    process.stdout.write(`task_rtt_p50_ratio=${p50Ratio.toFixed(2)} task_throughput_ratio=${tputRatio.toFixed(2)}\n`);
  } finally {
    await nc.close().catch(() => undefined);
  }
}
