import type { Registration } from '../driver/registry.js';

/** A clone whose parent does not list it (a crash between the two writes of `add`). */
export interface UnlistedClone {
  parent: string;
  clone: string;
  snapshot: string | null;
}

/** A parent listing a clone that is no longer registered (a crash between the two writes of `remove`). */
export interface StaleDescendant {
  parent: string;
  clone: string;
}

export interface DescendantProblems {
  unlisted: UnlistedClone[];
  stale: StaleDescendant[];
}

/** Compares every clone's parent link with its parent's `descendants`; a parent that is gone is not this check's business. */
export function findDescendantProblems(registrations: readonly Registration[]): DescendantProblems {
  const byId = new Map(registrations.map((r) => [r.object_id, r]));
  const unlisted: UnlistedClone[] = [];
  const stale: StaleDescendant[] = [];
  for (const r of registrations) {
    const parent = r.parent_volume === null ? undefined : byId.get(r.parent_volume);
    if (parent && !(r.object_id in parent.descendants)) unlisted.push({ parent: parent.object_id, clone: r.object_id, snapshot: r.parent_snapshot });
    for (const clone of Object.keys(r.descendants)) {
      if (byId.get(clone)?.parent_volume !== r.object_id) stale.push({ parent: r.object_id, clone });
    }
  }
  return { unlisted, stale };
}
