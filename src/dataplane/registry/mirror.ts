import type { Registration } from '../driver/registry.js';
import { CLUSTER_CONFIGURATION, OWNER_TAG_COUNTER, REGISTRATION_PREFIX, type ClusterConfiguration } from './keys.js';

interface Known {
  revision: number;
  /** undefined: deleted at `revision`. */
  value: unknown;
}

/**
 * In-memory copy of a registry bucket, fed by the watch and by this process's own writes. Every key keeps the
 * newest revision seen, deletions included, so a late watch entry can never bring back an older value.
 */
export class RegistryMirror {
  private readonly known = new Map<string, Known>();
  private readonly registrations = new Map<string, Registration>();
  /** A set because two nodes racing to create one path can both succeed; the first remaining one is found. */
  private readonly idsByPath = new Map<string, Set<string>>();

  /** Records `value` (undefined: deleted) at `revision`; returns false when it is older than what is held. */
  apply(key: string, revision: number, value: unknown): boolean {
    const previous = this.known.get(key);
    if (previous && previous.revision >= revision) return false;
    const frozen = key.startsWith(REGISTRATION_PREFIX) && value !== undefined ? freezeRegistration(value as Registration) : value;
    this.known.set(key, { revision, value: frozen });
    if (key.startsWith(REGISTRATION_PREFIX)) this.reindex(key.slice(REGISTRATION_PREFIX.length), frozen as Registration | undefined);
    return true;
  }

  /** The live value of a key and its revision; undefined when absent or deleted. */
  current(key: string): { revision: number; value: unknown } | undefined {
    const k = this.known.get(key);
    return k && k.value !== undefined ? { revision: k.revision, value: k.value } : undefined;
  }

  registration(id: string): Registration | undefined {
    return this.registrations.get(id);
  }

  registrationAt(path: string): Registration | undefined {
    const id = this.idsByPath.get(path)?.values().next().value;
    return id === undefined ? undefined : this.registrations.get(id);
  }

  allRegistrations(): Registration[] {
    return [...this.registrations.values()];
  }

  ownerTagCounter(): number {
    return (this.current(OWNER_TAG_COUNTER)?.value as number | undefined) ?? 0;
  }

  clusterConfiguration(): ClusterConfiguration {
    return (this.current(CLUSTER_CONFIGURATION)?.value as ClusterConfiguration | undefined) ?? {};
  }

  private reindex(id: string, next: Registration | undefined): void {
    const previous = this.registrations.get(id);
    if (previous) {
      const ids = this.idsByPath.get(previous.target_path);
      ids?.delete(id);
      if (ids?.size === 0) this.idsByPath.delete(previous.target_path);
    }
    if (next) {
      this.registrations.set(id, next);
      let ids = this.idsByPath.get(next.target_path);
      if (!ids) this.idsByPath.set(next.target_path, (ids = new Set()));
      ids.add(id);
    } else {
      this.registrations.delete(id);
    }
  }
}

/** Readers get the mirror's own objects; freezing them keeps a caller from changing the registry without a write. */
function freezeRegistration(r: Registration): Registration {
  Object.freeze(r.descendants);
  return Object.freeze(r);
}
