import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type MdsRole = 'MASTER' | 'SLAVE';

/** A table's role and the owner tag a MASTER takes updates from (kept next to the table, replaced atomically). */
export interface RoleState {
  role: MdsRole;
  ownerTag: number;
}

export async function loadRole(dir: string): Promise<RoleState> {
  try {
    return JSON.parse(await readFile(join(dir, 'role.json'), 'utf8')) as RoleState;
  } catch {
    return { role: 'SLAVE', ownerTag: 0 };
  }
}

export async function saveRole(dir: string, state: RoleState): Promise<void> {
  const tmp = join(dir, 'role.json.tmp');
  await writeFile(tmp, JSON.stringify(state));
  await rename(tmp, join(dir, 'role.json'));
}
