/**
 * Whether this node may serve vDisk I/O now. A node the cluster may already have declared offline (it could not show
 * it is alive for a while: a stall, a partition) must not answer reads or writes until it knows which of its volumes
 * are still its own; otherwise a woken node serves bytes its successor has overwritten.
 */
export interface IoFence {
  isOpen(): boolean;
  /** Resolves true once open, false when `timeoutMs` passed first. */
  untilOpen(timeoutMs: number): Promise<boolean>;
}

/** A fence that is always open (single-node drivers, tests). */
export const OPEN_FENCE: IoFence = { isOpen: () => true, untilOpen: () => Promise.resolve(true) };
