import test from 'ava';
import { asOvsError, engineUnavailable } from '../../src/errors.js';

const natsError = (code: string, api_error?: { code: number; description: string }): Error => Object.assign(new Error(code), { code, api_error });

const cases: Array<{ title: string; error: unknown; type: string; retryable: boolean }> = [
  { title: 'a JetStream request that timed out (no quorum)', error: natsError('TIMEOUT'), type: 'NOT_AVAILABLE', retryable: true },
  { title: 'no responders (JetStream restarting)', error: natsError('503'), type: 'NOT_AVAILABLE', retryable: true },
  { title: 'the JetStream API saying it is temporarily unavailable', error: natsError('', { code: 503, description: 'JetStream system temporarily unavailable' }), type: 'NOT_AVAILABLE', retryable: true },
  { title: 'a connection closed under the request', error: natsError('CONNECTION_CLOSED'), type: 'NOT_AVAILABLE', retryable: true },
  { title: 'any other error is still a bug', error: new TypeError('x is undefined'), type: 'INTERNAL', retryable: false },
  { title: 'a NATS error of another kind (bad subject) is not an outage', error: natsError('BAD_SUBJECT'), type: 'INTERNAL', retryable: false },
];

for (const c of cases) {
  test(`engine outages are retryable NOT_AVAILABLE: ${c.title}`, (t) => {
    const e = asOvsError(c.error);
    t.is(e.type, c.type);
    t.is(e.retryable, c.retryable);
    t.is(engineUnavailable(c.error) !== undefined, c.type === 'NOT_AVAILABLE');
  });
}
