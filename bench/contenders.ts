// What a workload is made of, and the helpers every workload file uses to
// open its contenders. A contender is one row of a results table: a driver
// run one particular way (sequential awaits, Promise.all, a pipeline, or an
// external program). It is opened once per workload and then sampled round
// after round, interleaved with the others.

import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type pg from 'pg'
import type { Connection } from '../src/index.js'
import * as pglinePg from '../src/pg/index.js'
import type { CopyStreams } from './copy-streams.js'
import type { Table } from './data.js'
import { BASELINE, openPg, openPgline, openPglineBaseline, openPostgresJs, type BenchTarget } from './drivers.js'
import type { PgNative, PgNativeOpener } from './pg-native.js'
import { runPgbench, type Pgbench } from './pgbench.js'

/** Handed to `measure` with every sample. */
export interface SampleContext {
  /** A superuser connection of the harness's own (pg), for untimed set-up such as TRUNCATE. */
  admin: pg.Client
}

/** What `measure` returns when it has more to say than a rate. */
export interface Measurement {
  perSecond: number
  /** Per-sample figures for the workload's metric columns, by key. */
  metrics?: Record<string, number>
}

/** One contender, opened and ready to be sampled. */
export interface Sampler {
  /** Replaces the contender's label, when what runs was decided at open time. */
  label?: string
  /** One timed call (tinybench times it), performing the workload's perCall operations. */
  call?: () => Promise<unknown>
  /** Runs for about `ms` (at least once) and returns operations per second itself. */
  measure?: (ms: number, ctx: SampleContext) => Promise<number | Measurement>
  close(): Promise<void>
}

export interface Contender {
  label: string
  open(t: BenchTarget): Promise<Sampler>
  /** The same with the PGLINE_BASELINE build, when one is given (see drivers.ts). */
  baseline?: Contender
}

/** What is available on this machine, found once per run. */
export interface Env {
  /** `--quick`: workloads with big fixed sizes shrink them. */
  quick: boolean
  pgbench: Pgbench | undefined
  pgNative: PgNativeOpener | undefined
  /** pg-copy-streams, when installed (scripts/bench-setup.sh). */
  copyStreams: CopyStreams | undefined
  /** psql, for the \copy references; or why there is none. */
  psql: string | undefined
  /** The CPU external programs are pinned to (the client's), when pinning. */
  clientCpu: number | undefined
  /** A scratch directory (pgbench scripts, the C ceiling, CSV files), removed at the end. */
  tmpDir: string
  /** Login roles for the connection set-up workloads (connect.ts), known once the server runs. */
  logins?: Logins
}

/** Roles that log in over TCP with one particular authentication method each. */
export interface Logins {
  /** A role authenticated with SCRAM-SHA-256. */
  scram: BenchTarget | undefined
  /** A role authenticated by `trust` (no password exchange). */
  trust: BenchTarget | undefined
  /** Why a role is missing, or what the role is, for the notes. */
  note?: string
}

/** A metric column beside the rate: one figure per sample (Measurement.metrics[key]), shown per contender. */
export interface MetricColumn {
  key: string
  header: string
  /** Over the samples of a contender: the median, or the worst (max). */
  of: 'median' | 'max'
  digits?: number
}

/** A finished row of a results table. */
export interface ResultRow {
  name: string
  median: number
  min: number
  max: number
  metrics?: Record<string, number>
}

export interface Workload {
  name: string
  /** `--only <group>` selects every workload of the group. */
  group?: string
  title: string | ((env: Env) => string)
  unit: string
  /** Operations per `call` (for `measure` samplers the sampler counts itself). */
  perCall: number | ((env: Env) => number)
  tables: Table[]
  contenders(env: Env): Contender[]
  /** Why the whole workload cannot run here (it is then listed as skipped), or undefined. */
  skip?(env: Env): string | undefined
  /** One-line notes printed under the table (contenders left out and why, caveats). */
  notes?(env: Env): string[]
  /** Runs before every sample, untimed (e.g. emptying a table). */
  beforeSample?(admin: pg.Client): Promise<unknown>
  /** Runs once after the workload, its contenders closed (e.g. dropping shared test data). */
  after?(): void
  /** An extra column derived from the median per-second figure. */
  extra?: { header: string; value(perSecond: number): string }
  metrics?: MetricColumn[]
  /** Lines printed after the ratio line: targets met or not, derived figures. */
  summary?(rows: ResultRow[], env: Env): string[]
}

// ---- helpers ---------------------------------------------------------------

/** Spread ids over 1..n without repeating for a while. */
export function idStream(n: number): () => number {
  let i = 0
  return () => ((i++ * 7919) % n) + 1
}

export function times<T>(n: number, f: (k: number) => T): T[] {
  const out: T[] = new Array<T>(n)
  for (let k = 0; k < n; k++) out[k] = f(k)
  return out
}

export async function sequential(n: number, f: () => Promise<unknown>): Promise<void> {
  for (let k = 0; k < n; k++) await f()
}

/**
 * Times `call` back to back until `ms` have passed (at least once) and
 * returns `ops` per timed second. `before` runs ahead of every call, untimed.
 */
export async function timedRuns(ms: number, ops: number, call: () => Promise<unknown>, before?: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  let seconds = 0
  let done = 0
  do {
    if (before) await before()
    const t0 = performance.now()
    await call()
    seconds += (performance.now() - t0) / 1000
    done += ops
  } while (performance.now() - start < ms)
  return done / seconds
}

/** Throws unless `got` is `want`: a contender that moves the wrong number of rows is not measured. */
export function expectCount(label: string, what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${label}: ${what} ${got}, expected ${want}`)
}

export function pglineContender(label: string, make: (conn: Connection) => () => Promise<unknown>): Contender {
  return {
    label,
    async open(t) {
      const conn = await openPgline(t)
      return { call: make(conn), close: () => conn.close() }
    },
    baseline:
      BASELINE === undefined
        ? undefined
        : {
            label: `${label} (baseline)`,
            async open(t) {
              const conn = await openPglineBaseline(t)
              return { call: make(conn), close: () => conn.close() }
            },
          },
  }
}

export function pgContender(label: string, make: (client: pg.Client) => () => Promise<unknown>, config: pg.ClientConfig = {}): Contender {
  return {
    label,
    async open(t) {
      const client = await openPg(t, config)
      return { call: make(client), close: () => client.end() }
    },
  }
}

/** pgline/pg, the node-postgres facade, used as a pg user would (default options). */
export function pglinePgContender(label: string, make: (client: pglinePg.Client) => () => Promise<unknown>): Contender {
  return {
    label,
    async open(t) {
      const client = new pglinePg.Client({ host: t.host, port: t.port, user: t.user, password: t.password, database: t.database })
      await client.connect()
      return { call: make(client), close: () => client.end() }
    },
  }
}

export function postgresJsContender(label: string, make: (sql: ReturnType<typeof openPostgresJs>) => () => Promise<unknown>): Contender {
  return {
    label,
    async open(t) {
      const sql = openPostgresJs(t)
      await sql`select 1` // connect outside the timed part
      return { call: make(sql), close: () => sql.end() }
    },
  }
}

export function pgNativeContender(
  env: Env,
  label: string,
  make: (client: PgNative) => Promise<(() => Promise<unknown>) | undefined>,
): Contender[] {
  const opener = env.pgNative
  if (!opener) return []
  return [
    {
      label,
      async open(t) {
        const client = await opener(t)
        const call = await make(client)
        if (!call) {
          await client.end()
          throw new Error(`${label}: not supported by this pg-native`)
        }
        return { call, close: () => client.end() }
      },
    },
  ]
}

/** pgbench running `script` as the C ceiling; `perTransaction` statements per pgbench transaction. */
export function pgbenchContender(env: Env, label: string, script: string, perTransaction: number, minMajor = 0, clients = 1): Contender[] {
  const bench = env.pgbench
  if (!bench || bench.major < minMajor) return []
  return [
    {
      label,
      async open(t) {
        const file = path.join(env.tmpDir, `${label.replace(/[^a-z0-9]+/gi, '-')}.sql`)
        await writeFile(file, script)
        return {
          measure: async (ms) => perTransaction * (await runPgbench(bench, t, file, ms, env.clientCpu, clients)),
          close: () => rm(file, { force: true }),
        }
      },
    },
  ]
}

/** libpq's environment variables for a child program (psql, pgbench, the C ceiling); the password never reaches a command line. */
export function libpqEnv(t: BenchTarget, appName: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PGHOST: t.host,
    PGPORT: String(t.port),
    PGUSER: t.user,
    PGPASSWORD: t.password,
    PGDATABASE: t.database,
    PGAPPNAME: appName,
  }
}

/** `[cmd, args]` run through taskset on `cpu` when pinning. */
export function pinned(cpu: number | undefined, cmd: string, args: string[]): [string, string[]] {
  return cpu === undefined ? [cmd, args] : ['taskset', ['-c', String(cpu), cmd, ...args]]
}
