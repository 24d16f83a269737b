import { InvalidOperationError } from '../errors.js';
import { isSnapshotInBackend } from '../snapshots/persistor.js';
import type { SnapshotsFile } from '../snapshots/types.js';
import type { VolumeConfig } from '../volume/config.js';
import { DEFAULT_FILL_RATIO, type ScrubWork } from './types.js';

/**
 * One unit per snapshot whose TLogs are all in the backend and that is not scrubbed yet (A16); the `current` TLogs
 * never. Templates are read-only, scrubbing included.
 */
export function scrubWorkUnits(
  doc: SnapshotsFile,
  cfg: Pick<VolumeConfig, 'isTemplate' | 'ns' | 'volumeId' | 'clusterSize' | 'scoMultiplier' | 'tlogMultiplier'>,
  fillRatio = DEFAULT_FILL_RATIO,
): ScrubWork[] {
  if (cfg.isTemplate) throw new InvalidOperationError(`volume ${cfg.volumeId} is a template: templates are not scrubbed`);
  return [...doc.snapshots]
    .sort((a, b) => a.num - b.num)
    .filter((s) => !s.scrubbed && s.tlogs.length > 0 && isSnapshotInBackend(s))
    .map((s) => ({
      ns: cfg.ns, volumeId: cfg.volumeId, snapshot: s.name, clusterSize: cfg.clusterSize, scoMultiplier: cfg.scoMultiplier,
      tlogMultiplier: cfg.tlogMultiplier, fillRatio, tlogs: s.tlogs.map((t) => ({ ...t })),
    }));
}
