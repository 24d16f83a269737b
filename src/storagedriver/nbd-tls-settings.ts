import { z } from 'zod';
import type { ConfigStore } from '../config/store.js';
import { loadNbdTls, type NbdTls } from '../dataplane/nbd/tls.js';
import { NbdTlsConfigError } from '../errors/dataplane.js';

/** Per vPool: PEM paths on each node (each node keeps its own certificate for its storage IP at the same path). */
export const nbdTlsKey = (vpoolGuid: string): string => `/ovs/vpools/${vpoolGuid}/nbd_tls`;
/** Every vPool without a key of its own: set it before add_vpool, so a new vPool never serves plain for a moment. */
export const NBD_TLS_DEFAULT_KEY = '/ovs/framework/nbd_tls';

const NbdTlsSetting = z
  .object({
    cert_file: z.string().min(1),
    key_file: z.string().min(1),
    ca_file: z.string().min(1).optional(),
    require: z.boolean().optional(),
  })
  .strict();

/**
 * The vPool's NBD TLS material (its own key, else the cluster default), undefined when neither is set; a bad setting
 * or an unreadable file is an error. Read when the StorageDriver starts.
 */
export async function nbdTlsOf(config: ConfigStore, vpoolGuid: string): Promise<NbdTls | undefined> {
  let key = nbdTlsKey(vpoolGuid);
  let raw = await config.get(key);
  if (raw === undefined || raw === null) {
    key = NBD_TLS_DEFAULT_KEY;
    raw = await config.get(key);
  }
  if (raw === undefined || raw === null) return undefined;
  const parsed = NbdTlsSetting.safeParse(raw);
  if (!parsed.success) throw new NbdTlsConfigError(vpoolGuid, key, parsed.error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`).join('; '));
  try {
    return loadNbdTls(parsed.data);
  } catch (err) {
    throw new NbdTlsConfigError(vpoolGuid, key, (err as Error).message);
  }
}
