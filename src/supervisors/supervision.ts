import { EventEmitter } from 'node:events';
import nact from 'nact';
import type { Logger } from 'pino';
import { engineUnavailable } from '../errors.js';
import { backoffMs, sleep } from './backoff.js';
import { RestartWindow } from './restart-window.js';
import { mailboxDepth } from './mailbox.js';

// nact's Ref<T> is a phantom type (no members), so any actor's ref is a Ref<unknown>.
type Ref = nact.Ref<unknown>;

export interface RestartPolicy {
  maxRestarts: number;
  periodMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

/** How long an actor that met an engine outage waits before it runs again. */
const ENGINE_OUTAGE_RETRY_MS = 2_000;

export const DEFAULT_POLICY: RestartPolicy = { maxRestarts: 5, periodMs: 30_000, backoffInitialMs: 50, backoffMaxMs: 5_000 };

export type ActorStatus = 'running' | 'restarting' | 'stopped' | 'escalated';

export interface ActorInfo {
  path: string;
  /** Kind for metrics labels: the name up to ':' (`storagerouter`, `vpool`, `cluster`). */
  kind: string;
  mailbox?: number;
  parent: string | undefined;
  status: ActorStatus;
  restarts: number;
  lastError?: string;
  startedAt: number;
}

export interface Behaviour<S, M> {
  initialState: () => S;
  handle: (state: S, msg: M, ctx: nact.ActorContext<M, Ref>) => S | Promise<S>;
}

/**
 * Our supervision on top of nact (which by itself stops a crashed actor silently): restart intensity and period,
 * exponential backoff before each restart, escalation that marks the node degraded, dead letters counted and
 * logged, and every decision logged through pino. It also keeps the live tree for `/readyz` and `ovs tree`.
 */
export class Supervision extends EventEmitter {
  private readonly infos = new Map<string, ActorInfo>();
  private readonly pathOfRef = new WeakMap<object, string>();
  private readonly degradedReasons = new Map<string, string>();
  private readonly refs = new Map<string, nact.Ref<unknown>>();
  deadLetters = 0;

  constructor(private readonly log: Logger) {
    super();
  }

  spawn<S, M>(parent: Ref, name: string, behaviour: Behaviour<S, M>, policy: RestartPolicy = DEFAULT_POLICY): nact.Ref<M> {
    const parentPath = this.pathOfRef.get(parent);
    const path = parentPath ? `${parentPath}/${name}` : name;
    const window = new RestartWindow(policy.maxRestarts, policy.periodMs);
    const info: ActorInfo = { path, kind: kindOfName(name), parent: parentPath, status: 'running', restarts: 0, startedAt: Date.now() };
    const log = this.log.child({ actor: path });
    const ref: nact.Ref<M> = nact.spawn(
      parent,
      (state: S, msg: M, ctx: nact.ActorContext<M, Ref>) => behaviour.handle(state, msg, ctx),
      name,
      {
        initialStateFunc: () => behaviour.initialState(),
        afterStop: () => {
          // An escalated actor stays listed so operators see what broke; a stopped one leaves the tree.
          if (info.status !== 'escalated') {
            info.status = 'stopped';
            this.infos.delete(path);
          }
          this.refs.delete(path);
          this.emit('stopped', path);
        },
        onCrash: async (msg: unknown, error: Error | undefined, ctx: nact.SupervisionContext<M, Ref>) => {
          info.lastError = error?.message ?? String(error);
          // NATS or JetStream not answering (a restart, no quorum) is no fault of the actor: it waits and retries
          // without using up its restart intensity, so the node is not left degraded after the engine recovers.
          const outage = engineUnavailable(error) !== undefined;
          const allowed = outage || window.record(Date.now());
          if (!allowed) {
            info.status = 'escalated';
            const reason = `${path} crashed ${window.recent} times within ${policy.periodMs} ms (last: ${info.lastError})`;
            this.degradedReasons.set(path, reason);
            log.error({ err: error, restarts: info.restarts }, 'restart intensity exceeded; actor stopped, node degraded');
            this.emit('escalated', path, reason);
            return ctx.stop;
          }
          info.status = 'restarting';
          info.restarts += 1;
          const delay = outage ? ENGINE_OUTAGE_RETRY_MS : backoffMs(window.recent, policy.backoffInitialMs, policy.backoffMaxMs);
          log.warn({ err: error, restarts: info.restarts, backoff_ms: delay, message_kind: kindOf(msg) }, outage ? 'NATS JetStream not answering; actor restarts when it retries' : 'actor crashed; restarting');
          this.emit('restart', path);
          await sleep(delay);
          info.status = 'running';
          return ctx.reset;
        },
      },
    );
    this.pathOfRef.set(ref, path);
    this.infos.set(path, info);
    this.refs.set(path, ref);
    return ref;
  }

  /** Registers a root (the actor system or the node supervisor) so children get readable paths. */
  nameRoot(ref: Ref, path: string): void {
    this.pathOfRef.set(ref, path);
  }

  /** Delivers a message, or counts and logs it as a dead letter when the actor is gone. */
  tell<M>(ref: nact.Ref<M>, msg: M): boolean {
    const path = this.pathOfRef.get(ref);
    const info = path === undefined ? undefined : this.infos.get(path);
    if (!info || info.status === 'stopped' || info.status === 'escalated') {
      this.deadLetters += 1;
      this.log.warn({ actor: path, message_kind: kindOf(msg) }, 'dead letter: actor is not running');
      this.emit('deadLetter', path);
      return false;
    }
    nact.dispatch(ref, msg);
    return true;
  }

  isRunning(ref: Ref): boolean {
    const path = this.pathOfRef.get(ref);
    const status = path === undefined ? undefined : this.infos.get(path)?.status;
    return status === 'running' || status === 'restarting';
  }

  stop(ref: Ref): void {
    nact.stop(ref);
  }

  get degraded(): string[] {
    return [...this.degradedReasons.values()];
  }

  clearDegraded(path: string): void {
    this.degradedReasons.delete(path);
  }

  /** The live tree with mailbox depths (escalated actors stay listed). */
  tree(): ActorInfo[] {
    return [...this.infos.values()].map((i) => {
      const ref = this.refs.get(i.path);
      return { ...i, mailbox: ref && i.status !== 'escalated' ? mailboxDepth(ref) : 0 };
    });
  }
}

function kindOfName(name: string): string {
  return name.split(/[:.]/)[0] ?? name;
}

function kindOf(msg: unknown): string | undefined {
  return msg !== null && typeof msg === 'object' && 't' in msg ? String(msg.t) : undefined;
}
