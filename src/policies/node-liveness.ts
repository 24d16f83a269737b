/**
 * Which StorageRouters the cluster singleton declares offline or back online, from the heartbeats it has seen.
 * `lastSeen` and `now` are on one monotonic clock; a node never seen since `watchingSince` counts from then, so a
 * singleton that just started does not declare the whole cluster dead.
 */
export function livenessChanges(o: {
  nodes: readonly string[];
  lastSeen: ReadonlyMap<string, number>;
  offline: ReadonlySet<string>;
  now: number;
  watchingSince: number;
  offlineAfterMs: number;
}): { goneOffline: string[]; backOnline: string[] } {
  const goneOffline: string[] = [];
  const backOnline: string[] = [];
  for (const node of o.nodes) {
    const seen = o.lastSeen.get(node);
    const silentFor = o.now - Math.max(seen ?? o.watchingSince, o.watchingSince);
    if (silentFor > o.offlineAfterMs) {
      if (!o.offline.has(node)) goneOffline.push(node);
    } else if (o.offline.has(node) && seen !== undefined) {
      backOnline.push(node);
    }
  }
  return { goneOffline, backOnline };
}

/**
 * A detector tick this late means its own process was paused (SIGSTOP, a frozen VM, a long stall of the event loop):
 * the silence it measured is its own, so it must judge heartbeats again from now (`watchingSince`).
 */
export function wasPaused(lastTick: number | undefined, now: number, tickMs: number): boolean {
  return lastTick !== undefined && now - lastTick > 2 * tickMs + 1_000;
}
