import { EventEmitter } from 'node:events';
import { InjectedFaultError, TestModeOffError } from '../errors/testmode.js';

/**
 * Fault injection points of an agent started in test mode (`ovs agent --test-mode`). Production code calls
 * `faults.hit(point, subject)` where a failure matters; without an armed fault that is a no-op. The admin subject
 * of a test-mode agent arms and clears faults (src/testmode/admin.ts).
 *
 * Points: `mds.unresponsive` (subject = "ip:port" of an MDS service: its requests are not answered),
 * `mds.catch_up` (subject = "ip:port": a catch-up fails), `backend.put` (subject = "<namespace>/<object>" or
 * "<namespace>": a backend put fails), `scrub.step` (subject = "<step>:<volume_id>", step one of
 * scrub | apply | gc: that scrub step fails).
 */
export const FAULT_POINTS = ['mds.unresponsive', 'mds.catch_up', 'backend.put', 'scrub.step'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

export interface FaultSpec {
  point: FaultPoint;
  /** Matches when the hit's subject starts with this (empty = every subject). */
  match: string;
  /** How many hits fail before the fault disarms itself; undefined = until cleared. */
  times?: number;
}

/** Registered as `INJECTED_FAULT` (retryable) in src/errors/testmode.ts, so it crosses the wire as itself. */
export { InjectedFaultError as InjectedFault } from '../errors/testmode.js';

export class Faults extends EventEmitter {
  private armed: FaultSpec[] = [];
  enabled = false;

  arm(spec: FaultSpec): void {
    if (!this.enabled) throw new TestModeOffError();
    this.armed.push({ ...spec });
  }

  clear(point?: FaultPoint): void {
    this.armed = point === undefined ? [] : this.armed.filter((f) => f.point !== point);
  }

  list(): FaultSpec[] {
    return this.armed.map((f) => ({ ...f }));
  }

  /** True when an armed fault matches (and consumes one of its `times`). */
  active(point: FaultPoint, subject: string): boolean {
    if (this.armed.length === 0) return false;
    const f = this.armed.find((x) => x.point === point && subject.startsWith(x.match));
    if (!f) return false;
    if (f.times !== undefined && --f.times <= 0) this.armed = this.armed.filter((x) => x !== f);
    this.emit('hit', point, subject);
    return true;
  }

  /** Throws `InjectedFault` when an armed fault matches. */
  hit(point: FaultPoint, subject: string): void {
    if (this.active(point, subject)) throw new InjectedFaultError(point, subject);
  }
}

/** One per process: an agent process is one node. */
export const faults = new Faults();
