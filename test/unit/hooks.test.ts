import test from 'ava';
import type { AgentServices } from '../../src/agent-services.js';
import { HookFailedError, ObjectNotFoundError } from '../../src/errors.js';
import { BACKEND_DOMAINS_UPDATE } from '../../src/plugins/backend-domains.js';
import { hookHandlers, registerHook, runHooks } from '../../src/plugins/hooks.js';
import { runBackendDomainHooks } from '../../src/tasks/generic/run-backend-domain-hooks.js';
import type { TaskContext } from '../../src/tasks/context.js';
import pino from 'pino';

const BACKEND = '7c1d2f5e-0d0e-4d7b-9a53-5b4c1d2e3f40';
const VPOOL = '1b2c3d4e-0000-4000-8000-000000000001';

function services(invalidated: string[]): AgentServices {
  const vpools = [{ guid: VPOOL, name: 'pool1', metadata: { backend: { backend_info: { type: 'local', path: '/x', alba_backend_guid: BACKEND } } } }];
  return {
    view: { list: (type: string) => (type === 'vpool' ? vpools : []) },
    computed: { invalidate: (type: string, guid: string) => invalidated.push(`${type}.${guid}`) },
    log: pino({ level: 'silent' }),
  } as unknown as AgentServices;
}

const ctx = (s: AgentServices): TaskContext<never> => ({ services: s, log: s.log, taskId: 't', deadline: Date.now() + 10_000, owner: undefined as never, progress: () => undefined });

test.serial('hooks run in registration order; the first failure stops the rest and is HOOK_FAILED naming the plugin', async (t) => {
  const ran: string[] = [];
  const off = [
    registerHook('test/order', 'one', () => { ran.push('one'); }),
    registerHook('test/order', 'two', () => { throw new ObjectNotFoundError('thing', 'g'); }),
    registerHook('test/order', 'three', () => { ran.push('three'); }),
  ];
  const err = await t.throwsAsync(runHooks('test/order', {}, services([])), { instanceOf: HookFailedError });
  t.deepEqual(ran, ['one']);
  t.like(err?.details, { hook: 'test/order', handler: 'two', cause_type: 'OBJECT_NOT_FOUND' });
  off[1]!();
  t.deepEqual(await runHooks('test/order', {}, services([])), ['one', 'three']);
  for (const f of off) f();
  t.deepEqual(hookHandlers('test/order'), []);
  t.deepEqual(await runHooks('nobody/listens', {}, services([])), []);
});

test.serial('run_backend_domain_hooks: the built-in handler and a test plugin get the backend guid', async (t) => {
  const seen: unknown[] = [];
  const off = registerHook(BACKEND_DOMAINS_UPDATE, 'test-plugin', (args) => { seen.push(args.backend_guid); });
  const invalidated: string[] = [];
  const s = services(invalidated);
  const out = await runBackendDomainHooks.handler!({ backend_guid: BACKEND }, ctx(s));
  off();
  t.deepEqual(out, { backend_guid: BACKEND, vpools: [VPOOL], hooks: ['framework', 'test-plugin'] });
  t.deepEqual(seen, [BACKEND]);
  t.deepEqual(invalidated, [`vpool.${VPOOL}`]);
});

test.serial('run_backend_domain_hooks: a failing plugin makes the task fail with HOOK_FAILED', async (t) => {
  const off = registerHook(BACKEND_DOMAINS_UPDATE, 'broken', () => { throw new Error('plugin down'); });
  const err = await t.throwsAsync(runBackendDomainHooks.handler!({ backend_guid: BACKEND }, ctx(services([]))), { instanceOf: HookFailedError });
  off();
  t.like(err?.details, { handler: 'broken', cause: 'plugin down' });
});

test.serial('run_backend_domain_hooks: a backend no vPool uses is OBJECT_NOT_FOUND and no hook runs', async (t) => {
  let ran = false;
  const off = registerHook(BACKEND_DOMAINS_UPDATE, 'spy', () => { ran = true; });
  await t.throwsAsync(runBackendDomainHooks.handler!({ backend_guid: '00000000-0000-4000-8000-000000000000' }, ctx(services([]))), { instanceOf: ObjectNotFoundError });
  off();
  t.false(ran);
});
