import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface Identity {
  storagerouter_guid: string;
  machine_id: string;
}

/** The node's identity lives in its data dir, so a restart on the same dir is the same StorageRouter. */
export async function loadOrCreateIdentity(dataDir: string): Promise<Identity> {
  const file = join(dataDir, 'identity.json');
  try {
    const id = JSON.parse(await readFile(file, 'utf8')) as Identity;
    if (typeof id.storagerouter_guid === 'string' && typeof id.machine_id === 'string') return id;
    throw new Error(`${file} is not a valid identity file`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const id: Identity = { storagerouter_guid: randomUUID(), machine_id: randomBytes(16).toString('hex') };
  await mkdir(dataDir, { recursive: true });
  await writeFile(`${file}.tmp`, JSON.stringify(id, null, 2));
  await rename(`${file}.tmp`, file);
  return id;
}
