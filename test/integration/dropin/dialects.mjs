// pgline's own dialects loaded with import: Kysely and Drizzle on a pgline Pool.
import { Kysely, sql } from 'kysely'
import { PglineDialect } from 'pgline/kysely'
import { drizzle } from 'pgline/drizzle'
import { pgTable, serial, text, bigint } from 'drizzle-orm/pg-core'
import { eq } from 'drizzle-orm'
import { Pool, UniqueViolation } from 'pgline'
import { createRequire } from 'node:module'

const { check } = createRequire(import.meta.url)('./scenarios.cjs')
const url = process.env.DATABASE_URL
const t = `desm_${process.pid}`
const db = new Kysely({ dialect: new PglineDialect({ pool: new Pool(url, { max: 4 }) }) })
await sql.raw(`create table ${t} (id serial primary key, name text unique, big int8)`).execute(db)
const row = await db.insertInto(t).values({ name: 'a', big: 9007199254740993n }).returningAll().executeTakeFirstOrThrow()
check(row.big === 9007199254740993n, 'kysely bigint', row)
const dup = await db.insertInto(t).values({ name: 'a' }).execute().catch((e) => e)
check(dup instanceof UniqueViolation, 'kysely UniqueViolation', String(dup))
let n = 0
for await (const _ of db.selectFrom(sql`generate_series(1, 100)`.as('g')).selectAll().stream(30)) n++
check(n === 100, 'kysely stream', n)
const pool = new Pool(url, { max: 4 })
const table = pgTable(t, { id: serial('id').primaryKey(), name: text('name'), big: bigint('big', { mode: 'bigint' }) })
const dz = drizzle(pool)
const [got] = await dz.select().from(table).where(eq(table.name, 'a'))
check(got.big === 9007199254740993n, 'drizzle bigint', got)
await dz.transaction(async (tx) => {
  await tx.insert(table).values({ name: 'b' })
})
check((await dz.select().from(table)).length === 2, 'drizzle tx')
await sql.raw(`drop table ${t}`).execute(db)
await db.destroy()
await pool.close()
console.log('dialects esm: done')
