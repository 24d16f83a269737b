// The chaos suite: three agent processes and a vPool under a verifying write load, one seeded fault per round, and
// after each round the checks that make the figures (acknowledged writes intact, fio verify clean, each task one
// outcome, fuzzed requests answered with typed errors, no agent falling over by itself). With `natsCluster` the agents
// run on a three-server JetStream cluster (R3 buckets) that can lose one server, or two (quorum).
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request, requestRaw } from '../../src/client.js';
import { DTL_REQUEST_TIMEOUT_KEY } from '../../src/storagedriver/dtl-settings.js';
import { H } from '../../src/protocol/headers.js';
import { TASK_RESULT, voldrvSubject } from '../../src/protocol/subjects.js';
import { COUNT_RUNS_DIR } from '../../src/tasks/test/sleep.js';
import { AgentProcess } from '../../test/helpers/agent-process.js';
import { waitFor } from '../../test/helpers/eventually.js';
import { NatsCluster } from '../../test/helpers/nats-cluster.js';
import { NatsServer } from '../../test/helpers/nats-server.js';
import { run } from '../../test/helpers/run.js';
import { qemuIo, startVpoolCluster, type ClusterStorageDriver, type VpoolClusterOn } from '../../test/helpers/vpool-cluster.js';
import { fuzzEvents, fuzzNats, fuzzPorts, type FuzzTally } from './fuzz.js';
import { VerifyingLoad } from './load.js';
import { reapDescendants } from './reap.js';
import { Rng } from './rng.js';

export const FAULTS = ['kill_owner', 'kill_dtl', 'restart_nats', 'stall_agent', 'fuzz', 'lose_nats_server', 'lose_quorum'] as const;
export type Fault = (typeof FAULTS)[number];
/** Faults that only a three-server NATS cluster can take. */
export const CLUSTER_FAULTS: readonly Fault[] = ['lose_nats_server', 'lose_quorum'];

export interface ChaosOptions {
  rounds: number;
  seed: number;
  /** Loopback addresses of the three agents. */
  ips?: string[];
  /** The faults a round picks from (default: all); `schedule` fixes the order instead. */
  faults?: readonly Fault[];
  schedule?: readonly Fault[];
  vpoolName?: string;
  /** Three nats-servers with JetStream in a cluster instead of one (R3 buckets; the faults of CLUSTER_FAULTS). */
  natsCluster?: boolean;
  /** Aborting it ends the run early: everything started is stopped, and runChaos rejects. */
  signal?: AbortSignal;
  log?: (m: string) => void;
}

export interface ChaosFigures {
  rounds: number;
  ackedWritesLost: number;
  fioVerifyErrors: number;
  fioConnectionLosses: number;
  fioReattaches: number;
  fioPhases: number;
  tasksLost: number;
  tasksDuplicated: number;
  tasksSubmitted: number;
  fuzz: FuzzTally;
  agentCrashes: number;
  /**
   * Checks of the NATS cluster faults that failed (not in the figures line, whose format the issue fixes): with one
   * server down a write, read or the load stalled; without quorum an untyped or non-retryable answer, /readyz still
   * ready; afterwards no recovery by itself.
   */
  natsFaultFailures: number;
  faults: Fault[];
}

/** Every figure that must be zero is, and every fuzzed request had a typed answer. */
export function clean(f: ChaosFigures): boolean {
  return f.ackedWritesLost + f.fioVerifyErrors + f.tasksLost + f.tasksDuplicated + f.agentCrashes + f.natsFaultFailures === 0 && f.fuzz.typed === f.fuzz.sent;
}

export function figuresLine(f: ChaosFigures): string {
  return `rounds=${f.rounds} acked_writes_lost=${f.ackedWritesLost} fio_verify_errors=${f.fioVerifyErrors} tasks_lost=${f.tasksLost} ` +
    `tasks_duplicated=${f.tasksDuplicated} fuzz_typed_replies=${f.fuzz.typed}/${f.fuzz.sent} agent_crashes=${f.agentCrashes}`;
}

const MiB = 1024 * 1024;
const VDISK_SIZE = 64 * MiB;
/** fio works on the first half; the known-pattern slots (1 MiB each) live from 40 MiB on. */
const FIO_BYTES = 32 * MiB;
const SLOT_BASE = 40 * MiB;
const OFFLINE_AFTER_S = 4;
const PROBE_KEY = '/ovs/chaos/probe';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Vdisk {
  name: string;
  guid: string;
  volumeId: string;
  /** slot → pattern byte of the last acknowledged write there. */
  slots: Map<number, number>;
}

interface ModelVdisk {
  storagedriver_guid: string;
  volume_id: string;
  dtl_status?: string;
  dtl_config?: { storagerouter_guid?: string } | null;
}

interface PendingTask {
  file: string;
  key: string;
  params: Record<string, unknown>;
  taskId: Promise<string | undefined>;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosFigures> {
  const log = o.log ?? ((m: string) => void process.stderr.write(`chaos: ${m}\n`));
  const rng = new Rng(o.seed);
  const ips = o.ips ?? ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
  const vpoolName = o.vpoolName ?? 'chaos';
  const figures: ChaosFigures = {
    rounds: 0, ackedWritesLost: 0, fioVerifyErrors: 0, fioConnectionLosses: 0, fioReattaches: 0, fioPhases: 0, tasksLost: 0, tasksDuplicated: 0,
    tasksSubmitted: 0, fuzz: { typed: 0, sent: 0, untyped: [] }, agentCrashes: 0, natsFaultFailures: 0, faults: [],
  };
  const pool = o.faults ?? FAULTS.filter((f) => o.natsCluster || !CLUSTER_FAULTS.includes(f));
  const clusterOnly = [...pool, ...(o.schedule ?? [])].filter((f) => CLUSTER_FAULTS.includes(f));
  if (clusterOnly.length && !o.natsCluster) throw new Error(`${clusterOnly.join(', ')} need the NATS cluster (natsCluster)`);
  const expectedExits = new Set<ChildProcess>();
  let cluster: VpoolClusterOn | undefined;
  let ns: NatsServer | undefined;
  let natsCluster: NatsCluster | undefined;
  const loads: VerifyingLoad[] = [];
  let stopping = false;
  /** Set once the cleanup ran: whatever the (abandoned) run starts after that is stopped at once. */
  let cleanedUp = false;
  const late = async (stop: () => Promise<unknown>): Promise<void> => {
    if (!cleanedUp) return;
    await stop().catch(() => undefined);
    throw new Error('chaos: stopped');
  };

  const watch = (a: AgentProcess, i: number): AgentProcess => {
    a.child.once('exit', (code, signal) => {
      if (expectedExits.has(a.child) || stopping) return;
      figures.agentCrashes++;
      log(`AGENT ${i} EXITED BY ITSELF (code ${code}, signal ${signal}): ${a.log.join('').slice(-1500)}`);
    });
    return a;
  };

  const cleanup = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // Bounded: after Ctrl-C has killed the agents too, a qemu-nbd can wait out its reconnect delay (the reaping below ends it).
    await Promise.race([Promise.all(loads.map((l) => l.stop().catch(() => undefined))), sleep(15_000)]);
    collect(figures, loads);
    if (cluster) {
      await Promise.all(cluster.agents.map((a) => a.stop().catch(() => undefined)));
      await cluster.nc.close().catch(() => undefined);
    }
    await ns?.stop().catch(() => undefined);
    await natsCluster?.stop().catch(() => undefined);
    // Only when aborted (chaos.ts, a process of its own): under ava, this process may hold other test files' children.
    const reaped = o.signal?.aborted ? await reapDescendants() : [];
    if (reaped.length) log(`killed what was still running: ${reaped.join(', ')}`);
    if (cluster) {
      const { rm } = await import('node:fs/promises');
      await rm(cluster.dir, { recursive: true, force: true });
    }
    cleanedUp = true;
  };

  const body = async (): Promise<ChaosFigures> => {
    log(`seed ${o.seed}: three agents on ${ips.join(', ')}${o.natsCluster ? ', on a three-server NATS cluster' : ''}`);
    const common = { ips, vpoolName, offlineAfterS: OFFLINE_AFTER_S, keepDataDirs: true, config: { [DTL_REQUEST_TIMEOUT_KEY]: 2_000 } };
    let agentArgs: string[] = [];
    if (o.natsCluster) {
      const nsc = (natsCluster = await NatsCluster.create(3));
      for (const k of [0, 1, 2]) {
        await nsc.start(k);
        await late(() => nsc.stopMember(k));
      }
      const config = join(nsc.dir, 'agent.json');
      await writeFile(config, JSON.stringify({ kvReplicas: 3 }));
      // An HTTP port each, for /readyz.
      agentArgs = ['--config', config, '--http-port', '0'];
      cluster = await startVpoolCluster({ ...common, natsUrl: nsc.allUrls, agentArgs });
    } else {
      const own = await startVpoolCluster(common);
      cluster = own;
      ns = own.ns;
    }
    const c = cluster;
    await late(() => c.stop());
    const nc = c.nc;
    c.agents.forEach((a, i) => watch(a, i));
    const sds = c.sds;
    const agentIndexOfSd = (sdGuid: string): number => sds.findIndex((s) => s.guid === sdGuid);
    const url = (sd: ClusterStorageDriver, name: string): string => `nbd://${sd.storage_ip}:${sd.ports.edge}/${name}`;
    const call = <T = unknown>(task: string, params: Record<string, unknown>, timeoutMs = 60_000): Promise<T> => request<T>(nc, `ovs.task.${task}`, params, { timeoutMs });
    const model = (guid: string): Promise<ModelVdisk> => request<ModelVdisk>(nc, 'ovs.model.vdisk.get', { guid }, { timeoutMs: 5_000 });
    const voldrv = <T = unknown>(sd: ClusterStorageDriver, method: string, args: Record<string, unknown>): Promise<T> =>
      request<T>(nc, voldrvSubject(sd.storagerouter_guid, sd.guid, method), args, { timeoutMs: 5_000 });
    const alive = (i: number): boolean => c.agents[i]!.child.exitCode === null && c.agents[i]!.child.signalCode === null;

    // The NATS cluster faults' checks: a failed one is logged and counted (natsFaultFailures), the run goes on.
    const natsFaultFailure = (m: string): void => {
      figures.natsFaultFailures++;
      log(`NATS FAULT CHECK FAILED: ${m}`);
    };
    const check = (what: string, probe: () => Promise<boolean> | boolean, ms: number): Promise<void> =>
      waitFor(what, probe, ms, 500).then(() => log(`ok: ${what}`), (e: Error) => natsFaultFailure(e.message));
    const configWrite = (value: number): Promise<unknown> => request(nc, 'ovs.config.set', { key: PROBE_KEY, value }, { timeoutMs: 10_000 });
    /** fio phases that ended without an error. */
    const goodPhases = (l: VerifyingLoad): number => l.figures.phases - l.figures.verifyErrors - l.figures.connectionLosses;
    const readyz = async (i: number): Promise<number> => {
      const { http_url } = JSON.parse(await readFile(join(c.agents[i]!.dataDir, 'ready.json'), 'utf8')) as { http_url: string };
      const r = await fetch(`${http_url}/readyz`, { signal: AbortSignal.timeout(5_000) });
      await r.text();
      return r.status;
    };
    /** Every JetStream stream has all its replicas back and current (a restarted server caught up); the R3 ones are counted. */
    const streamsCurrent = async (): Promise<boolean> => {
      const jsm = await nc.jetstreamManager({ timeout: 5_000 });
      let replicated = 0;
      for (const info of await jsm.streams.list().next()) {
        const replicas = info.cluster?.replicas ?? [];
        if (replicas.length !== info.config.num_replicas - 1 || replicas.some((r) => !r.current || r.offline)) return false;
        if (info.config.num_replicas === 3) replicated++;
      }
      log(`${replicated} R3 streams, every replica current`);
      return replicated > 0;
    };
    /** Without quorum an answer must be a typed retryable error; no answer at all (the client moving servers) is asked again. */
    const refusedRetryable = async (what: string, send: () => ReturnType<typeof requestRaw>): Promise<void> => {
      const until = Date.now() + 90_000;
      let last = 'no answer';
      while (Date.now() < until) {
        const r = await send().catch((e: Error) => {
          last = `no answer (${e.message})`;
          return undefined;
        });
        const e = r?.body.error;
        if (r && !r.body.ok) {
          if (e && typeof e.type === 'string' && e.retryable === true) {
            log(`ok: ${what} without quorum answered ${e.type} (retryable): ${e.message}`);
            return;
          }
          natsFaultFailure(`${what} without quorum answered ${e ? `${String(e.type)} (retryable ${String(e.retryable)}): ${e.message}` : 'an untyped error'}`);
          return;
        }
        if (r) last = 'success (quorum not lost yet where it was served)';
        await sleep(500);
      }
      natsFaultFailure(`${what} without quorum: no typed answer in 90 s (last: ${last})`);
    };
    const startMember = async (k: number): Promise<void> => {
      await natsCluster!.start(k);
      await late(() => natsCluster!.stopMember(k));
    };

    const kill9 = async (i: number): Promise<void> => {
      expectedExits.add(c.agents[i]!.child);
      await c.agents[i]!.kill9AndWait();
    };
    const restart = async (i: number): Promise<void> => {
      const a = await AgentProcess.start({ natsUrl: c.natsUrl, name: `${vpoolName}-${i}`, ip: ips[i]!, dataDir: join(c.dir, `agent-${i}`), extraArgs: agentArgs });
      await late(() => a.stop());
      c.agents[i] = watch(a, i);
    };

    const ensureDtlSync = async (vd: Vdisk): Promise<void> => {
      let polls = 0;
      await waitFor(`${vd.name} dtl ok_sync`, async () => {
        if (polls++ % 25 === 0) await call('vdisk.dtl_checkup', { vdisk_guid: vd.guid }).catch(() => undefined);
        return (await model(vd.guid)).dtl_status === 'ok_sync';
      }, 120_000, 200).catch((e: Error) => log(`warning: ${e.message}`));
    };

    /** Every agent runs and sees the others ONLINE, every vDisk is served at its owner, its DTL in sync again. */
    const healthy = async (vdisks: Vdisk[]): Promise<void> => {
      for (let i = 0; i < c.agents.length; i++) if (!alive(i)) await restart(i);
      await waitFor('every node ONLINE', async () => {
        for (const [i, sd] of sds.entries()) {
          if (!alive(i)) return false;
          const states = await voldrv<Record<string, string>>(sd, 'node_states', {});
          if (!sds.every((s) => states[s.storagedriver_id] === 'ONLINE')) return false;
        }
        return true;
      }, 120_000, 250);
      for (const vd of vdisks) {
        await waitFor(`${vd.name} served at its owner`, async () => {
          const owner = sds[agentIndexOfSd((await model(vd.guid)).storagedriver_guid)];
          return owner !== undefined && (await run('nbdinfo', ['--size', url(owner, vd.name)])).code === 0;
        }, 120_000, 250);
        await ensureDtlSync(vd);
      }
    };

    const ownerUrl = async (vd: Vdisk): Promise<string> => url(sds[agentIndexOfSd((await model(vd.guid)).storagedriver_guid)]!, vd.name);
    const hex = (p: number): string => `0x${p.toString(16).padStart(2, '0')}`;
    const writeSlot = async (vd: Vdisk, slot: number, pattern: number, at?: string): Promise<void> => {
      const out = await waitFor(`write of slot ${slot} on ${vd.name}`, async () => {
        const r = await qemuIo(at ?? (await ownerUrl(vd)), `write -P ${hex(pattern)} ${SLOT_BASE + slot * MiB} ${MiB}`);
        return /wrote 1048576/.test(r) ? r : undefined;
      }, 60_000, 500);
      if (out) vd.slots.set(slot, pattern);
    };
    /** 'ok', 'wrong' (other bytes than acknowledged) or 'unreadable'. */
    const readSlot = async (vd: Vdisk, slot: number, pattern: number, at?: string): Promise<'ok' | 'wrong' | 'unreadable'> => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const r = await qemuIo(at ?? (await ownerUrl(vd).catch(() => '')), `read -P ${hex(pattern)} ${SLOT_BASE + slot * MiB} ${MiB}`).catch(() => '');
        if (/Pattern verification failed/i.test(r)) return 'wrong';
        if (/read 1048576/.test(r)) return 'ok';
        if (at) return 'unreadable';
        await sleep(1_000);
      }
      return 'unreadable';
    };
    const checkSlots = async (vd: Vdisk): Promise<void> => {
      for (const [slot, pattern] of vd.slots) {
        const got = await readSlot(vd, slot, pattern);
        if (got !== 'ok') {
          figures.ackedWritesLost++;
          log(`ACKED WRITE LOST: ${vd.name} slot ${slot} (pattern ${hex(pattern)}): ${got}`);
        }
      }
    };

    // Tasks: async count_runs with an idempotency key, submitted while the fault happens; each must end with one outcome.
    // Their run files and keys are this run's own: two runs in one process with one seed must not count each other's runs.
    const runId = `${o.seed}-${randomUUID().slice(0, 8)}`;
    const submitTask = (round: number, j: number): PendingTask => {
      const file = `chaos-${runId}-${round}-${j}`;
      const params = { storagerouter_guid: rng.pick(c.agents).guid, file, ms: 300 };
      const taskId = (async (): Promise<string | undefined> => {
        const until = Date.now() + 180_000;
        while (Date.now() < until) {
          const r = await requestRaw(nc, 'ovs.task.test.count_runs', params, { idempotencyKey: file, headers: { [H.async]: '1' }, timeoutMs: 5_000 }).catch(() => undefined);
          if (r?.body.ok) return (r.body.result as { task_id: string }).task_id;
          if (r && r.body.error && !r.body.error.retryable) return undefined;
          await sleep(1_000);
        }
        return undefined;
      })();
      figures.tasksSubmitted++;
      return { file, key: file, params, taskId };
    };
    const settleTask = async (t: PendingTask): Promise<void> => {
      const id = await t.taskId;
      let outcome = false;
      const until = Date.now() + 90_000;
      while (!outcome && Date.now() < until) {
        if (id) {
          const rec = await request<{ status: string }>(nc, TASK_RESULT, { task_id: id, wait_ms: 5_000 }, { timeoutMs: 8_000 }).catch(() => undefined);
          if (rec && rec.status !== 'RUNNING') outcome = true;
        }
        if (!outcome) {
          // A synchronous retry with the same key answers the kept outcome (or says it is unknown: also an outcome).
          const r = await requestRaw(nc, 'ovs.task.test.count_runs', t.params, { idempotencyKey: t.key, timeoutMs: 5_000 }).catch(() => undefined);
          if (r && (r.body.ok || r.body.error?.type === 'IDEMPOTENCY_OUTCOME_UNKNOWN' || r.body.error?.retryable === false)) outcome = true;
          else await sleep(1_000);
        }
      }
      const runs = (await readFile(join(COUNT_RUNS_DIR, t.file), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
      if (!outcome) {
        figures.tasksLost++;
        log(`TASK LOST: ${t.file} (task id ${id ?? 'never accepted'}, runs ${runs})`);
      }
      if (runs > 1) {
        figures.tasksDuplicated++;
        log(`TASK DUPLICATED: ${t.file} ran ${runs} times`);
      }
    };

    // Two vDisks with a synchronous DTL, each under fio through the edge of a node that does not own it.
    const vdisks: Vdisk[] = [];
    for (let k = 0; k < 2; k++) {
      const name = `chaos${k}`;
      const guid = await call<string>('vdisk.create_new', { volume_name: name, volume_size: VDISK_SIZE, storagedriver_guid: sds[k]!.guid });
      await call('vdisk.set_config_params', { vdisk_guid: guid, new_config_params: { dtl_mode: 'sync' } });
      const vd: Vdisk = { name, guid, volumeId: (await model(guid)).volume_id, slots: new Map() };
      vdisks.push(vd);
      await ensureDtlSync(vd);
      // Load k runs through the edge of agent k + 1 (kill_dtl relies on it).
      const edge = sds[(k + 1) % sds.length]!;
      const load = await VerifyingLoad.start({ host: edge.storage_ip, port: edge.ports.edge, exportName: name, sizeBytes: FIO_BYTES, log });
      await late(() => load.stop());
      loads.push(load);
    }
    await Promise.all(loads.map((l) => l.phasesDone(1)));

    const faults: Record<Fault, (round: number) => Promise<void>> = {
      async kill_owner() {
        const vd = rng.pick(vdisks);
        const i = agentIndexOfSd((await model(vd.guid)).storagedriver_guid);
        log(`kill -9 of agent ${i}, owner of ${vd.name}`);
        await kill9(i);
        await waitFor(`${vd.name} failed over`, async () => agentIndexOfSd((await model(vd.guid)).storagedriver_guid) !== i, 120_000, 250);
        await restart(i);
      },
      async kill_dtl() {
        const vd = rng.pick(vdisks);
        const target = (await model(vd.guid)).dtl_config?.storagerouter_guid;
        const i = c.agents.findIndex((a) => a.guid === target);
        if (i < 0) throw new Error(`${vd.name} has no DTL target to kill`);
        log(`kill -9 of agent ${i}, DTL of ${vd.name}`);
        await kill9(i);
        // Writes go on without it (the owner stops waiting after the DTL request timeout); then it comes back. A load
        // whose edge is the killed agent waits for it (qemu holds its requests), so only the others must progress.
        await Promise.all(loads.filter((_, k) => (k + 1) % sds.length !== i).map((l) => l.phasesDone(1)));
        await sleep((OFFLINE_AFTER_S + 2) * 1000);
        await restart(i);
      },
      async restart_nats() {
        if (natsCluster) {
          const k = rng.int(3);
          log(`restart of nats-server ${k} of the cluster (same port, same store)`);
          await natsCluster.stopMember(k);
          await sleep(2_000);
          await startMember(k);
          return;
        }
        log('restart of nats-server (same port, same store)');
        await ns!.stop(true);
        await sleep(2_000);
        const again = await NatsServer.startAt(ns!);
        await late(() => again.stop());
        ns = again;
      },
      async lose_nats_server(round) {
        const k = rng.int(3);
        log(`kill -9 of nats-server ${k} of the cluster`);
        await natsCluster!.stopMember(k, 'SIGKILL');
        try {
          const before = loads.map(goodPhases);
          // The client (or an agent) may have been on that server: it moves to another; then all works as before.
          await check(`a config write with nats-server ${k} down`, () => configWrite(round).then(() => true), 30_000);
          await check(`a model read with nats-server ${k} down`, async () => (await model(vdisks[0]!.guid)).volume_id === vdisks[0]!.volumeId, 30_000);
          await check(`the load to go on with nats-server ${k} down`, () => loads.every((l, j) => goodPhases(l) > before[j]!), 120_000);
        } finally {
          await startMember(k);
        }
        await check(`nats-server ${k} to rejoin (every stream replica current)`, streamsCurrent, 60_000);
      },
      async lose_quorum(round) {
        const up = rng.int(3);
        const down = [0, 1, 2].filter((k) => k !== up);
        const pids = await Promise.all(c.agents.map((a) => a.pid()));
        log(`stop of nats-servers ${down.join(' and ')} of the cluster: no quorum`);
        for (const k of down) await natsCluster!.stopMember(k);
        try {
          await refusedRetryable('a config write', () => requestRaw(nc, 'ovs.config.set', { key: PROBE_KEY, value: -round }, { timeoutMs: 10_000 }));
          const file = `chaos-${runId}-${round}-quorum`;
          await refusedRetryable('a task request', () => requestRaw(nc, 'ovs.task.test.count_runs', { storagerouter_guid: rng.pick(c.agents).guid, file, ms: 10 }, { idempotencyKey: file, timeoutMs: 10_000 }));
          for (const i of c.agents.keys()) await check(`/readyz of agent ${i} to say not ready (503)`, async () => (await readyz(i)) === 503, 60_000);
        } finally {
          for (const k of down) await startMember(k);
        }
        // Recovery by itself: nobody restarts an agent (healthy() would only after a crash, which counts as one).
        await check('a config write once quorum is back', () => configWrite(round).then(() => true), 120_000);
        for (const i of c.agents.keys()) await check(`/readyz of agent ${i} ready again`, async () => (await readyz(i)) === 200, 120_000);
        for (const [i, pid] of pids.entries()) {
          const now = await c.agents[i]!.pid();
          if (now !== pid) natsFaultFailure(`agent ${i} did not recover in its process (pid ${pid} → ${now ?? 'none'})`);
        }
        await check('every stream replica current again', streamsCurrent, 60_000);
      },
      async stall_agent(round) {
        const vd = rng.pick(vdisks);
        const i = agentIndexOfSd((await model(vd.guid)).storagedriver_guid);
        const pid = c.agents[i]!.child.pid!;
        log(`SIGSTOP of agent ${i} (owner of ${vd.name}) until its vDisks failed over`);
        process.kill(pid, 'SIGSTOP');
        try {
          await waitFor(`${vd.name} failed over from the stalled agent`, async () => agentIndexOfSd((await model(vd.guid)).storagedriver_guid) !== i, 120_000, 250);
          // A write at the new owner that the stalled one never saw: reading it through the stalled node after it wakes
          // must give these bytes or nothing, never the old ones.
          await writeSlot(vd, 20 + (round % 4), 1 + ((round * 53 + 7) % 254));
        } finally {
          process.kill(pid, 'SIGCONT');
        }
        await sleep(3_000);
        const slot = 20 + (round % 4);
        const got = await readSlot(vd, slot, vd.slots.get(slot)!, url(sds[i]!, vd.name));
        log(`read through the woken agent ${i}: ${got}`);
        if (got === 'wrong') {
          figures.ackedWritesLost++;
          log(`STALE READ: the woken agent ${i} served old bytes of ${vd.name}`);
        }
      },
      async fuzz() {
        log('fuzz: malformed requests to every request subject an agent serves, garbage events, garbage to every NBD and DTL port');
        const before = figures.fuzz.typed;
        await fuzzNats(nc, rng, figures.fuzz);
        // A port that stops serving, an agent silent after garbage events or a stuck event stream counts as untyped.
        const ports = await fuzzPorts(sds.flatMap((s) => [{ host: s.storage_ip, port: s.ports.edge }, { host: s.storage_ip, port: s.ports.dtl }]), rng);
        const events = await fuzzEvents(nc, rng, [...new Set(sds.map((s) => s.storagerouter_guid))]);
        const broken = [...ports.failures.map((p) => `port ${p} stopped serving`), ...events.silentAgents.map((g) => `agent ${g} silent after the event fuzz`), ...(events.streamStuck ? ['data-plane event stream stuck'] : [])];
        for (const b of broken) {
          figures.fuzz.sent++;
          figures.fuzz.untyped.push(b);
        }
        log(`fuzz: ${figures.fuzz.typed - before} typed replies; untyped so far: ${figures.fuzz.untyped.slice(0, 10).join(', ') || 'none'}`);
      },
    };

    for (let round = 0; round < o.rounds; round++) {
      if (o.signal?.aborted) throw new Error('chaos: stopped');
      const fault = o.schedule?.[round % o.schedule.length] ?? rng.pick(pool);
      figures.faults.push(fault);
      log(`round ${round + 1}/${o.rounds}: ${fault}`);
      for (const [k, vd] of vdisks.entries()) await writeSlot(vd, round % 20, 1 + ((round * 37 + k * 11) % 254));
      const tasks = Array.from({ length: 3 }, (_, j) => submitTask(round, j));
      await faults[fault](round);
      await healthy(vdisks);
      await Promise.all(loads.map((l) => l.phasesDone(1)));
      for (const vd of vdisks) await checkSlots(vd);
      for (const vd of vdisks) {
        const [slot, pattern] = [...vd.slots].pop()!;
        for (const [i, sd] of sds.entries()) {
          const got = await readSlot(vd, slot, pattern, url(sd, vd.name));
          if (got !== 'ok') log(`${vd.name} through the edge of node ${i}: ${got}: ${await qemuIo(url(sd, vd.name), `read -P ${hex(pattern)} ${SLOT_BASE + slot * MiB} 4096`).catch((e: Error) => e.message)}`);
        }
      }
      for (const t of tasks) await settleTask(t);
      figures.rounds++;
      log(`round ${round + 1} done: ${figuresLine(collect(figures, loads))}`);
    }
    return collect(figures, loads);
  };

  // An abort does not wait for the round: the cleanup runs at once, and what the abandoned run starts later is
  // stopped by `late`.
  const running = body();
  running.catch(() => undefined);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error('chaos: stopped'));
    if (o.signal?.aborted) onAbort();
    else o.signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    return await Promise.race([running, aborted]);
  } finally {
    if (onAbort) o.signal?.removeEventListener('abort', onAbort);
    await cleanup();
  }
}

function collect(f: ChaosFigures, loads: VerifyingLoad[]): ChaosFigures {
  f.fioVerifyErrors = loads.reduce((n, l) => n + l.figures.verifyErrors, 0);
  f.fioConnectionLosses = loads.reduce((n, l) => n + l.figures.connectionLosses, 0);
  f.fioReattaches = loads.reduce((n, l) => n + l.figures.reattaches, 0);
  f.fioPhases = loads.reduce((n, l) => n + l.figures.phases, 0);
  return f;
}
