// Builds libpq-probe.c against the installed libpq (cc + libpq headers), so
// tests can ask libpq itself how it reads a connection string. Nothing here
// is required: without a compiler or libpq-dev the probe is unavailable and
// the tests that need it are skipped, saying why.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface ProbeResult {
  /** Keyword -> value; PQPASS and STATUS/ERROR are included under those names. */
  values: Record<string, string>
}

export interface LibpqProbe {
  version: number
  keywords: Set<string>
  parse(conninfo: string): ProbeResult
  resolve(conninfo: string, env: Record<string, string>): ProbeResult
  /** Removes the built program. */
  dispose(): void
}

function decodeLines(out: string): Record<string, string> {
  const values: Record<string, string> = {}
  for (const l of out.split('\n')) {
    if (l === '') continue
    const tab = l.indexOf('\t')
    values[l.slice(0, tab)] = Buffer.from(l.slice(tab + 1), 'hex').toString('utf8')
  }
  return values
}

function tryRun(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
  } catch {
    return undefined
  }
}

export function buildLibpqProbe(): { probe: LibpqProbe } | { reason: string } {
  if (process.platform === 'win32') return { reason: 'the libpq probe is built with cc on POSIX systems only' }
  const cc = process.env.CC ?? 'cc'
  if (tryRun(cc, ['--version']) === undefined) return { reason: `no C compiler ("${cc}") to build the libpq probe` }
  const includeDir = tryRun('pg_config', ['--includedir']) ?? '/usr/include/postgresql'
  const libDir = tryRun('pg_config', ['--libdir'])
  if (!existsSync(join(includeDir, 'libpq-fe.h'))) return { reason: `libpq headers not found (no libpq-fe.h in ${includeDir}; install libpq-dev)` }
  const dir = mkdtempSync(join(tmpdir(), 'pgline-libpq-probe-'))
  const exe = join(dir, 'probe')
  const source = fileURLToPath(new URL('./libpq-probe.c', import.meta.url))
  const args = ['-I', includeDir, source, ...(libDir ? ['-L', libDir, `-Wl,-rpath,${libDir}`] : []), '-lpq', '-o', exe]
  const built = spawnSync(cc, args, { encoding: 'utf8' })
  if (built.status !== 0) rmSync(dir, { recursive: true, force: true })
  if (built.status !== 0) return { reason: `building the libpq probe failed: ${(built.stderr || built.error?.message || '').trim().split('\n')[0]}` }
  const run = (args: string[], env: Record<string, string>): string => {
    const r = spawnSync(exe, args, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', ...env }, timeout: 10_000 })
    if (r.status !== 0) throw new Error(`libpq probe failed (${r.status ?? r.signal}): ${r.stderr}`)
    return r.stdout
  }
  const version = Number(run(['version'], {}).trim())
  const keywords = new Set(run(['keywords'], {}).split('\n').filter(Boolean))
  return {
    probe: {
      version,
      keywords,
      parse: (s) => ({ values: decodeLines(run(['parse', s], {})) }),
      resolve: (s, env) => ({ values: decodeLines(run(['resolve', s], env)) }),
      dispose: () => rmSync(dir, { recursive: true, force: true }),
    },
  }
}
