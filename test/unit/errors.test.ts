import test from 'ava';
import { EnsureSingleTimeoutError, ObjectNotFoundError, OvsError, ValidationError, asOvsError, fromWire } from '../../src/errors.js';
import { decode, encode } from '../../src/protocol/codec.js';

test('errors survive the wire with class, type, retryable flag and details', (t) => {
  for (const original of [new ObjectNotFoundError('vdisk', 'g1'), new EnsureSingleTimeoutError('mds.mds_checkup', 1000), new ValidationError('bad', [{ path: 'x', message: 'm' }])]) {
    const back = fromWire(decode(encode(original.toWire())) as ReturnType<OvsError['toWire']>);
    t.true(back instanceof original.constructor);
    t.is(back.type, original.type);
    t.is(back.retryable, original.retryable);
    t.deepEqual(back.details, original.details);
    t.is(back.message, original.message);
  }
});

test('unknown error types stay OvsErrors with their type', (t) => {
  const back = fromWire({ type: 'FROM_THE_FUTURE', message: 'm', retryable: true, details: { a: 1 } });
  t.true(back instanceof OvsError);
  t.is(back.type, 'FROM_THE_FUTURE');
  t.true(back.retryable);
});

test('anything thrown becomes an INTERNAL OvsError, never lost', (t) => {
  t.is(asOvsError(new TypeError('x')).type, 'INTERNAL');
  t.is(asOvsError('plain string').message, 'plain string');
});
