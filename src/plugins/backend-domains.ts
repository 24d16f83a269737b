import type { ModelObject, ModelReader } from '../model/schema.js';
import { backendGuidOf, backendInfoOf } from '../storagedriver/backend-of.js';
import { registerHook } from './hooks.js';

export const BACKEND_DOMAINS_UPDATE = 'backend/domains-update';

/**
 * The vPools whose backend is `backendGuid`: the original's vPool metadata names its backend as
 * `backend.backend_info.alba_backend_guid`; a plugin-owned backend may also be named `backend.backend_guid`; the
 * backends of this data plane have the guid derived from where they store (`backendGuidOf`).
 */
export function vpoolsOnBackend(view: ModelReader, backendGuid: string): ModelObject[] {
  return view.list('vpool').filter((v) => {
    const backend = (v.metadata as { backend?: { backend_guid?: unknown; backend_info?: { alba_backend_guid?: unknown } } } | null)?.backend;
    if (backend?.backend_guid === backendGuid || backend?.backend_info?.alba_backend_guid === backendGuid) return true;
    try {
      return backendGuidOf(backendInfoOf(v)) === backendGuid;
    } catch {
      return false;
    }
  });
}

let registered = false;

/**
 * The framework's own handler (the ALBA plugin's in the original invalidated the backend's cached summary): what is
 * computed from a vPool on that backend is computed again at the next read.
 */
export function registerBuiltinHooks(): void {
  if (registered) return;
  registered = true;
  registerHook(BACKEND_DOMAINS_UPDATE, 'framework', ({ backend_guid }, services) => {
    const vpools = vpoolsOnBackend(services.view, String(backend_guid));
    for (const v of vpools) services.computed.invalidate('vpool', v.guid);
    services.log.info({ backend_guid, vpools: vpools.map((v) => v.guid) }, 'backend domains changed; cached vPool fields dropped');
  });
}
