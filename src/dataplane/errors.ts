// The volume driver's error types are registered with all others in src/errors/; this path stays for the data plane's imports.
export * from '../errors/dataplane.js';
