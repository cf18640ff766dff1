// npx tsx bench/inflight-window.ts <server.json>: the in-flight workload two ways, pgline and
// postgres.js interleaved on one server: batches of 100 awaited together (bench/workloads.ts's
// in-flight-100) and a sliding window of 100 (each completion starts the next). Used to
// reconcile the bench's in-flight ratio with an outside harness's (native-notes.md).
// <server.json> is a test/support ServerInfo (host, port, database, superuser).
import { connect } from '../src/index.js'
import postgres from 'postgres'
import { readFileSync } from 'node:fs'
const i = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const t = { host: i.host, port: i.port, user: i.superuser.user, password: i.superuser.password, database: i.database }
const setup = await connect(t)
await setup.simpleQuery(`create table if not exists users (id int primary key, name text, email text, created_at timestamptz);
 insert into users select g, 'n'||g, 'e'||g||'@x', now() from generate_series(1,100000) g on conflict do nothing`)
await setup.close()
const SQL = 'select id, name, email, created_at from users where id = $1'
const rid = () => 1 + Math.floor(Math.random() * 100000)
const pl = await connect(t)
const pj = postgres({ ...t, username: t.user, max: 1, onnotice: () => {} })
const run = { pgline: (id: number) => pl.query(SQL, [id]), 'postgres.js': (id: number) => pj`select id, name, email, created_at from users where id = ${id}` }
async function batch(q: (id: number) => Promise<unknown>, ms: number) {
  let n = 0; const end = Date.now() + ms
  while (Date.now() < end) { await Promise.all(Array.from({ length: 100 }, () => q(rid()))); n += 100 }
  return n / (ms / 1000)
}
async function window(q: (id: number) => Promise<unknown>, ms: number) {
  let n = 0; const end = Date.now() + ms
  const lane = async () => { while (Date.now() < end) { await q(rid()); n++ } }
  await Promise.all(Array.from({ length: 100 }, lane))
  return n / (ms / 1000)
}
const res: Record<string, number[]> = {}
for (let r = 0; r < 5; r++) for (const [name, q] of Object.entries(run)) for (const [mode, f] of [['batch', batch], ['window', window]] as const) {
  const v = await f(q, 2000); (res[`${name} ${mode}`] ??= []).push(v)
}
const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(22), Math.round(med(v)))
await pl.close(); await pj.end()
