// Pinning for the bench scripts: the client process re-runs itself under
// taskset on one CPU, leaving the other to the server (on two CPUs, unpinned
// figures are bimodal; see native-notes.md).
import { spawnSync } from 'node:child_process'
import os from 'node:os'

export function hasTaskset(): boolean {
  return spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0
}

/**
 * Re-runs this process pinned to `cpu`, marking the child with the
 * environment variable `flag` (set to the CPU), and exits with its status.
 * Returns (unpinned) when already pinned, on one CPU, or without taskset.
 */
export function pinSelf(flag: string, cpu: number): void {
  if (process.env[flag] || os.availableParallelism() < 2 || !hasTaskset()) return
  const r = spawnSync('taskset', ['-c', String(cpu), process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [flag]: String(cpu) },
  })
  process.exit(r.status ?? 1)
}
