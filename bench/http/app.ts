// The HTTP app server of the service-level benchmark (bench/http.ts): the
// TechEmpower database tests on node:http, over one driver per process.
//
//   PGLINE_HTTP_DRIVER  pgline | pgline-mux | pg | postgres
//   PGLINE_HTTP_TARGET  the database, as JSON (a BenchTarget)
//   PGLINE_HTTP_POOL    connections in the pool (default 10)
//
// Listens on 127.0.0.1, on a port of the system's choosing, and prints
// `READY <port>` on stdout once the pool is open. It ends when its standard
// input closes (the harness went away, however it ended) or on SIGTERM.
//
//   GET /db               one random world row, JSON
//   GET /queries?q=20     20 random world rows, read concurrently, JSON array
//   GET /fortunes         the fortune table plus one row, sorted, HTML
//   GET /updates?q=20     20 random rows read, given new numbers, written back in one statement
//   GET /_stats           this process's CPU time and the errors so far (for the harness)

import http from 'node:http'
import pg from 'pg'
import postgres from 'postgres'
import { Pool } from '../../src/index.js'
import type { BenchTarget } from '../drivers.js'

export const DRIVERS = ['pgline', 'pgline-mux', 'pg', 'postgres'] as const
export type DriverName = (typeof DRIVERS)[number]

// The same SQL text for every driver (postgres.js's tagged templates below produce exactly these).
export const WORLD_SQL = 'select id, randomnumber as "randomNumber" from world where id = $1'
export const FORTUNE_SQL = 'select id, message from fortune'
export const UPDATE_SQL = 'update world set randomnumber = v.r from (select unnest($1::int[]) id, unnest($2::int[]) r) v where world.id = v.id'

interface World {
  id: number
  randomNumber: number
}
interface Fortune {
  id: number
  message: string
}

/** What a handler needs from a driver. */
interface Db {
  world(id: number): Promise<World>
  fortunes(): Promise<Fortune[]>
  /** Ids sorted ascending, numbers in the same order. */
  update(ids: number[], numbers: number[]): Promise<void>
  /** Opens the pool's connections (untimed, before READY). */
  warm(): Promise<void>
  close(): Promise<void>
}

function openDb(driver: DriverName, t: BenchTarget, size: number): Db {
  const one = <R>(rows: R[]): R => {
    const r = rows[0]
    if (r === undefined) throw new Error('no such row')
    return r
  }
  const warmWith = (q: () => Promise<unknown>) => async () => {
    // More callers than connections, twice, so every connection opens and has the statements prepared.
    for (let k = 0; k < 2; k++) await Promise.all(Array.from({ length: size * 4 }, q))
  }
  switch (driver) {
    case 'pgline':
    case 'pgline-mux': {
      const pool = new Pool(t, { max: size, ...(driver === 'pgline-mux' ? { multiplexing: true } : {}) })
      const db: Db = {
        world: async (id) => one((await pool.query<World>(WORLD_SQL, [id])).rows),
        fortunes: async () => (await pool.query<Fortune>(FORTUNE_SQL)).rows,
        update: async (ids, numbers) => void (await pool.query(UPDATE_SQL, [ids, numbers])),
        warm: warmWith(() => Promise.all([db.world(1), db.fortunes()])),
        close: () => pool.close(),
      }
      return db
    }
    case 'pg': {
      // Named statements: pg's prepared-statement fast path.
      const pool = new pg.Pool({ ...t, max: size })
      pool.on('error', (err) => console.error(`[pg] idle client: ${err.message}`)) // else an idle client's error ends the process
      const db: Db = {
        world: async (id) => one((await pool.query<World>({ name: 'world', text: WORLD_SQL, values: [id] })).rows),
        fortunes: async () => (await pool.query<Fortune>({ name: 'fortunes', text: FORTUNE_SQL })).rows,
        update: async (ids, numbers) => void (await pool.query({ name: 'update', text: UPDATE_SQL, values: [ids, numbers] })),
        warm: warmWith(() => Promise.all([db.world(1), db.fortunes()])),
        close: () => pool.end(),
      }
      return db
    }
    case 'postgres': {
      // postgres.js prepares every tagged-template statement by default.
      const sql = postgres({ ...t, username: t.user, max: size, onnotice: () => {} })
      const db: Db = {
        world: async (id) => one(await sql<World[]>`select id, randomnumber as "randomNumber" from world where id = ${id}`),
        fortunes: async () => [...(await sql<Fortune[]>`select id, message from fortune`)],
        update: async (ids, numbers) =>
          void (await sql`update world set randomnumber = v.r from (select unnest(${ids}::int[]) id, unnest(${numbers}::int[]) r) v where world.id = v.id`),
        warm: warmWith(() => Promise.all([db.world(1), db.fortunes()])),
        close: () => sql.end({ timeout: 5 }),
      }
      return db
    }
  }
}

// ---- the handlers ----------------------------------------------------------

const randomId = (): number => 1 + Math.floor(Math.random() * 10000)

/** TechEmpower's rule for the count parameter: 1..500, anything unreadable is 1. */
function count(url: string): number {
  const m = /[?&](?:q|queries)=([^&]*)/.exec(url)
  const n = m ? Number.parseInt(m[1]!, 10) : 1
  return Number.isNaN(n) || n < 1 ? 1 : Math.min(n, 500)
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
const NEEDS_ESCAPE = /[&<>"']/
const ESCAPE_ALL = /[&<>"']/g

export function escapeHtml(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPE_ALL, (c) => ESCAPES[c]!) : s
}

export const ADDITIONAL_FORTUNE = 'Additional fortune added at request time.'

export function renderFortunes(rows: Fortune[]): string {
  rows.push({ id: 0, message: ADDITIONAL_FORTUNE })
  rows.sort((a, b) => (a.message < b.message ? -1 : a.message > b.message ? 1 : 0))
  let html = '<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>'
  for (const r of rows) html += `<tr><td>${r.id}</td><td>${escapeHtml(r.message)}</td></tr>`
  return html + '</table></body></html>'
}

async function queries(db: Db, n: number): Promise<World[]> {
  const jobs = new Array<Promise<World>>(n)
  for (let i = 0; i < n; i++) jobs[i] = db.world(randomId())
  return Promise.all(jobs)
}

async function updates(db: Db, n: number): Promise<World[]> {
  const read = await queries(db, n)
  const worlds = read.map((w) => ({ id: w.id, randomNumber: randomId() }))
  // Sorted by id (the same order for every request, so two updates never deadlock).
  const sorted = [...worlds].sort((a, b) => a.id - b.id)
  await db.update(
    sorted.map((w) => w.id),
    sorted.map((w) => w.randomNumber),
  )
  return worlds
}

// ---- the server ------------------------------------------------------------

async function main(): Promise<void> {
  const driver = process.env.PGLINE_HTTP_DRIVER as DriverName
  if (!DRIVERS.includes(driver)) throw new Error(`PGLINE_HTTP_DRIVER must be one of ${DRIVERS.join(', ')}`)
  const target = JSON.parse(process.env.PGLINE_HTTP_TARGET ?? 'null') as BenchTarget | null
  if (!target) throw new Error('PGLINE_HTTP_TARGET is not set')
  const size = Number(process.env.PGLINE_HTTP_POOL ?? 10)
  const db = openDb(driver, target, size)
  await db.warm()

  let errors = 0
  const firstErrors: string[] = []
  let date = new Date().toUTCString()
  const clock = setInterval(() => (date = new Date().toUTCString()), 1000)

  const send = (res: http.ServerResponse, type: string, body: string): void => {
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), Server: 'pgline-bench', Date: date })
    res.end(body)
  }
  const fail = (res: http.ServerResponse, err: unknown): void => {
    errors++
    const text = err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err)
    if (firstErrors.length < 10) {
      firstErrors.push(text)
      console.error(`[${driver}] ${text}`)
    }
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain', Server: 'pgline-bench', Date: date })
    res.end(text)
  }
  const JSON_TYPE = 'application/json'
  const HTML_TYPE = 'text/html; charset=utf-8'

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const route = q === -1 ? url : url.slice(0, q)
    let work: Promise<void>
    switch (route) {
      case '/db':
        work = db.world(randomId()).then((w) => send(res, JSON_TYPE, JSON.stringify(w)))
        break
      case '/queries':
        work = queries(db, count(url)).then((ws) => send(res, JSON_TYPE, JSON.stringify(ws)))
        break
      case '/fortunes':
        work = db.fortunes().then((rows) => send(res, HTML_TYPE, renderFortunes(rows)))
        break
      case '/updates':
        work = updates(db, count(url)).then((ws) => send(res, JSON_TYPE, JSON.stringify(ws)))
        break
      case '/_stats': {
        const cpu = process.cpuUsage()
        send(res, JSON_TYPE, JSON.stringify({ cpuMicros: cpu.user + cpu.system, errors, firstErrors, rss: process.memoryUsage.rss() }))
        return
      }
      default:
        res.writeHead(404).end()
        return
    }
    work.catch((err: unknown) => fail(res, err))
  })
  server.keepAliveTimeout = 60_000

  let closing: Promise<void> | undefined
  const shutdown = (): Promise<void> =>
    (closing ??= (async () => {
      clearInterval(clock)
      server.close()
      server.closeAllConnections()
      const timer = setTimeout(() => process.exit(0), 5_000) // a pool that does not close must not keep the process
      timer.unref()
      await db.close().catch((err: unknown) => console.error(`[${driver}] close: ${String(err)}`))
      process.exit(0)
    })())
  process.on('SIGTERM', () => void shutdown())
  process.on('SIGINT', () => void shutdown())
  process.stdin.on('end', () => void shutdown())
  process.stdin.on('error', () => void shutdown())
  process.stdin.resume()

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no port')
  console.log(`READY ${addr.port}`)
}

if (process.env.PGLINE_HTTP_DRIVER !== undefined) {
  main().catch((err: unknown) => {
    console.error(`[app] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    process.exit(1)
  })
}
