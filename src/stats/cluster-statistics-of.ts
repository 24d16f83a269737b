import type { AgentServices } from '../agent-services.js';
import { ClusterStatistics } from './figures.js';

const perAgent = new WeakMap<object, ClusterStatistics>();

/** One ClusterStatistics per agent, so `_ps` rates compare with the previous run's sample. */
export function clusterStatisticsOf(s: Pick<AgentServices, 'view' | 'voldrv'>): ClusterStatistics {
  let stats = perAgent.get(s.view);
  if (!stats) {
    stats = new ClusterStatistics(s.view, (sd) => s.voldrv(sd));
    perAgent.set(s.view, stats);
  }
  return stats;
}
