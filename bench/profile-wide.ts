// Where the wide-read time goes, column by column: reads each column of the
// `wide` table alone (100k rows) with pgline, postgres.js and pg, interleaved,
// and prints the median milliseconds per read and pgline's ratio to each.
// The difference between a column's time and the `id` column's is roughly
// that column's decoding cost.
//
//   taskset -c 0 npx tsx bench/profile-wide.ts [runs]
//   taskset -c 0 node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-wide.ts 20 pgline   (pgline alone, for a profile)
import pg from 'pg'
import { connect } from '../src/index.js'
import { loadData, WIDE } from './data.js'
import { openPostgresJs } from './drivers.js'
import { medianOf } from './stats.js'

const COLUMNS = process.env.COLUMNS ? process.env.COLUMNS.split(',') : ['id', 'n8', 'f8', 'num', 'name', 'flag', 'ts', 'day', 'uid', 'doc', 'ints', 'note', '*']

const { startEmbedded } = await import('../test/support/embedded.js')
const server = await startEmbedded({ major: 18, cpu: 1 })
const i = server.info
const target = { host: i.host, port: i.port, user: i.superuser.user, password: i.superuser.password ?? '', database: i.database }
try {
  await loadData(target, ['wide'])
  const runs = Number(process.argv[2] ?? 7)
  const only = process.argv[3]
  const conn = await connect(target)
  const sql = openPostgresJs(target)
  const client = new pg.Client(target)
  await client.connect()
  const readers: Record<string, (q: string) => Promise<number>> = {
    pgline: async (q) => (await conn.query(q)).rows.length,
    'postgres.js': async (q) => (await sql.unsafe(q, [], { prepare: true })).length,
    pg: async (q) => (await client.query(q)).rows.length,
  }
  const names = Object.keys(readers).filter((n) => only === undefined || n === only)
  console.log(`| column | ${names.map((n) => `${n} ms`).join(' | ')} |${names.length > 1 ? ` ${names.slice(1).map((n) => `pgline vs ${n} (>1: faster)`).join(' | ')} |` : ''}`)
  console.log(`|---|${names.map(() => '---:|').join('')}${names.length > 1 ? names.slice(1).map(() => '---:|').join('') : ''}`)
  for (const col of COLUMNS) {
    const q = `select ${col} from wide limit ${WIDE}`
    const ms: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]))
    for (const n of names) await readers[n]!(q) // warm-up (and, for pgline and postgres.js, the prepare)
    for (let r = 0; r < runs; r++) {
      for (const n of names) {
        const t0 = performance.now()
        const got = await readers[n]!(q)
        ms[n]!.push(performance.now() - t0)
        if (got !== WIDE) throw new Error(`${n}: ${got} rows`)
      }
    }
    const med = names.map((n) => medianOf(ms[n]!).median)
    const ratios = med.slice(1).map((m) => `${(m / med[0]!).toFixed(2)}x`)
    console.log(`| ${col} | ${med.map((m) => m.toFixed(1)).join(' | ')} |${ratios.length ? ` ${ratios.join(' | ')} |` : ''}`)
  }
  await conn.close()
  await sql.end()
  await client.end()
} finally {
  await server.stop()
}
