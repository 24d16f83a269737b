// Every module that defines error types, so that any process importing this knows every type (fromWire, the docs).
export * from './control.js';
export * from './model.js';
export * from './host.js';
export * from './dataplane.js';
export * from './backend.js';
export * from './tasks.js';
export * from './mds.js';
export * from './testmode.js';
export * from './disks.js';
export * from './update.js';
export * from './support.js';
export * from './engine.js';
export * from './idempotency.js';
export * from './security.js';
