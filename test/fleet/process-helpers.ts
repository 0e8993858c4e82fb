import { readFileSync } from 'node:fs';

/**
 * Whether a process runs: `process.kill(pid, 0)` succeeds and, on Linux, it is
 * not a zombie (an exited child of a dead parent waits for init to reap it,
 * and signal 0 still succeeds on it).
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    // Format: "pid (comm) S ...": the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
