// External programs the bulk workloads compare against, all optional and
// pinned like the client: the wide-read C ceiling (bench/ceiling/wide.c,
// compiled here at bench time against libpq) and psql's \copy.

import { spawn, spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { libpqEnv, pinned } from './contenders.js'
import type { BenchTarget } from './drivers.js'

const here = path.dirname(fileURLToPath(import.meta.url))

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && executable(path.join(dir, name))) return path.join(dir, name)
  }
  return undefined
}

/** The exit code, stdout and stderr of a child program. */
export function runProgram(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s))
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const lastLines = (s: string): string => s.trim().split('\n').slice(-3).join(' | ')

// ---- the C ceiling ---------------------------------------------------------

export interface Toolchain {
  cc: string
  include: string
  lib: string
}

/** cc and libpq's headers (libpq-dev), or why the C ceiling cannot be built. */
export function ceilingToolchain(): Toolchain | string {
  const cc = onPath('cc') ?? onPath('gcc')
  if (cc === undefined) return 'no C compiler (cc) on PATH'
  const ask = (flag: string): string | undefined => {
    const r = spawnSync('pg_config', [flag], { encoding: 'utf8' })
    return r.status === 0 ? r.stdout.trim() : undefined
  }
  const include = ask('--includedir')
  const lib = ask('--libdir')
  if (include === undefined || lib === undefined) return 'pg_config not found (libpq-dev); `bash scripts/bench-setup.sh` installs it'
  if (!existsSync(path.join(include, 'libpq-fe.h'))) return `no libpq-fe.h in ${include} (libpq-dev)`
  return { cc, include, lib }
}

/** Compiles bench/ceiling/<name>.c into `outDir`; returns the binary. */
export async function buildCeiling(tc: Toolchain, name: string, outDir: string): Promise<string> {
  const out = path.join(outDir, name)
  const r = await runProgram(tc.cc, ['-O2', `-I${tc.include}`, path.join(here, 'ceiling', `${name}.c`), '-o', out, `-L${tc.lib}`, '-lpq'], process.env)
  if (r.code !== 0) throw new Error(`cc ${name}.c failed: ${lastLines(r.stderr || r.stdout)}`)
  return out
}

/** Runs the wide-read ceiling for about `ms`; returns rows per second. */
export async function runWideCeiling(binary: string, t: BenchTarget, sql: string, expected: number, ms: number, cpu: number | undefined): Promise<number> {
  const [cmd, args] = pinned(cpu, binary, [sql, String(expected), String(ms)])
  const r = await runProgram(cmd, args, libpqEnv(t, 'pgline-bench-ceiling'))
  const m = /rows=(\d+) seconds=([\d.]+)/.exec(r.stdout)
  if (r.code !== 0 || !m) throw new Error(`wide ceiling exited with ${r.code}: ${lastLines(r.stderr || r.stdout)}`)
  return Number(m[1]) / Number(m[2])
}

// ---- psql ------------------------------------------------------------------

/** psql on PATH, else the newest /usr/lib/postgresql/NN/bin/psql; or why there is none. */
export function findPsql(): string {
  const candidates: string[] = []
  const p = onPath('psql')
  if (p) candidates.push(p)
  try {
    const majors = readdirSync('/usr/lib/postgresql').filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a))
    for (const m of majors) candidates.push(`/usr/lib/postgresql/${m}/bin/psql`)
  } catch {}
  for (const file of candidates) {
    // Debian's /usr/bin/psql is a wrapper that fails without a matching client package: ask it.
    const v = spawnSync(file, ['--version'], { encoding: 'utf8' })
    if (v.status === 0 && /psql \(PostgreSQL\)/.test(v.stdout ?? '')) return file
  }
  throw new Error('psql not found (on PATH or in /usr/lib/postgresql/*/bin); `bash scripts/bench-setup.sh` installs it (postgresql-client)')
}

/**
 * Runs one psql meta-command (`\copy ...`) and returns its wall time in
 * seconds, from spawn to exit: process start and connection included (a few
 * milliseconds, under 1% of a million-row \copy).
 */
export async function timePsql(psql: string, t: BenchTarget, command: string, cpu: number | undefined): Promise<number> {
  const [cmd, args] = pinned(cpu, psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', command])
  const t0 = performance.now()
  const r = await runProgram(cmd, args, libpqEnv(t, 'pgline-bench-psql'))
  const seconds = (performance.now() - t0) / 1000
  if (r.code !== 0) throw new Error(`psql exited with ${r.code}: ${lastLines(r.stderr || r.stdout)}`)
  return seconds
}
