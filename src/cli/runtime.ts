import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent } from '../agent.js';
import { loadAgentConfig } from '../config/agent-config.js';
import { chooseLogFormat, createCommandLogger, type LogFormat } from '../log/cli-logger.js';
import { up } from '../up.js';
import { engineUnavailable } from '../errors.js';
import { sleep } from '../supervisors/backoff.js';
import { processRelauncher } from '../update/relaunch.js';
import { connectionFlags, resolveConnection } from './connection-flags.js';
import { onSignals } from './signals.js';

export interface UpFlags {
  dataDir: string;
  natsPort: number;
  httpPort: number;
  nats?: string;
  secure?: boolean;
  logFormat?: LogFormat;
}

/** `ovs up`: the embedded single-node cluster, then a short "what now" on stderr. */
export async function runUp(o: UpFlags): Promise<void> {
  const log = createCommandLogger({ proc: 'ovs-up' }, chooseLogFormat(o.logFormat));
  const natsAuth = o.nats ? resolveConnection(o.nats).auth : undefined;
  const { stop, agent, contextFile, httpTokenFile } = await up({ dataDir: o.dataDir, natsPort: o.natsPort, httpPort: o.httpPort, natsUrl: o.nats, natsAuth, secure: o.secure, log });
  onSignals(stop);
  const sd = agent.services.view.list('storagedriver', { storagerouter_guid: agent.storagerouterGuid })[0];
  const edge = (sd?.ports as { edge?: number } | undefined)?.edge;
  const connectHint = contextFile ? `--context ${contextFile}` : `--nats ${agent.opts.natsUrl}`;
  process.stderr.write(
    `\novs is up: StorageRouter ${agent.storagerouterGuid}\n  NATS       ${agent.opts.natsUrl}${contextFile ? ` (TLS, passwords; context ${contextFile})` : ''}\n  dashboard  ${agent.httpUrl}/${httpTokenFile ? ` (bearer token in ${httpTokenFile} and the context's http_token; a browser opens /?token=... once)` : ''}\n` +
      (sd ? `  vPool      pool1, StorageDriver ${sd.guid}, NBD on 127.0.0.1:${edge}\n` +
        `  try        npx ovs task vdisk.create_new volume_name=disk1 volume_size=1073741824 storagedriver_guid=${sd.guid} ${connectHint}\n` +
        `             qemu-io -f raw nbd://127.0.0.1:${edge}/disk1 -c 'write -P 0x5a 0 1M'\n\n` : '\n'),
  );
}

/** `ovs agent`: one StorageRouter against an existing NATS. */
export async function runAgent(flags: Record<string, unknown> & { logFormat?: LogFormat }): Promise<void> {
  const cfg = await loadAgentConfig({ ...connectionFlags(), ...flags });
  const log = createCommandLogger({ proc: 'ovs-agent', name: cfg.name }, chooseLogFormat(flags.logFormat));
  let agent: Agent;
  for (;;) {
    agent = new Agent({ ...cfg, log, relauncher: processRelauncher(() => agent.stop()) });
    try {
      await agent.start();
      break;
    } catch (e) {
      // A JetStream cluster that just regained quorum can still refuse a write during start: start afresh, say why.
      const outage = engineUnavailable(e);
      if (!outage) throw e;
      log.warn({ reason: outage.message }, 'agent start met a NATS JetStream outage; starting again');
      await agent.stop().catch(() => undefined);
      await sleep(2_000);
    }
  }
  // An agent that restarted itself on another release has another pid; the file says which process is the agent.
  await writeFile(join(cfg.dataDir, 'agent.pid'), `${process.pid}\n`);
  onSignals(() => agent.stop());
  if (cfg.readyFile) {
    // Whole or absent: a reader polling the file must never see it half written.
    await writeFile(`${cfg.readyFile}.tmp`, JSON.stringify({ storagerouter_guid: agent.storagerouterGuid, http_url: agent.httpUrl }));
    await rename(`${cfg.readyFile}.tmp`, cfg.readyFile);
  }
}
