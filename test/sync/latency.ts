// Sequential point-select latency: async Connection vs SyncConnection, both
// from the built dist/ (run `npm run build` first). Uses $DATABASE_URL, or
// starts an embedded server for the run.
//
//   npx tsx test/sync/latency.ts [iterations]      (default 20000)
//   taskset -c 0 npx tsx test/sync/latency.ts 20000 --pin
//                                   (the embedded server on CPU 1, as npm run bench pins)
//
// The gap between the two columns is the cost of the thread hop (post,
// Atomics.wait/notify, receiveMessageOnPort, the value walk) per call.

import type * as AsyncApi from '../../src/index.js'
import type * as SyncApi from '../../src/sync/index.js'

const dist = (p: string): string => new URL(`../../dist/${p}`, import.meta.url).href
const { connect } = (await import(dist('index.js'))) as typeof AsyncApi
const { connectSync } = (await import(dist('sync/index.js'))) as typeof SyncApi

const N = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 20_000)
const pin = process.argv.includes('--pin')
let url = process.env.DATABASE_URL
let stop: (() => Promise<void>) | undefined
if (url === undefined) {
  const { startEmbedded } = await import('../support/embedded.js')
  const server = await startEmbedded(pin ? { cpu: 1 } : {})
  const s = server.info.superuser
  url = `postgres://${encodeURIComponent(s.user)}:${encodeURIComponent(s.password ?? '')}@${server.info.host}:${server.info.port}/${server.info.database}`
  stop = server.stop
}

const SETUP = `create table if not exists pgline_latency (id int primary key, name text, email text, created_at timestamptz);
  insert into pgline_latency select g, 'user ' || g, 'u' || g || '@example.com', now() from generate_series(1, 10000) g on conflict do nothing`
const POINT = 'select id, name, email, created_at from pgline_latency where id = $1'

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const a = await connect(url)
await a.simpleQuery(SETUP)
const s = connectSync(url)

const rounds = 5
const asyncUs: number[] = []
const syncUs: number[] = []
for (let round = 0; round < rounds; round++) {
  let t = process.hrtime.bigint()
  for (let i = 0; i < N; i++) await a.query(POINT, [1 + (i % 10000)])
  asyncUs.push(Number(process.hrtime.bigint() - t) / 1000 / N)
  t = process.hrtime.bigint()
  for (let i = 0; i < N; i++) s.query(POINT, [1 + (i % 10000)])
  syncUs.push(Number(process.hrtime.bigint() - t) / 1000 / N)
}
const am = median(asyncUs)
const sm = median(syncUs)
console.log(`point select, ${N} sequential queries x ${rounds} interleaved rounds (median):`)
console.log(`  async Connection   ${am.toFixed(1)} µs/query  ${(1e6 / am).toFixed(0)} q/s`)
console.log(`  SyncConnection     ${sm.toFixed(1)} µs/query  ${(1e6 / sm).toFixed(0)} q/s  (+${(sm - am).toFixed(1)} µs per call)`)

s.close()
await a.close()
await stop?.()
