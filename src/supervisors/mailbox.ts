import { createRequire } from 'node:module';
import type nact from 'nact';

// nact keeps mailboxes private; its system map is the only way to read their depth (for /metrics and `ovs tree`).
const systemMap = createRequire(import.meta.url)('nact/lib/system-map') as { find(system: string, ref: unknown): { mailbox?: { length: number } } | undefined };

export function mailboxDepth(ref: nact.Ref<unknown>): number {
  const r = ref as unknown as { system?: { name: string } };
  if (!r.system) return 0;
  return systemMap.find(r.system.name, ref)?.mailbox?.length ?? 0;
}
