// Worker thread entry: CRC-32 of ranges of shared memory, so the event loop does not spend its time summing.
import { parentPort } from 'node:worker_threads';
import { crc32 } from './crc32.js';

export interface CrcRequest {
  id: number;
  /** Sent when it differs from the previous request's. */
  memory?: SharedArrayBuffer;
  offset: number;
  length: number;
}

let memory: SharedArrayBuffer | undefined;
parentPort?.on('message', (m: CrcRequest) => {
  memory = m.memory ?? memory;
  parentPort!.postMessage({ id: m.id, crc: crc32(new Uint8Array(memory!, m.offset, m.length)) });
});
