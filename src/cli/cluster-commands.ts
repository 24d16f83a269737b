import type { NatsConnection } from 'nats';
import type { ActorInfo } from '../supervisors/supervision.js';
import { askEveryAgent, askNode, formatTree, listNodes, modelNodes } from './cluster.js';
import { withNats } from './output.js';

export interface ClusterOptions {
  json?: boolean;
  nats?: string;
}

/** `ovs ls` */
export function runLs(o: ClusterOptions): Promise<void> {
  return withNats(o.nats, Boolean(o.json), async (nc) => listNodes(nc, await modelNodes(nc)));
}

/** `ovs info <node>` */
export function runInfo(node: string, o: ClusterOptions): Promise<void> {
  return withNats(o.nats, Boolean(o.json), async (nc) => askNode(nc, await resolveNode(nc, node), 'info'));
}

/** `ovs stats` */
export function runStats(o: ClusterOptions): Promise<void> {
  return withNats(o.nats, Boolean(o.json), async (nc) => {
    const answers = await askEveryAgent<Array<Record<string, number | string>>>(nc, 'stats', []);
    return answers.flatMap(({ node, result }) =>
      result.map((s) => ({ node, task: s.task, count: s.count, errors: s.errors, mean_ms: Number(s.mean_ms).toFixed(2), max_ms: Number(s.max_ms).toFixed(2) })));
  });
}

/** `ovs tree` */
export function runTree(o: ClusterOptions): Promise<void> {
  return withNats(o.nats, Boolean(o.json), async (nc) => {
    const trees: Record<string, ActorInfo[]> = Object.fromEntries((await askEveryAgent<ActorInfo[]>(nc, 'tree', [])).map((a) => [a.node, a.result]));
    if (o.json) return trees;
    process.stdout.write(Object.entries(trees).map(([n, t]) => formatTree(n, t)).join('\n\n') + '\n');
    return undefined;
  });
}

async function resolveNode(nc: NatsConnection, node: string): Promise<string> {
  const hit = (await modelNodes(nc)).find((s) => s.guid === node || s.name === node);
  if (!hit) throw new Error(`no StorageRouter named or with guid '${node}'`);
  return hit.guid;
}
