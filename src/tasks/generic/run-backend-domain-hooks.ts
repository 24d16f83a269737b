import { z } from 'zod';
import { ObjectNotFoundError } from '../../errors.js';
import { BACKEND_DOMAINS_UPDATE, registerBuiltinHooks, vpoolsOnBackend } from '../../plugins/backend-domains.js';
import { runHooks } from '../../plugins/hooks.js';
import { guid } from '../params.js';
import { defineTask } from '../define.js';

registerBuiltinHooks();

/**
 * Runs every `backend/domains-update` hook with the backend's guid (the original, triggered after a backend's domain
 * junctions changed). Unlike the original, a backend no vPool uses is refused (OBJECT_NOT_FOUND) before any hook runs.
 */
export const runBackendDomainHooks = defineTask({
  module: 'generic',
  name: 'run_backend_domain_hooks',
  summary: 'Run hooks when the Backend Domains have been updated',
  params: z.object({ backend_guid: guid }).strict(),
  owner: { kind: 'cluster' },
  async handler({ backend_guid }, { services }) {
    const vpools = vpoolsOnBackend(services.view, backend_guid);
    if (vpools.length === 0) throw new ObjectNotFoundError('backend', backend_guid);
    const hooks = await runHooks(BACKEND_DOMAINS_UPDATE, { backend_guid }, services);
    return { backend_guid, vpools: vpools.map((v) => v.guid), hooks };
  },
});
