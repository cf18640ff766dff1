// The client-side cost of the sql`...` tagged template against SQL text and
// a parameter array: what an entry point (query(), stream()...) does before
// anything is written, no server involved. Not part of `npm run bench`:
//   taskset -c 0 node --import tsx bench/profile-sql.ts [ms per case]
// Each timed sample runs a batch of calls, so tinybench's own per-sample cost
// stays out of the ns per call printed.
import { Bench } from 'tinybench'
import { sql, type SqlQuery } from '../src/index.js'
import { toQuery } from '../src/client/sql.js'

const time = Number(process.argv[2] ?? 1000)
const BATCH = 1000

let sink = 0

/** What an entry point does with its first two arguments: text passes, a fragment is rendered (as in Connection.query). */
function entry(q: string | SqlQuery, params?: readonly unknown[]): void {
  let text: string
  let values: readonly unknown[] | undefined = params
  if (typeof q !== 'string') ({ text, values } = toQuery(q, params))
  else text = q
  sink += text.length + (values?.length ?? 0)
}

const users = sql.ident('app', 'users')
const cases: [string, (i: number) => void][] = [
  ['string + [id]', (id) => entry('select id, name from users where id = $1', [id])],
  ['sql`... ${id}`', (id) => entry(sql`select id, name from users where id = ${id}`)],
  ['sql`... ${a} ${b} ${c}`', (id) => entry(sql`select id, name from users where id = ${id} and org = ${id + 1} and tag = ${'x'}`)],
  ['string + [a, b, c]', (id) => entry('select id, name from users where id = $1 and org = $2 and tag = $3', [id, id + 1, 'x'])],
  ['sql`... ${ident} ... ${id}` (hoisted ident)', (id) => entry(sql`select id, name from ${users} where id = ${id}`)],
  ['sql`... ${sql.ident(a, b)} ... ${id}`', (id) => entry(sql`select id, name from ${sql.ident('app', 'users')} where id = ${id}`)],
  ['sql`... ${sql`id = ${id}`}` (nested)', (id) => entry(sql`select id, name from users where ${sql`id = ${id}`} and ${sql`org = ${id + 1}`}`)],
  ['sql`... in (${sql.join([a, b, c])})`', (id) => entry(sql`select id, name from users where id in (${sql.join([id, id + 1, id + 2])})`)],
  ['{ text, values }', (id) => entry({ text: 'select id, name from users where id = $1', values: [id] })],
]

const bench = new Bench({ time, warmupTime: Math.min(500, time / 2) })
for (const [name, fn] of cases) {
  bench.add(name, () => {
    for (let i = 0; i < BATCH; i++) fn(i)
  })
}
await bench.run()

const base = bench.tasks[0]!.result!.latency.mean
console.log(`node ${process.version}; ns per call (mean of batches of ${BATCH}), and against SQL text + a parameter array`)
for (const t of bench.tasks) {
  const mean = t.result!.latency.mean
  const ns = (mean * 1e6) / BATCH
  console.log(`${t.name.padEnd(48)} ${ns.toFixed(1).padStart(8)} ns  ${(mean / base).toFixed(1).padStart(6)}x  ±${t.result!.latency.rme.toFixed(1)}%`)
}
if (sink === 0) console.log('(nothing ran)')
