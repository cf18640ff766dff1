// The C ceiling: pgbench (libpq, C) running the same SQL against the same
// server, pinned like the Node client. It is an optional extra: found on PATH
// or under /usr/lib/postgresql/<major>/bin (Debian's postgresql-NN package,
// which scripts/bench-setup.sh installs).

import { spawn, spawnSync } from 'node:child_process'
import { accessSync, constants, readdirSync } from 'node:fs'
import path from 'node:path'
import type { BenchTarget } from './drivers.js'

export interface Pgbench {
  path: string
  /** Major version (14+ has \startpipeline). */
  major: number
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** pgbench on PATH, else the newest /usr/lib/postgresql/NN/bin/pgbench; or why there is none. */
export function findPgbench(): Pgbench | string {
  const candidates: string[] = []
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'pgbench'))
  try {
    const majors = readdirSync('/usr/lib/postgresql').filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a))
    for (const m of majors) candidates.push(`/usr/lib/postgresql/${m}/bin/pgbench`)
  } catch {}
  for (const file of candidates) {
    if (!executable(file)) continue
    // Debian's /usr/bin/pgbench is a wrapper that fails without a matching client package: ask it.
    const v = spawnSync(file, ['--version'], { encoding: 'utf8' })
    const m = /pgbench \(PostgreSQL\) (\d+)/.exec(v.stdout ?? '')
    if (v.status === 0 && m) return { path: file, major: Number(m[1]) }
  }
  return 'pgbench not found (on PATH or in /usr/lib/postgresql/*/bin); `bash scripts/bench-setup.sh` installs it (apt-get install postgresql-15)'
}

/** Runs one pgbench script for about `ms` on one connection; returns transactions per second. */
export async function runPgbench(
  bench: Pgbench,
  t: BenchTarget,
  scriptFile: string,
  ms: number,
  cpu: number | undefined,
  clients = 1,
): Promise<number> {
  const threads = Math.min(clients, 2)
  const stdout = await spawnPgbench(bench, t, ['-M', 'prepared', '-c', String(clients), '-j', String(threads)], scriptFile, ms, cpu)
  // PG 14+: "tps = N (without initial connection time)"; older: "(excluding connections establishing)".
  const m =
    /tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)/.exec(stdout) ??
    /tps = ([\d.]+)/.exec(stdout)
  if (!m) throw new Error(`pgbench printed no tps: ${lastLines(stdout)}`)
  return Number(m[1])
}

/**
 * Runs one pgbench script with a new connection per transaction (`-C`, one
 * client, simple protocol) for about `ms`. Returns transactions (so
 * connections) per second, connecting and disconnecting included, and
 * pgbench's own average connection time in ms (PG 14+ prints it) when given.
 */
export async function runPgbenchConnect(
  bench: Pgbench,
  t: BenchTarget,
  scriptFile: string,
  ms: number,
  cpu: number | undefined,
): Promise<{ perSecond: number; connectMs: number | undefined }> {
  const stdout = await spawnPgbench(bench, t, ['-C', '-M', 'simple', '-c', '1', '-j', '1'], scriptFile, ms, cpu)
  // PG 14+: "tps = N (including reconnection times)"; older: "(including connections establishing)".
  const m = /tps = ([\d.]+) \(including/.exec(stdout) ?? /tps = ([\d.]+)/.exec(stdout)
  if (!m) throw new Error(`pgbench printed no tps: ${lastLines(stdout)}`)
  const c = /average connection time = ([\d.]+) ms/.exec(stdout)
  return { perSecond: Number(m[1]), connectMs: c ? Number(c[1]) : undefined }
}

const lastLines = (s: string): string => s.trim().split('\n').slice(-3).join(' | ')

/** pgbench `-n -T <seconds> -f <script>` with `args`, pinned when `cpu` is given; its stdout, or a rejection unless it exits 0. */
async function spawnPgbench(bench: Pgbench, t: BenchTarget, args: string[], scriptFile: string, ms: number, cpu: number | undefined): Promise<string> {
  const seconds = Math.max(1, Math.round(ms / 1000))
  const all = ['-n', ...args, '-T', String(seconds), '-f', scriptFile]
  const [cmd, argv] = cpu === undefined ? [bench.path, all] : ['taskset', ['-c', String(cpu), bench.path, ...all]]
  const env = {
    ...process.env,
    PGHOST: t.host,
    PGPORT: String(t.port),
    PGUSER: t.user,
    PGPASSWORD: t.password,
    PGDATABASE: t.database,
    PGAPPNAME: 'pgline-bench-pgbench',
  }
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s))
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
  if (code !== 0) throw new Error(`pgbench exited with ${code}: ${lastLines(stderr || stdout)}`)
  return stdout
}
