import type { Geometry } from '../common/geometry.js';
import type { MdsBackendConfig } from './mds-link.js';

/** `volume_configuration` (C2.5), without the MDS/DTL parts phase 1 does not use yet. */
export interface VolumeConfig {
  volumeId: string;
  ns: string;
  parentNs: string | null;
  parentSnapshot: string | null;
  lbaSize: 512;
  lbaCount: number;
  clusterSize: number;
  scoMultiplier: number;
  tlogMultiplier: number;
  isTemplate: boolean;
  ownerTag: number;
  /** The MDS services holding its metadata, master first; absent until the node's default is applied. */
  mdsBackend?: MdsBackendConfig;
}

export const VOLUME_CONFIG_OBJECT = 'volume_configuration';
export const FAILOVERCACHE_CONFIG_OBJECT = 'failovercache_configuration';

export function newVolumeConfig(volumeId: string, sizeBytes: number, g: Geometry, ownerTag: number, parent: { ns: string; snapshot: string } | null = null): VolumeConfig {
  return {
    volumeId,
    ns: volumeId,
    parentNs: parent?.ns ?? null,
    parentSnapshot: parent?.snapshot ?? null,
    lbaSize: 512,
    lbaCount: sizeBytes / 512,
    clusterSize: g.clusterSize,
    scoMultiplier: g.scoMultiplier,
    tlogMultiplier: g.tlogMultiplier,
    isTemplate: false,
    ownerTag,
  };
}

export function sizeOf(cfg: VolumeConfig): number {
  return cfg.lbaCount * cfg.lbaSize;
}
