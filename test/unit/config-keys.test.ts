import test from 'ava';
import { configKey, configPath, splitSubPath } from '../../src/config/keys.js';

const paths = ['/ovs/framework/cluster_id', '/ovs/arakoon/voldrv/config.ini', '/ovs/vpools/0a-b/hosts/sd id=1/config', '/ovs/framework/hosts/é/x'];

for (const p of paths) {
  test(`config path ${p} maps to a legal KV key and back`, (t) => {
    const k = configKey(p);
    t.regex(k, /^[-_=.a-zA-Z0-9]+$/);
    t.false(k.startsWith('.') || k.endsWith('.'));
    t.is(configPath(k), p);
  });
}

test('a dot inside a segment does not create a level', (t) => {
  t.is(configKey('/a/b.c').split('.').length, 2);
});

test('path tricks are refused', (t) => {
  for (const bad of ['/ovs/../etc', '', '/', '/ovs/./x', '/ovs/a\u0000b']) t.throws(() => configKey(bad), undefined, bad);
});

test('sub-paths address fields inside a value', (t) => {
  t.deepEqual(splitSubPath('/ovs/framework/support|support_agent'), { path: '/ovs/framework/support', field: ['support_agent'] });
  t.deepEqual(splitSubPath('/ovs/x'), { path: '/ovs/x', field: [] });
});
