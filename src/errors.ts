// The one import for errors: the registry, every registered type and the wire conversion (definitions in src/errors/).
export * from './errors/registry.js';
export * from './errors/all.js';
export * from './errors/wire.js';
