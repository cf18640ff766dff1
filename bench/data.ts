// The tables the workloads use, loaded once per run before anything is timed:
//   users     100k rows (point-select, in-flight-100)
//   big       1M rows   (seed-lookups)
//   bench_ins empty      (pipeline-insert; truncated before every sample)
import pg from 'pg'
import type { BenchTarget } from './drivers.js'

export const USERS = 100_000
export const BIG = 1_000_000

export type Table = 'users' | 'big' | 'bench_ins'

async function rowCount(client: pg.Client, table: string): Promise<number | undefined> {
  const have = await client.query('select count(*)::int as n from pg_class where relname = $1 and relkind = $2', [table, 'r'])
  if (have.rows[0].n === 0) return undefined
  return (await client.query(`select count(*)::int as n from ${table}`)).rows[0].n
}

async function ensureUsers(client: pg.Client): Promise<void> {
  const n = await rowCount(client, 'users')
  if (n === USERS) return
  if (n !== undefined) await client.query('drop table users')
  await client.query(`create table users (id int primary key, name text not null, email text not null, created_at timestamptz not null)`)
  await client.query(
    `insert into users select g, 'user ' || g, 'user' || g || '@example.com', timestamptz '2024-01-01' + g * interval '1 minute'
     from generate_series(1, ${USERS}) g`,
  )
  await client.query('vacuum analyze users')
}

async function ensureBig(client: pg.Client): Promise<void> {
  const n = await rowCount(client, 'big')
  if (n === BIG) return
  if (n !== undefined) await client.query('drop table big')
  // Index built after the load: faster than maintaining it row by row.
  await client.query('create table big (id int not null, payload text not null)')
  await client.query(`insert into big select g, md5(g::text) from generate_series(1, ${BIG}) g`)
  await client.query('alter table big add primary key (id)')
  await client.query('vacuum analyze big')
}

async function ensureInsertTable(client: pg.Client): Promise<void> {
  // No autovacuum: it would wake up mid-sample on a table that is emptied before every sample anyway.
  await client.query('create table if not exists bench_ins (id int primary key, v text not null) with (autovacuum_enabled = false)')
  await client.query('truncate bench_ins')
}

/** Creates (or checks) the tables the chosen workloads need. */
export async function loadData(t: BenchTarget, tables: Iterable<Table> = ['users']): Promise<void> {
  const client = new pg.Client(t)
  await client.connect()
  try {
    for (const table of new Set(tables)) {
      if (table === 'users') await ensureUsers(client)
      else if (table === 'big') await ensureBig(client)
      else await ensureInsertTable(client)
    }
  } finally {
    await client.end()
  }
}
