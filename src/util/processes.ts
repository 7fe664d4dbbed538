import { readFileSync, readlinkSync } from 'node:fs';

/**
 * Whether a process with this pid runs on this host (signal 0 checks without signalling; EPERM
 * means it runs as another user). Used to tell what a killed process left (a claim, a copy of
 * a library) from what a live one holds. Not a pid: false.
 */
export function processExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * This process's pid namespace (`pid:[4026531836]`), or undefined where /proc does not say. Two
 * containers with the host's name (`--network host`, `hostNetwork` pods) see each other's pids
 * as absent: their claims are told apart by it.
 */
export function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

/**
 * When the process with this pid started (clock ticks since boot, /proc/<pid>/stat field 22), or
 * undefined where /proc does not say: the same pid with another start time is another process
 * (the pid was reused).
 */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces and parentheses: the state is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const started = Number(fields[22 - 3]);
    return Number.isFinite(started) ? started : undefined;
  } catch {
    return undefined;
  }
}
