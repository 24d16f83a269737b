import { HookFailedError, asOvsError } from '../errors.js';
import type { AgentServices } from '../agent-services.js';

/** What a hook handler gets: the hook's arguments and the agent's services. */
export type HookHandler = (args: Record<string, unknown>, services: AgentServices) => Promise<void> | void;

interface Registered {
  plugin: string;
  handler: HookHandler;
}

const registry = new Map<string, Registered[]>();

/**
 * Plugins register handlers per hook name (the original's `@add_hooks`); they run in the order they were registered.
 * Returns the function that removes this registration.
 */
export function registerHook(hook: string, plugin: string, handler: HookHandler): () => void {
  const list = registry.get(hook) ?? [];
  const entry: Registered = { plugin, handler };
  list.push(entry);
  registry.set(hook, list);
  return () => {
    const now = registry.get(hook) ?? [];
    registry.set(hook, now.filter((r) => r !== entry));
  };
}

export function hookHandlers(hook: string): string[] {
  return (registry.get(hook) ?? []).map((r) => r.plugin);
}

/**
 * Runs every handler of a hook one after the other; the first failure stops the rest and is raised as HOOK_FAILED
 * naming the plugin (as the original, where a hook's exception propagated). Returns the plugins that ran.
 */
export async function runHooks(hook: string, args: Record<string, unknown>, services: AgentServices): Promise<string[]> {
  const ran: string[] = [];
  for (const { plugin, handler } of [...(registry.get(hook) ?? [])]) {
    try {
      await handler(args, services);
    } catch (e) {
      const err = asOvsError(e);
      throw new HookFailedError(hook, plugin, err.type, err.message, e);
    }
    ran.push(plugin);
  }
  return ran;
}
