// One streaming measurement in a process of its own, so that one driver's
// heap does not pollute another's RSS figure. Started by the stream-5m
// workload (bulk.ts) with the parent's execArgv (tsx) plus --expose-gc; it
// inherits the parent's CPU affinity, so it runs pinned like the client.
//
// Input: the PGLINE_BENCH_STREAM environment variable, JSON of StreamJob (the
// password stays off the command line). Output: one line of JSON
// (StreamResult) on stdout.
//
// Steps: connect, stream a warm-up of WARMUP rows through the same path,
// collect garbage, take the baseline RSS, then stream the rows while
// sampling process.memoryUsage.rss() every 50 ms.

import type { BenchTarget } from './drivers.js'

export type StreamDriver = 'pgline' | 'pgline-array' | 'postgres.js'

export interface StreamJob {
  driver: StreamDriver
  target: BenchTarget
  rows: number
  batchSize: number
}

export interface StreamResult {
  rows: number
  seconds: number
  baselineRss: number
  peakRss: number
  /** The kernel's high-water mark for the whole process life (warm-up and start-up included), for reference. */
  maxRss: number
}

/**
 * A set-returning function in the select list runs as ProjectSet, which
 * produces rows as the portal asks for them; in FROM it would first
 * materialize all of them on the server.
 */
export const STREAM_SQL = `select g, 'row ' || g as t, g * 1.5 as x from (select generate_series(1, $1::int) as g) s`

const WARMUP = 50_000
const SAMPLE_MS = 50

/** Streams `rows` rows; returns how many came, having touched every row. */
type Run = (rows: number) => Promise<number>

async function open(job: StreamJob): Promise<{ run: Run; close(): Promise<void> }> {
  const t = job.target
  if (job.driver === 'postgres.js') {
    const { default: postgres } = await import('postgres')
    const sql = postgres({ ...t, username: t.user, max: 1, onnotice: () => {} })
    return {
      run: async (rows) => {
        let n = 0
        let chars = 0
        const q = sql`select g, 'row ' || g as t, g * 1.5 as x from (select generate_series(1, ${rows}::int) as g) s`
        for await (const batch of q.cursor(job.batchSize)) {
          for (const r of batch) {
            n++
            chars += (r.t as string).length
          }
        }
        if (chars === 0) throw new Error('no text came back')
        return n
      },
      close: () => sql.end(),
    }
  }
  const { connect } = await import('../src/index.js')
  const conn = await connect(t)
  const arrays = job.driver === 'pgline-array'
  return {
    run: async (rows) => {
      let n = 0
      let chars = 0
      if (arrays) {
        for await (const r of conn.stream<unknown[]>(STREAM_SQL, [rows], { batchSize: job.batchSize, rowMode: 'array' })) {
          n++
          chars += (r[1] as string).length
        }
      } else {
        for await (const r of conn.stream<{ g: number; t: string; x: string }>(STREAM_SQL, [rows], { batchSize: job.batchSize })) {
          n++
          chars += r.t.length
        }
      }
      if (chars === 0) throw new Error('no text came back')
      return n
    },
    close: () => conn.close(),
  }
}

async function main(): Promise<void> {
  const job = JSON.parse(process.env.PGLINE_BENCH_STREAM ?? '') as StreamJob
  const driver = await open(job)
  try {
    const warm = await driver.run(WARMUP)
    if (warm !== WARMUP) throw new Error(`warm-up streamed ${warm} rows, expected ${WARMUP}`)
    const gc = (globalThis as { gc?: () => void }).gc
    gc?.()
    await new Promise((r) => setTimeout(r, 100))
    gc?.()
    const rss = process.memoryUsage.rss
    const baselineRss = rss()
    let peakRss = baselineRss
    const timer = setInterval(() => {
      peakRss = Math.max(peakRss, rss())
    }, SAMPLE_MS)
    const t0 = performance.now()
    const n = await driver.run(job.rows)
    const seconds = (performance.now() - t0) / 1000
    clearInterval(timer)
    peakRss = Math.max(peakRss, rss())
    if (n !== job.rows) throw new Error(`streamed ${n} rows, expected ${job.rows}`)
    const result: StreamResult = { rows: n, seconds, baselineRss, peakRss, maxRss: process.resourceUsage().maxRSS * 1024 }
    process.stdout.write(JSON.stringify(result) + '\n')
  } finally {
    await driver.close()
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err))
  process.exit(1)
})
