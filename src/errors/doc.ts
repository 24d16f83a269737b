import './all.js';
import { type RegisteredType, registeredTypes } from './registry.js';

/** The README's list of error types, generated from the registry (scripts/errors-doc.mjs writes it, a test checks it). */
export function errorTypesMarkdown(types: RegisteredType[] = registeredTypes()): string {
  const rows = types
    .map(({ spec }) => ({ ...spec, retryable: spec.retryable === 'per instance' ? 'per instance' : spec.retryable ? 'yes' : 'no' }))
    .sort((a, b) => (a.type < b.type ? -1 : 1))
    .map((s) => `| \`${s.type}\` | ${s.retryable} | ${s.meaning.replace(/\|/g, '\\|')} |`);
  return ['| type | retryable | meaning |', '|---|---|---|', ...rows].join('\n');
}
