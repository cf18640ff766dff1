// The tables the workloads use, loaded once per run before anything is timed:
//   users     100k rows (point-select, in-flight-100, sync-point-select)
//   big       1M rows   (seed-lookups, server-cursor)
//   bench_ins empty      (pipeline-insert; truncated before every sample)
//   wide      100k rows of 12 mixed columns (wide-read)
//   copy_src  1M rows (int4, text, float8, timestamptz) (copy-out; 100k with --quick)
//   copy_t    empty, the same columns (copy-in; truncated before every timed COPY)
import pg from 'pg'
import type { BenchTarget } from './drivers.js'

export const USERS = 100_000
export const BIG = 1_000_000
export const WIDE = 100_000

export type Table = 'users' | 'big' | 'bench_ins' | 'wide' | 'copy_src' | 'copy_t'

/** The sizes of the bulk workloads: full, or shrunk for `--quick`. */
export function sizes(quick: boolean): { wideRead: number; stream: number; cursor: number; copy: number } {
  return quick
    ? { wideRead: 20_000, stream: 300_000, cursor: 200_000, copy: 100_000 }
    : { wideRead: WIDE, stream: 5_000_000, cursor: BIG, copy: 1_000_000 }
}

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

/**
 * 12 mixed columns, one of each kind a driver decodes differently: int4,
 * int8, float8, numeric, text, bool, timestamptz, date, uuid, jsonb, int4[]
 * and a second, longer text. No NULLs.
 */
async function ensureWide(client: pg.Client): Promise<void> {
  const n = await rowCount(client, 'wide')
  if (n === WIDE) return
  if (n !== undefined) await client.query('drop table wide')
  await client.query(`create table wide (
    id int4 primary key, n8 int8 not null, f8 float8 not null, num numeric not null, name text not null,
    flag bool not null, ts timestamptz not null, day date not null, uid uuid not null, doc jsonb not null,
    ints int4[] not null, note text not null)`)
  await client.query(
    `insert into wide select
       g, g::int8 * 1000003, g * 1.25, round(g * 3.14159, 4), 'name ' || g,
       g % 2 = 0, timestamptz '2024-01-01' + g * interval '1 second', date '2020-01-01' + g % 2000, md5(g::text)::uuid,
       jsonb_build_object('id', g, 'name', 'n' || g, 'tags', jsonb_build_array('a', 'b'), 'score', g * 0.5),
       array[g, g + 1, g + 2], repeat('x', 20 + g % 40)
     from generate_series(1, ${WIDE}) g`,
  )
  await client.query('vacuum analyze wide')
}

/** The COPY rows in SQL; bench/copy-data.ts makes the same ones in JS. */
export const COPY_COLUMNS = '(a int4, b text, c float8, d timestamptz)'
export const COPY_EPOCH = Date.UTC(2024, 0, 1)

async function ensureCopySource(client: pg.Client, rows: number): Promise<void> {
  const n = await rowCount(client, 'copy_src')
  if (n === rows) return
  if (n !== undefined) await client.query('drop table copy_src')
  await client.query(`create table copy_src ${COPY_COLUMNS}`)
  await client.query(
    `insert into copy_src select g, 'name ' || g, g * 0.25, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'
     from generate_series(1, ${rows}) g`,
  )
  await client.query('vacuum analyze copy_src')
}

async function ensureCopyTarget(client: pg.Client): Promise<void> {
  await client.query(`create table if not exists copy_t ${COPY_COLUMNS} with (autovacuum_enabled = false)`)
  await client.query('truncate copy_t')
}

/** Creates (or checks) the tables the chosen workloads need. */
export async function loadData(t: BenchTarget, tables: Iterable<Table> = ['users'], quick = false): Promise<void> {
  const client = new pg.Client(t)
  await client.connect()
  try {
    for (const table of new Set(tables)) {
      if (table === 'users') await ensureUsers(client)
      else if (table === 'big') await ensureBig(client)
      else if (table === 'wide') await ensureWide(client)
      else if (table === 'copy_src') await ensureCopySource(client, sizes(quick).copy)
      else if (table === 'copy_t') await ensureCopyTarget(client)
      else await ensureInsertTable(client)
    }
  } finally {
    await client.end()
  }
}
