// The data every workload reads: users (100k rows).
import pg from 'pg'
import type { BenchTarget } from './drivers.js'

export const USERS = 100_000

export async function loadData(t: BenchTarget): Promise<void> {
  const client = new pg.Client(t)
  await client.connect()
  try {
    const have = await client.query("select count(*)::int as n from pg_class where relname = 'users'")
    if (have.rows[0].n > 0) {
      const n = await client.query('select count(*)::int as n from users')
      if (n.rows[0].n === USERS) return
      await client.query('drop table users')
    }
    await client.query(`create table users (id int primary key, name text not null, email text not null, created_at timestamptz not null)`)
    await client.query(
      `insert into users select g, 'user ' || g, 'user' || g || '@example.com', timestamptz '2024-01-01' + g * interval '1 minute'
       from generate_series(1, ${USERS}) g`,
    )
    await client.query('vacuum analyze users')
  } finally {
    await client.end()
  }
}
