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
