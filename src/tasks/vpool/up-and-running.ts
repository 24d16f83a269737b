import { z } from 'zod';
import { StorageDriverNotInModelError } from '../../errors.js';
import { defineTask } from '../define.js';
import { storagedriverId } from '../shapes.js';

/** The volume driver of a StorageDriver finished starting (event `up_and_running`): count it (`startup_counter`). */
export const upAndRunning = defineTask({
  module: 'vpool',
  name: 'up_and_running',
  summary: 'Volumedriver informs us that the service is completely started',
  params: z.object({ storagedriver_id: storagedriverId }).strict(),
  owner: { kind: 'cluster' },
  async handler(p, { services: s }) {
    const sd = s.view.list('storagedriver', { storagedriver_id: p.storagedriver_id })[0];
    // An event can overtake the model write it belongs to: fail (retryable), and the event stream brings it back.
    if (!sd) throw new StorageDriverNotInModelError(p.storagedriver_id);
    const updated = await s.store.update('storagedriver', sd.guid, (d) => (d.startup_counter = Number(d.startup_counter ?? 0) + 1));
    return { storagedriver_guid: sd.guid, startup_counter: updated.startup_counter };
  },
});
