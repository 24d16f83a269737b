/**
 * The decisions of a lease, apart from the KV that stores it. Times are one agent's own monotonic clock: no
 * decision compares clocks of two hosts.
 */

/** A contender's first sight of a key revision, on its own clock. */
export interface Sighting {
  revision: number;
  since: number;
}

/** What the lease key holds when a contender reads it; undefined when it is absent or deleted. */
export interface KeyState {
  holder: string;
  revision: number;
}

export type ContenderMove =
  | { move: 'create' }
  | { move: 'take'; revision: number; because: 'own' | 'expired' }
  | { move: 'wait'; sighting: Sighting };

/**
 * For an agent that does not hold the lease: create it when free, take back its own record (from before a
 * restart) at once, take another holder's only when the revision has stood still for a whole ttl since first seen.
 */
export function contenderMove(key: KeyState | undefined, me: string, seen: Sighting | undefined, now: number, ttlMs: number): ContenderMove {
  if (!key) return { move: 'create' };
  if (key.holder === me) return { move: 'take', revision: key.revision, because: 'own' };
  if (!seen || seen.revision !== key.revision) return { move: 'wait', sighting: { revision: key.revision, since: now } };
  if (now - seen.since >= ttlMs) return { move: 'take', revision: key.revision, because: 'expired' };
  return { move: 'wait', sighting: seen };
}

/** Share of the ttl after which a holder that could not renew stops acting as the holder. */
export const STEP_DOWN_SHARE = 0.8;

/**
 * A holder stops before any contender may take over: `renewedAt` is taken before the write is sent, so it is no
 * later than the revision a contender sees, and a contender waits a whole ttl from its first sight of it.
 */
export function holderMustStepDown(renewedAt: number, now: number, ttlMs: number): boolean {
  return now - renewedAt >= ttlMs * STEP_DOWN_SHARE;
}
