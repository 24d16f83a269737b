/** Keys whose values are credentials wherever they appear in a configuration or backend map. */
const SECRET_KEY = /pass(word|wd|phrase)?$|secret|token|credential|private|api[_-]?key|^key$|^creds?$/i;

export const REDACTED = '***';

/** A deep copy with every credential-looking value replaced by `***` (null and absent stay as they are). */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) && v !== null && v !== undefined ? REDACTED : redactSecrets(v)]));
}
