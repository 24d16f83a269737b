import { OvsError } from '../../errors.js';
import type { Implementation } from '../implementation.js';

/** The volume driver of a StorageDriver finished starting (event `up_and_running`): count it (`startup_counter`). */
export const upAndRunning: Implementation = {
  async handler(p: { storagedriver_id: string }, { services: s }) {
    const sd = s.view.list('storagedriver', { storagedriver_id: p.storagedriver_id })[0];
    // An event can overtake the model write it belongs to: fail (retryable), and the event stream brings it back.
    if (!sd) throw new OvsError(`StorageDriver ${p.storagedriver_id} is not in the model (yet)`, { type: 'OBJECT_NOT_FOUND', retryable: true, details: { storagedriver_id: p.storagedriver_id } });
    const updated = await s.store.update('storagedriver', sd.guid, (d) => (d.startup_counter = Number(d.startup_counter ?? 0) + 1));
    return { storagedriver_guid: sd.guid, startup_counter: updated.startup_counter };
  },
};
