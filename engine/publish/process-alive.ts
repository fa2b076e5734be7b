/**
 * Whether a process with this pid runs on this machine, for telling a killed publish's scratch files
 * from those of a publish still running. EPERM counts as alive: the process exists, as another user.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
