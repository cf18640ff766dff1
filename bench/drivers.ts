// How each client library is opened, and the SQL every workload sends through
// all of them. The workloads (workloads.ts) decide what each one runs.

import dc from 'node:diagnostics_channel'
import pg from 'pg'
import postgres from 'postgres'
import { connect, type Connection } from '../src/index.js'

export interface BenchTarget {
  host: string
  port: number
  user: string
  password: string
  database: string
}

/** Where a postgres:// URL (the benches' $DATABASE_URL) points. */
export function targetFromUrl(url: string): BenchTarget {
  const u = new URL(url)
  return {
    host: u.hostname,
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.slice(1)),
  }
}

export const POINT_SELECT = 'select id, name, email, created_at from users where id = $1'
export const BIG_LOOKUP = 'select id, payload from big where id = $1'
export const INSERT = 'insert into bench_ins (id, v) values ($1, $2)'

export function openPgline(t: BenchTarget): Promise<Connection> {
  return connect(t)
}

/**
 * PGLINE_BASELINE: the path of another pgline build's dist/index.js (say, the
 * previous commit's, built in a git worktree), run beside this one as
 * 'pgline (baseline)' wherever a workload uses pglineContender, so that a
 * change is measured side by side with what it changes in one run.
 */
export const BASELINE = process.env.PGLINE_BASELINE || undefined

/**
 * PGLINE_BENCH_SUBSCRIBE=1: a subscriber that does nothing on every pgline
 * tracing channel, so the run measures what tracing costs when someone
 * listens (without it, the cost when nobody does).
 */
if (process.env.PGLINE_BENCH_SUBSCRIBE === '1') {
  const { CHANNELS } = await import('../src/index.js')
  const nothing = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} }
  for (const name of Object.values(CHANNELS)) dc.tracingChannel(name).subscribe(nothing)
}

export async function openPglineBaseline(t: BenchTarget): Promise<Connection> {
  const mod = (await import(BASELINE!)) as { connect(t: BenchTarget): Promise<Connection> }
  return mod.connect(t)
}

export async function openPg(t: BenchTarget, extra: pg.ClientConfig = {}): Promise<pg.Client> {
  const client = new pg.Client({ ...t, ...extra })
  await client.connect()
  return client
}

/** postgres.js with one connection, so concurrent queries share it (and are pipelined). */
export function openPostgresJs(t: BenchTarget): postgres.Sql {
  return postgres({ ...t, username: t.user, max: 1, onnotice: () => {} })
}

// ---- pgline's explicit pipeline, when the connection has one ---------------

/** The part of pgline's pipeline handle the benchmark uses. */
export interface PipelineHandle {
  query(sql: string, params: readonly unknown[]): Promise<unknown>
  sync(): Promise<void>
}
type PipelineFn = (fn: (p: PipelineHandle) => Promise<void>) => Promise<void>

/**
 * `conn.pipeline(async (p) => ...)` bound to `conn`, or a reason why it cannot
 * be used: the method is missing (not written yet) or a one-statement smoke
 * run of it fails.
 */
export async function explicitPipeline(conn: Connection): Promise<PipelineFn | string> {
  const method = (conn as unknown as { pipeline?: unknown }).pipeline
  if (typeof method !== 'function') return 'conn.pipeline does not exist'
  const run: PipelineFn = (fn) => (method as PipelineFn).call(conn, fn)
  try {
    await run(async (p) => {
      const q = p.query('select 1', [])
      await p.sync()
      await q
    })
    return run
  } catch (err) {
    return `conn.pipeline failed a smoke run: ${err instanceof Error ? err.message : String(err)}`
  }
}
