import { inspect } from 'node:util';

/** Polls `probe` until it returns a truthy value or `ms` passes; returns the value or throws with `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false | null> | T | undefined | false | null, ms = 15_000, everyMs = 50): Promise<T> {
  const until = Date.now() + ms;
  let lastError: string | undefined;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      lastError = e instanceof Error ? String(e) : inspect(e);
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${lastError === undefined ? '' : `: ${lastError}`}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
