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
