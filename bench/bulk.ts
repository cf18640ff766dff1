// The bulk workloads: many rows per call. wide-read (one 100k-row result of
// 12 mixed columns), stream-5m (a 5M-row stream, each driver in a child
// process for its RSS), server-cursor (DECLARE/FETCH 1000 over 1M rows),
// copy-in and copy-out (1M rows of int4, text, float8, timestamptz). Sizes
// shrink with --quick (data.ts sizes()).
//
// The big ones are `measure` samplers: a sample is one or more whole runs
// timed back to back (timedRuns), set-up such as TRUNCATE outside the timed
// part, and every contender runs once, untimed, when it opens (a warm-up that
// also checks it moved the right number of rows).

import { spawn } from 'node:child_process'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import type pg from 'pg'
import type { Connection } from '../src/index.js'
import {
  expectCount,
  pgContender,
  pglineContender,
  pglinePgContender,
  pgNativeContender,
  postgresJsContender,
  timedRuns,
  type Contender,
  type Env,
  type Measurement,
  type ResultRow,
  type SampleContext,
  type Workload,
} from './contenders.js'
import { copyData, dropCopyData, type CopyData } from './copy-data.js'
import { sizes } from './data.js'
import { BASELINE, openPg, openPgline, openPglineBaseline, openPostgresJs, type BenchTarget } from './drivers.js'
import { buildCeiling, ceilingToolchain, runWideCeiling, timePsql } from './external.js'
import type { PgNative } from './pg-native.js'
import type { StreamDriver, StreamJob, StreamResult } from './stream-child.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const MB = 1024 * 1024

// ---- helpers ---------------------------------------------------------------

/** A contender measured by whole timed runs of `run` (which returns the rows it moved, checked against `rows`). */
function runsContender(
  label: string,
  rows: number,
  open: (t: BenchTarget) => Promise<{ run: () => Promise<number>; close(): Promise<unknown> }>,
  before?: (ctx: SampleContext) => Promise<unknown>,
): Contender {
  return {
    label,
    async open(t) {
      const o = await open(t)
      try {
        // The warm-up run, which also checks the count.
        expectCount(label, 'moved', await o.run(), rows)
        const run = async (): Promise<void> => expectCount(label, 'moved', await o.run(), rows)
        return {
          measure: (ms, ctx) => timedRuns(ms, rows, run, before && (() => before(ctx))),
          close: async () => void (await o.close()),
        }
      } catch (err) {
        await o.close()
        throw err
      }
    },
  }
}

const pglineRuns = (label: string, rows: number, make: (conn: Connection) => () => Promise<number>, before?: (ctx: SampleContext) => Promise<unknown>): Contender => {
  const c = runsContender(label, rows, async (t) => {
    const conn = await openPgline(t)
    return { run: make(conn), close: () => conn.close() }
  }, before)
  // With PGLINE_BASELINE, the same run on the baseline build beside it (see drivers.ts).
  if (BASELINE !== undefined) {
    c.baseline = runsContender(`${label} (baseline)`, rows, async (t) => {
      const conn = await openPglineBaseline(t)
      return { run: make(conn), close: () => conn.close() }
    }, before)
  }
  return c
}

const pgRuns = (label: string, rows: number, make: (client: pg.Client) => () => Promise<number>, before?: (ctx: SampleContext) => Promise<unknown>) =>
  runsContender(label, rows, async (t) => {
    const client = await openPg(t)
    return { run: make(client), close: () => client.end() }
  }, before)

const postgresJsRuns = (
  label: string,
  rows: number,
  make: (sql: ReturnType<typeof openPostgresJs>) => () => Promise<number>,
  before?: (ctx: SampleContext) => Promise<unknown>,
) =>
  runsContender(label, rows, async (t) => {
    const sql = openPostgresJs(t)
    await sql`select 1`
    return { run: make(sql), close: () => sql.end() }
  }, before)

/** `a / b` as '1.62x'. */
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`

function find(rows: ResultRow[], name: string): ResultRow | undefined {
  return rows.find((r) => r.name === name)
}

/** 'target ...: met (1.62x, 8% over)' or 'not met (...)': `got` against `want`, higher is better. */
function target(what: string, got: number | undefined, want: number, show: (x: number) => string): string {
  if (got === undefined) return `Target ${what}: not measured.`
  const met = got >= want
  const by = Math.abs(got / want - 1) * 100
  return `Target ${what}: ${met ? 'met' : 'NOT met'} (${show(got)}, ${by.toFixed(0)}% ${met ? 'above' : 'short of'} the target).`
}

// ---- wide-read -------------------------------------------------------------

const wideSql = (rows: number): string => `select * from wide limit ${rows}`

function wideRead(): Workload {
  const label = {
    pgline: 'pgline',
    array: "pgline (rowMode 'array')",
    columns: "pgline (rowMode 'columns')",
    pjs: 'postgres.js',
    pjsValues: 'postgres.js (.values())',
  }
  const check = async (name: string, got: Promise<number>, want: number): Promise<void> => expectCount(name, 'read', await got, want)
  return {
    name: 'wide-read',
    title: (env) => `\`select * from wide limit ${sizes(env.quick).wideRead}\`: one result of ${sizes(env.quick).wideRead.toLocaleString('en-US')} rows, 12 mixed columns (int4, int8, float8, numeric, text, bool, timestamptz, date, uuid, jsonb, int4[], text)`,
    unit: 'rows/s',
    perCall: (env) => sizes(env.quick).wideRead,
    tables: ['wide'],
    contenders: (env) => {
      const n = sizes(env.quick).wideRead
      const sql = wideSql(n)
      const out: Contender[] = [
        pglineContender(label.pgline, (conn) => () => conn.query(sql)),
        pglineContender(label.array, (conn) => () => conn.query(sql, [], { rowMode: 'array' })),
        pglineContender(label.columns, (conn) => () => conn.query(sql, [], { rowMode: 'columns' })),
        pgContender('pg', (client) => () => client.query(sql)),
        postgresJsContender(label.pjs, (sql_) => () => sql_`select * from wide limit ${n}`),
        postgresJsContender(label.pjsValues, (sql_) => () => sql_`select * from wide limit ${n}`.values()),
        pglinePgContender('pgline/pg', (client) => () => client.query(sql)),
        ...pgNativeContender(env, 'pg-native', async (client) => {
          await check('pg-native', client.query(sql, []).then((r) => r.length), n)
          return () => client.query(sql, [])
        }),
      ]
      // Counted once each, untimed: every row-shaped contender must really get n rows.
      for (const c of out.slice(0, 7)) {
        const open = c.open.bind(c)
        c.open = async (t) => {
          const s = await open(t)
          // postgres.js results are arrays; pgline's have rows, or columns (with a length) in 'columns' mode.
          const r = (await s.call!()) as unknown[] | { rows: unknown[]; columns?: { length: number } }
          const got = Array.isArray(r) ? r.length : (r.columns?.length ?? r.rows.length)
          await check(c.label, Promise.resolve(got), n).catch(async (err: unknown) => {
            await s.close()
            throw err
          })
          return s
        }
      }
      const tc = ceilingToolchain()
      if (typeof tc !== 'string') {
        out.push({
          label: 'C ceiling: libpq, text, every value touched',
          async open(t) {
            const bin = await buildCeiling(tc, 'wide', env.tmpDir)
            return {
              measure: (ms) => runWideCeiling(bin, t, sql, n, ms, env.clientCpu),
              close: () => rm(bin, { force: true }),
            }
          },
        })
      }
      return out
    },
    notes: (env) => {
      const tc = ceilingToolchain()
      const notes = [
        'postgres.js runs it as a tagged template (`limit ${n}`, prepared); pg as plain text (simple protocol). pg, pg-native and postgres.js read text, pgline binary where a codec exists.',
      ]
      if (typeof tc === 'string') notes.push(`C ceiling skipped: ${tc}.`)
      if (!env.pgNative) notes.push('pg-native skipped: not installed (scripts/bench-setup.sh).')
      return notes
    },
    summary: (rows) => {
      const ours = find(rows, label.pgline)
      const pjs = find(rows, label.pjs)
      const lines = [target('pgline (objects) >= 1.5x postgres.js (objects) rows/s', ours && pjs && ours.median / pjs.median, 1.5, (x) => `${x.toFixed(2)}x`)]
      const best = [find(rows, label.pgline), find(rows, label.array), find(rows, label.columns)].filter((r) => r !== undefined)
      const top = best.sort((a, b) => b.median - a.median)[0]
      const vals = find(rows, label.pjsValues)
      if (top && vals) lines.push(`Fastest pgline shape (${top.name}) against postgres.js's fastest (.values()): ${ratio(top.median, vals.median)}.`)
      return lines
    },
  }
}

// ---- stream-5m -------------------------------------------------------------

function streamContender(env: Env, label: string, driver: StreamDriver, rows: number): Contender {
  return {
    label,
    async open(t) {
      const job: StreamJob = { driver, target: t, rows, batchSize: 1000 }
      const runChild = async (): Promise<StreamResult> => {
        // The parent's execArgv carries tsx's loader; affinity (CPU 0) is inherited.
        const child = spawn(process.execPath, [...process.execArgv, '--expose-gc', path.join(here, 'stream-child.ts')], {
          env: { ...process.env, PGLINE_BENCH_STREAM: JSON.stringify(job) },
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        let stdout = ''
        let stderr = ''
        child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s))
        child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
        const code = await new Promise<number | null>((resolve, reject) => {
          child.on('error', reject)
          child.on('close', resolve)
        })
        const line = stdout.trim().split('\n').at(-1) ?? ''
        if (code !== 0 || !line.startsWith('{')) throw new Error(`stream child (${driver}) exited with ${code}: ${stderr.trim().split('\n').slice(-2).join(' | ')}`)
        return JSON.parse(line) as StreamResult
      }
      return {
        // One child, one stream of `rows` per sample: a sample of 5M rows is seconds long already.
        measure: async (): Promise<Measurement> => {
          const r = await runChild()
          return {
            perSecond: r.rows / r.seconds,
            metrics: { peak: r.peakRss / MB, growth: (r.peakRss - r.baselineRss) / MB, hwm: r.maxRss / MB },
          }
        },
        close: async () => {},
      }
    },
  }
}

function stream5m(): Workload {
  const ours = 'pgline (stream, batchSize 1000)'
  return {
    name: 'stream-5m',
    title: (env) =>
      `stream ${sizes(env.quick).stream.toLocaleString('en-US')} rows of \`select g, 'row ' || g, g * 1.5 from generate_series(1, n) g\` in batches of 1000, ` +
      'each driver in a child process of its own (RSS sampled every 50 ms)',
    unit: 'rows/s',
    perCall: 1,
    tables: [],
    contenders: (env) => {
      const n = sizes(env.quick).stream
      return [
        streamContender(env, ours, 'pgline', n),
        streamContender(env, "pgline (stream, rowMode 'array')", 'pgline-array', n),
        streamContender(env, 'postgres.js (.cursor(1000))', 'postgres.js', n),
      ]
    },
    metrics: [
      { key: 'peak', header: 'peak RSS MB (worst)', of: 'max', digits: 0 },
      { key: 'growth', header: 'peak - baseline MB (worst)', of: 'max', digits: 0 },
      { key: 'hwm', header: 'kernel max RSS MB (worst)', of: 'max', digits: 0 },
    ],
    notes: () => [
      'generate_series runs in the select list (ProjectSet), so the server produces rows as they are fetched instead of materializing them first.',
      'Baseline: the child after connecting, a 50k-row warm-up stream and gc(). Kernel max RSS (getrusage) covers the whole child, start-up and warm-up included.',
      'pg skipped: streaming with pg needs pg-cursor, which is not a dependency. pg-native skipped: it has no streaming API.',
    ],
    summary: (rows) => {
      const r = find(rows, ours)
      const peak = r?.metrics?.peak
      if (peak === undefined) return ['Target pgline peak RSS < 150 MB: not measured.']
      const met = peak < 150
      return [
        `Target pgline peak RSS < 150 MB: ${met ? 'met' : 'NOT met'} (worst round ${peak.toFixed(0)} MB, ` +
          `${Math.abs(150 - peak).toFixed(0)} MB ${met ? 'under' : 'over'}; growth over the baseline ${r!.metrics!.growth!.toFixed(0)} MB).`,
      ]
    },
  }
}

// ---- server-cursor ---------------------------------------------------------

const FETCH = 1000

function serverCursor(): Workload {
  return {
    name: 'server-cursor',
    title: (env) => `in a transaction, DECLARE a cursor over ${sizes(env.quick).cursor.toLocaleString('en-US')} rows of \`big\` (id int, payload text) and FETCH ${FETCH} at a time until empty`,
    unit: 'rows/s',
    perCall: 1,
    tables: ['big'],
    contenders: (env) => {
      const n = sizes(env.quick).cursor
      const query = `select id, payload from big limit ${n}`
      const declare = `declare c no scroll cursor for ${query}`
      const fetch = `fetch forward ${FETCH} from c`
      return [
        pglineRuns('pgline (tx.serverCursor().fetch(1000))', n, (conn) => () =>
          conn.transaction(async (tx) => {
            const cur = tx.serverCursor('c')
            await cur.execute(query)
            let got = 0
            for (;;) {
              const rows = await cur.fetch(FETCH)
              if (rows.length === 0) break
              got += rows.length
            }
            await cur.close()
            return got
          }),
        ),
        pgRuns('pg (FETCH queries)', n, (client) => async () => {
          await client.query('begin')
          await client.query(declare)
          let got = 0
          for (;;) {
            const r = await client.query(fetch)
            if (r.rows.length === 0) break
            got += r.rows.length
          }
          await client.query('commit')
          return got
        }),
        postgresJsRuns('postgres.js (sql.begin + unsafe FETCH)', n, (sql) => async () => {
          let got = 0
          await sql.begin(async (tx) => {
            await tx.unsafe(declare)
            for (;;) {
              const rows = await tx.unsafe(fetch)
              if (rows.length === 0) break
              got += rows.length
            }
          })
          return got
        }),
        ...(env.pgNative
          ? [
              runsContender('pg-native (FETCH queries)', n, async (t) => {
                const client: PgNative = await env.pgNative!(t)
                return {
                  run: async () => {
                    await client.query('begin', [])
                    await client.query(declare, [])
                    let got = 0
                    for (;;) {
                      const rows = await client.query(fetch, [])
                      if (rows.length === 0) break
                      got += rows.length
                    }
                    await client.query('commit', [])
                    return got
                  },
                  close: () => client.end(),
                }
              }),
            ]
          : []),
      ]
    },
    notes: (env) => [
      `Every driver sends \`${`fetch forward ${FETCH} from c`}\` until it comes back empty; pgline's serverCursor sends the same statements (unnamed, so parsed each time).`,
      ...(env.pgNative ? [] : ['pg-native skipped: not installed (scripts/bench-setup.sh).']),
    ],
  }
}

// ---- copy-in ---------------------------------------------------------------

/** Empties copy_t and checkpoints (so no sample pays for an earlier one's dirty pages), untimed. */
const emptyTarget = (ctx: SampleContext): Promise<unknown> => ctx.admin.query('truncate copy_t').then(() => ctx.admin.query('checkpoint'))

const INSERT_BATCH = 10_000

function* batches<T>(xs: T[], size: number): Generator<T[]> {
  for (let i = 0; i < xs.length; i += size) yield xs.slice(i, i + size)
}

function copyIn(): Workload {
  const raw = 'pgline (raw csv chunks)'
  const binary = 'pgline (typed rows, binary, writeRow)'
  const psqlLabel = "psql \\copy from a csv file"
  const pjsInsert = `postgres.js (insert \${sql(rows)}, ${INSERT_BATCH / 1000}k per statement)`
  const pjsUnnest = `postgres.js (insert ... unnest, ${INSERT_BATCH / 1000}k per statement)`
  return {
    name: 'copy-in',
    title: (env) => `load ${sizes(env.quick).copy.toLocaleString('en-US')} rows (int4, text, float8, timestamptz) into an emptied table`,
    unit: 'rows/s',
    perCall: 1,
    tables: ['copy_t'],
    contenders: (env) => {
      const n = sizes(env.quick).copy
      const data = (): CopyData => copyData(n)
      const CSV = 'copy copy_t from stdin (format csv)'
      const out: Contender[] = [
        pglineRuns(raw, n, (conn) => () => conn.copyFrom(CSV, data().csvChunks), emptyTarget),
        pglineRuns('pgline (typed rows, text)', n, (conn) => () => conn.copyFrom('copy copy_t from stdin', data().rows), emptyTarget),
        pglineRuns(binary, n, (conn) => async () => {
          const w = await conn.copyFrom('copy copy_t from stdin (format binary)')
          for (const row of data().rows) await w.writeRow(row)
          return w.end()
        }, emptyTarget),
        postgresJsRuns('postgres.js (.writable(), csv chunks)', n, (sql) => async () => {
          const w = await sql`copy copy_t from stdin (format csv)`.writable()
          await pipeline(Readable.from(data().csvChunks), w)
          return n // checked below, by count(*)
        }, emptyTarget),
        postgresJsRuns(pjsInsert, n, (sql) => async () => {
          let got = 0
          for (const b of batches(data().rows, INSERT_BATCH)) {
            const objects = b.map(([a, b_, c, d]) => ({ a, b: b_, c, d }))
            got += (await sql`insert into copy_t ${sql(objects, 'a', 'b', 'c', 'd')}`).count
          }
          return got
        }, emptyTarget),
        postgresJsRuns(pjsUnnest, n, (sql) => async () => {
          let got = 0
          for (const b of batches(data().rows, INSERT_BATCH)) {
            const r = await sql`insert into copy_t select * from unnest(${b.map((r) => r[0])}::int4[], ${b.map((r) => r[1])}::text[],
              ${b.map((r) => r[2])}::float8[], ${b.map((r) => r[3].toISOString())}::timestamptz[])`
            got += r.count
          }
          return got
        }, emptyTarget),
      ]
      const streams = env.copyStreams
      if (streams) {
        out.push(
          pgRuns('pg + pg-copy-streams (csv chunks)', n, (client) => async () => {
            await pipeline(Readable.from(data().csvChunks), client.query(streams.from(CSV)))
            return n // checked below, by count(*)
          }, emptyTarget),
        )
      }
      const psql = env.psql
      if (psql) {
        out.push(
          runsContender(psqlLabel, n, async (t) => {
            const file = data().csvFile(path.join(env.tmpDir, 'copy-in.csv'))
            return {
              run: async () => {
                await timePsql(psql, t, `\\copy copy_t from '${file}' csv`, env.clientCpu)
                return n // checked below, by count(*)
              },
              close: () => rm(file, { force: true }),
            }
          }, emptyTarget),
        )
      }
      // The table is emptied before the warm-up run of each, and what it loaded is counted after it
      // (some contenders cannot count for themselves).
      return out.flatMap((c) => (c.baseline ? [c, c.baseline] : [c])).map((c) => ({
        label: c.label,
        async open(t) {
          const admin = await openPg(t)
          try {
            await admin.query('truncate copy_t')
            const s = await c.open(t)
            try {
              expectCount(c.label, 'loaded', (await admin.query('select count(*)::int as n from copy_t')).rows[0].n, n)
            } catch (err) {
              await s.close()
              throw err
            }
            return s
          } finally {
            await admin.end()
          }
        },
      }))
    },
    after: dropCopyData,
    notes: (env) => [
      'Every contender gets the same rows, made before timing: CSV in 64 KiB Buffers for the raw COPYs (and a file for psql), [int, string, number, Date] arrays for the typed ones ' +
        '(postgres.js\'s insert helper gets them as objects, its unnest as column arrays with ISO timestamps, converted inside the timed part).',
      'Before every timed load: TRUNCATE and CHECKPOINT, untimed. psql is timed from spawn to exit (start-up and connection included).',
      ...(env.copyStreams ? [] : ['pg + pg-copy-streams skipped: not installed (scripts/bench-setup.sh).']),
      ...(env.psql ? [] : ['psql \\copy skipped: psql not found (scripts/bench-setup.sh).']),
      'pg-native skipped: it cannot run COPY FROM through its query path.',
    ],
    summary: (rows) => {
      const r = find(rows, raw)
      const p = find(rows, psqlLabel)
      const b = find(rows, binary)
      const inserts = [find(rows, pjsInsert), find(rows, pjsUnnest)].filter((x) => x !== undefined).sort((x, y) => y.median - x.median)
      return [
        target('pgline raw COPY >= psql \\copy', r && p && r.median / p.median, 1, (x) => `${x.toFixed(2)}x`),
        target(
          `pgline typed binary writeRow >= 1.5x postgres.js's fastest bulk insert${inserts[0] ? ` (${inserts[0].name})` : ''}`,
          b && inserts[0] && b.median / inserts[0].median,
          1.5,
          (x) => `${x.toFixed(2)}x`,
        ),
      ]
    },
  }
}

// ---- copy-out --------------------------------------------------------------

/** Reads an async iterable of chunks to the end; returns the bytes. */
async function drain(chunks: AsyncIterable<Buffer | Uint8Array | string>): Promise<number> {
  let bytes = 0
  for await (const c of chunks) bytes += c.length
  return bytes
}

/**
 * Reads a Node Readable to the end in flowing mode ('data' events), its
 * fastest; returns the bytes. Also the only safe way for postgres.js: when its
 * COPY Readable applies backpressure on the last chunk, the connection's
 * socket stays paused after the COPY and the next query never answers (seen
 * with `for await`, on the second or third COPY of a connection; cf.
 * porsager/postgres#917).
 */
function drainReadable(r: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0
    r.on('data', (c: Buffer | string) => (bytes += c.length))
    r.once('end', () => resolve(bytes))
    r.once('error', reject)
  })
}

function copyOut(): Workload {
  const raw = 'pgline (raw chunks)'
  const psqlLabel = "psql \\copy to '/dev/null'"
  return {
    name: 'copy-out',
    title: (env) => `COPY ${sizes(env.quick).copy.toLocaleString('en-US')} rows (int4, text, float8, timestamptz) out of a table, text format unless noted`,
    unit: 'rows/s',
    perCall: 1,
    tables: ['copy_src'],
    contenders: (env) => {
      const n = sizes(env.quick).copy
      const TEXT = 'copy copy_src to stdout'
      const BINARY = 'copy copy_src to stdout (format binary)'
      // Raw readers count bytes; their expected size is the one pgline's raw run saw at open (all must agree).
      let expectedBytes: number | undefined
      const bytesOf = (label: string) => async (bytes: number): Promise<number> => {
        if (bytes === 0) throw new Error(`${label}: no data came back`)
        expectedBytes ??= bytes
        if (bytes !== expectedBytes) throw new Error(`${label}: ${bytes} bytes, the first raw reader got ${expectedBytes}`)
        return n
      }
      const out: Contender[] = [
        pglineRuns(raw, n, (conn) => () => drain(conn.copyTo(TEXT)).then(bytesOf(raw))),
        pglineRuns('pgline (typed rows, text)', n, (conn) => async () => {
          let got = 0
          for await (const row of conn.copyTo(TEXT).rows()) if (row.length === 4) got++
          return got
        }),
        pglineRuns('pgline (typed rows, binary)', n, (conn) => async () => {
          let got = 0
          for await (const row of conn.copyTo(BINARY).rows()) if (row.length === 4) got++
          return got
        }),
        postgresJsRuns('postgres.js (.readable())', n, (sql) => async () => drainReadable(await sql`copy copy_src to stdout`.readable()).then(bytesOf('postgres.js'))),
      ]
      const streams = env.copyStreams
      if (streams) out.push(pgRuns('pg + pg-copy-streams', n, (client) => () => drainReadable(client.query(streams.to(TEXT))).then(bytesOf('pg-copy-streams'))))
      const psql = env.psql
      if (psql) {
        out.push(
          runsContender(psqlLabel, n, async (t) => ({
            run: async () => {
              await timePsql(psql, t, "\\copy copy_src to '/dev/null'", env.clientCpu)
              return n
            },
            close: async () => {},
          })),
        )
      }
      return out
    },
    notes: (env) => [
      'Raw readers (pgline raw, pg-copy-streams, postgres.js, psql) get the text COPY bytes; typed rows are decoded to [number, string, number, Date]. psql is timed from spawn to exit.',
      "pgline's COPY is an async iterable (read with `for await`); the Node Readables of pg-copy-streams and postgres.js are read with 'data' events (flowing mode).",
      ...(env.copyStreams ? [] : ['pg + pg-copy-streams skipped: not installed (scripts/bench-setup.sh).']),
      ...(env.psql ? [] : ['psql \\copy skipped: psql not found (scripts/bench-setup.sh).']),
      'pg-native skipped: no COPY TO API.',
    ],
    summary: (rows) => {
      const r = find(rows, raw)
      const p = find(rows, psqlLabel)
      return [target('pgline raw COPY >= psql \\copy', r && p && r.median / p.median, 1, (x) => `${x.toFixed(2)}x`)]
    },
  }
}

export const bulkWorkloads: Workload[] = [wideRead(), stream5m(), serverCursor(), copyIn(), copyOut()]
