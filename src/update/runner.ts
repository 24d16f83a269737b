import type { AgentServices } from '../agent-services.js';
import { asOvsError, UpdateRefusedError } from '../errors.js';
import { encode } from '../protocol/codec.js';
import { UPDATE_PROGRESS_SUBJECT, type UpdateOperation } from '../protocol/subjects.js';
import { evacuationTargets } from '../policies/update-plan.js';
import { sleep } from '../supervisors/backoff.js';
import { askNode, nodeUpdateStatus } from './node-client.js';
import type { NodeUpdateStatus } from './node-service.js';
import { readPlan, writePlan, type NodePlan, type UpdatePlan } from './plan.js';

export interface RunnerTimings {
  /** How long an install (download, extract, dependencies, start check) may take on one node. */
  installMs: number;
  /** How long a node may take to come back on the new release. */
  restartMs: number;
  /** How long moves back to a restarted node are retried while its StorageDrivers come up. */
  moveBackMs: number;
}

const DEFAULT_TIMINGS: RunnerTimings = { installMs: 600_000, restartMs: 180_000, moveBackMs: 120_000 };

/**
 * Runs a rolling update, one node at a time, from the plan in the configuration: only on the agent that holds the
 * cluster lease, and from wherever the plan stands when a new holder takes over (the runner's own node restarts
 * last and its successor finishes the work). A failure stops the update at that node, brings that node's vDisks
 * back when it still runs its old release, and records why.
 */
export class UpdateRunner {
  private leading = false;
  private active: Promise<void> | undefined;

  constructor(private readonly services: () => AgentServices, private readonly timings: RunnerTimings = DEFAULT_TIMINGS) {}

  /** The cluster lease was taken (true) or lost: a new holder resumes a running update. */
  lead(leading: boolean): void {
    this.leading = leading;
    if (leading) void this.kick();
  }

  /** Starts working on the stored plan unless this agent already does. */
  kick(): Promise<void> {
    this.active ??= this.work().finally(() => {
      this.active = undefined;
    });
    return this.active;
  }

  private get s(): AgentServices {
    return this.services();
  }

  private async work(): Promise<void> {
    const plan = await readPlan(this.s.config).catch(() => undefined);
    if (!plan || plan.status !== 'running') return;
    try {
      for (const node of plan.nodes) {
        if (!this.leading) return;
        if (node.step === 'done') continue;
        await this.runNode(plan, node);
      }
      // The original's post-update hook: migrations of the new release run once every node has it.
      await this.s.call('migration.migrate', {}).catch((e: unknown) => this.say(plan, undefined, `migration.migrate after the update failed: ${(e as Error).message}`));
      plan.status = 'done';
      plan.finished_at = Date.now();
      await this.say(plan, undefined, `update to ${plan.version} done on every node`);
    } catch (e) {
      if (!this.leading) return;
      await this.fail(plan, e);
    }
    await this.s.call('generic.refresh_package_information', {}).catch((e: unknown) => this.s.log.warn({ err: e }, 'update: refreshing package information failed'));
  }

  private async runNode(plan: UpdatePlan, node: NodePlan): Promise<void> {
    if (node.step === 'pending') {
      await this.say(plan, node, `installing ${plan.version} on ${node.name} beside ${node.from}`);
      await this.ask(node.guid, 'install', { source: plan.source }, this.timings.installMs);
      await this.advance(plan, node, 'installed');
    }
    if (node.step === 'installed') {
      await this.evacuate(plan, node);
      // Write logs kept on this node would be gone while it restarts: other vDisks take another DTL node first.
      await this.checkup(plan, node, 'vdisk.dtl_checkup', { storagerouters_to_exclude: [node.guid] });
      await this.advance(plan, node, 'evacuated');
    }
    if (node.step === 'evacuated') {
      // Stored before asking: when this is the runner's own node, the request ends this process.
      await this.advance(plan, node, 'restarting');
      await this.say(plan, node, `restarting ${node.name} on ${plan.version}`);
      await this.ask(node.guid, 'restart', { version: plan.version }, 10_000);
    }
    if (node.step === 'restarting') {
      await this.waitForVersion(node, plan.version);
      await this.advance(plan, node, 'restarted');
    }
    if (node.step === 'restarted') {
      await this.moveBack(plan, node);
      await this.checkup(plan, node, 'vdisk.dtl_checkup', {});
      await this.checkup(plan, node, 'mds.mds_checkup', {});
      await this.advance(plan, node, 'done');
      await this.say(plan, node, `${node.name} runs ${plan.version} and serves its vDisks again`);
    }
  }

  /** Moves every vDisk the node owns to the least loaded other node of its vPool, recording each move as it lands. */
  private async evacuate(plan: UpdatePlan, node: NodePlan): Promise<void> {
    const { view } = this.s;
    const sds = view.list('storagedriver');
    const sdNode = new Map(sds.map((sd) => [sd.guid, String(sd.storagerouter_guid)]));
    const answering = new Set<string>();
    for (const sr of new Set(sdNode.values())) if (sr !== node.guid && (await this.status(sr).then(() => true, () => false))) answering.add(sr);
    const hosts: Record<string, string[]> = {};
    for (const sd of sds) if (answering.has(String(sd.storagerouter_guid))) (hosts[String(sd.vpool_guid)] ??= []).push(String(sd.storagerouter_guid));
    const load: Record<string, number> = {};
    const owned: Array<{ guid: string; vpool: string }> = [];
    for (const d of view.list('vdisk')) {
      const sr = sdNode.get(String(d.storagedriver_guid));
      if (sr === undefined) continue;
      load[sr] = (load[sr] ?? 0) + 1;
      if (sr === node.guid && d.is_vtemplate !== true) owned.push({ guid: d.guid, vpool: String(d.vpool_guid) });
    }
    const { moves, stays } = evacuationTargets({ node: node.guid, vdisks: owned, hosts, load });
    if (stays.length > 0) await this.say(plan, node, `${stays.length} vDisk(s) of single-node vPools stay on ${node.name}; their I/O pauses during its restart`);
    for (const m of moves) {
      await this.s.call('vdisk.move', { vdisk_guid: m.vdisk, target_storagerouter_guid: m.target, force: false });
      node.moved.push({ vdisk: m.vdisk, to: m.target });
      await writePlan(this.s.config, plan);
    }
    await this.say(plan, node, `${moves.length} vDisk(s) moved off ${node.name}`);
  }

  /** Takes back the vDisks that left the node; one that was deleted or moved on meanwhile is left where it is. */
  private async moveBack(plan: UpdatePlan, node: NodePlan): Promise<void> {
    const deadline = Date.now() + this.timings.moveBackMs;
    for (const m of node.moved) {
      for (;;) {
        const d = this.s.view.find('vdisk', m.vdisk);
        const owner = d ? this.s.view.find('storagedriver', String(d.storagedriver_guid)) : undefined;
        if (!d || !owner || String(owner.storagerouter_guid) !== m.to) break;
        try {
          await this.s.call('vdisk.move', { vdisk_guid: m.vdisk, target_storagerouter_guid: node.guid, force: false });
          break;
        } catch (e) {
          // The restarted node's StorageDrivers may still be coming up.
          if (Date.now() > deadline) throw e;
          await sleep(1_000);
        }
      }
    }
    await this.say(plan, node, `${node.moved.length} vDisk(s) back on ${node.name}`);
  }

  /** Safety checkups around a restart; a failure is reported, not fatal (the scheduled checkups repair later). */
  private async checkup(plan: UpdatePlan, node: NodePlan, task: string, params: Record<string, unknown>): Promise<void> {
    await this.s.call(task, params).catch((e: unknown) => this.say(plan, node, `${task} around ${node.name}'s restart failed: ${(e as Error).message}`));
  }

  private async waitForVersion(node: NodePlan, version: string): Promise<void> {
    const deadline = Date.now() + this.timings.restartMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      const st = await this.status(node.guid).catch((e: unknown) => {
        last = (e as Error).message;
        return undefined;
      });
      if (st?.version === version) return;
      if (st) last = `it runs ${st.version}`;
      await sleep(500);
    }
    throw new UpdateRefusedError(`${node.name} did not come back on ${version} within ${Math.round(this.timings.restartMs / 1000)} s (${last})`, { storagerouter_guid: node.guid, version });
  }

  private status(sr: string): Promise<NodeUpdateStatus> {
    return nodeUpdateStatus(this.s.nc, sr, 2_000);
  }

  private ask(sr: string, op: UpdateOperation, params: Record<string, unknown>, timeout: number): Promise<unknown> {
    return askNode(this.s.nc, sr, op, params, timeout);
  }

  private async advance(plan: UpdatePlan, node: NodePlan, step: NodePlan['step']): Promise<void> {
    node.step = step;
    await writePlan(this.s.config, plan);
  }

  /** Stops at the node that failed; when it still runs its old release, its vDisks come back so nothing is left half-way. */
  private async fail(plan: UpdatePlan, e: unknown): Promise<void> {
    const err = asOvsError(e);
    const node = plan.nodes.find((n) => n.step !== 'done' && n.step !== 'pending') ?? plan.nodes.find((n) => n.step === 'pending');
    plan.status = 'failed';
    plan.finished_at = Date.now();
    plan.error = node ? `update stopped at ${node.name}: ${err.message}` : err.message;
    if (node) {
      node.error = err.message;
      const st = await this.status(node.guid).catch(() => undefined);
      if (st && st.version === node.from && node.moved.length > 0) {
        await this.moveBack(plan, node).catch((x: unknown) => this.s.log.warn({ err: x }, 'update: taking vDisks back after a failure failed'));
      }
      node.step = 'failed';
    }
    await this.say(plan, node, plan.error);
    this.s.log.error({ err, update: plan.id }, 'update: stopped');
  }

  private async say(plan: UpdatePlan, node: NodePlan | undefined, message: string): Promise<void> {
    plan.log.push({ ts: Date.now(), message, by: `${this.s.storagerouterGuid}#${process.pid}` });
    await writePlan(this.s.config, plan);
    this.s.log.info({ update: plan.id, node: node?.name, step: node?.step }, `update: ${message}`);
    this.s.nc.publish(UPDATE_PROGRESS_SUBJECT, encode({ id: plan.id, status: plan.status, version: plan.version, storagerouter_guid: node?.guid ?? null, step: node?.step ?? null, message }, 'json'));
  }
}
