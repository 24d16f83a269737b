// The last step of the chaos suite's cleanup: whatever this process started and is still running (a qemu-nbd waiting
// out its reconnect delay after Ctrl-C killed the agents, an fio worker) is killed, found by parent pid in /proc.
import { readdir, readFile } from 'node:fs/promises';

async function parentOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // The command name in parentheses may hold spaces; the parent pid is the second field after it.
  const ppid = stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
  return ppid === undefined ? undefined : Number(ppid);
}

/** Pids of every living descendant of `root`. */
export async function descendants(root = process.pid): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((f) => /^\d+$/.test(f)).map(Number);
  const parents = new Map<number, number>();
  for (const pid of pids) {
    const ppid = await parentOf(pid);
    if (ppid !== undefined) parents.set(pid, ppid);
  }
  const found: number[] = [];
  const walk = (p: number): void => {
    for (const [pid, ppid] of parents) {
      if (ppid === p) {
        found.push(pid);
        walk(pid);
      }
    }
  };
  walk(root);
  return found;
}

/** SIGKILL of every descendant still alive; returns their command names (for the log). */
export async function reapDescendants(root = process.pid): Promise<string[]> {
  const killed: string[] = [];
  for (const pid of await descendants(root)) {
    const name = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(`${name} (${pid})`);
    } catch {
      // Gone meanwhile.
    }
  }
  return killed;
}
