import test from 'ava';
import type { ConfigStore } from '../../src/config/store.js';
import { DTL_CHECK_INTERVAL_KEY, DTL_CONNECT_TIMEOUT_KEY, DTL_REQUEST_TIMEOUT_KEY, dtlSettingsFrom } from '../../src/storagedriver/dtl-settings.js';

const store = (values: Record<string, unknown>): ConfigStore => ({ get: (key: string) => Promise.resolve(values[key]) }) as unknown as ConfigStore;

test('DTL timeouts and checker interval come from the configuration; absent or nonsense values keep the defaults', async (t) => {
  t.deepEqual(await dtlSettingsFrom(store({})), { timeouts: {} });
  t.deepEqual(await dtlSettingsFrom(store({ [DTL_CONNECT_TIMEOUT_KEY]: 250, [DTL_REQUEST_TIMEOUT_KEY]: 5000, [DTL_CHECK_INTERVAL_KEY]: 30 })), {
    timeouts: { connectTimeoutMs: 250, requestTimeoutMs: 5000 },
    checkIntervalMs: 30_000,
  });
  t.deepEqual(await dtlSettingsFrom(store({ [DTL_CONNECT_TIMEOUT_KEY]: -1, [DTL_REQUEST_TIMEOUT_KEY]: 'soon', [DTL_CHECK_INTERVAL_KEY]: 0 })), { timeouts: {} });
});
