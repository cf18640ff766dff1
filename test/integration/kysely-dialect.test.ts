// pgline/kysely: Kysely on pgline's own API (no node-postgres layer), against
// the real server: schema, CRUD with returning, joins, transactions with
// savepoints, typed errors, streaming, the introspector and the Migrator,
// 100 operations at once, and what each column type comes back as next to
// Kysely on node-postgres.
import { Kysely, Migrator, PostgresDialect, sql, type Generated, type Migration } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Pool, UniqueViolation, type PgInterval } from '../../src/index.js'
import { PglineDialect } from '../../src/kysely/index.js'
import { optionsFor, uniqueName } from './_util.js'

interface UserTable {
  id: Generated<number>
  name: string
  big: bigint | null
  price: string | null
  at: Date | null
  local: Date | null
  day: string | null
  doc: unknown
  tags: string[] | null
  bin: Buffer | null
  mood: string | null
}
interface PostTable {
  id: Generated<bigint>
  user_id: number
  title: string
}

const T = uniqueName('kyd')
const users = `${T}_users`
const posts = `${T}_posts`
const mood = `${T}_mood`
type DB = Record<string, UserTable | PostTable>

const url = (): string => {
  const o = optionsFor('scram')
  return `postgres://${o.user}:${encodeURIComponent(o.password as string)}@${o.host}:${o.port}/${o.database}`
}

let pool: Pool
let db: Kysely<any>

beforeAll(async () => {
  pool = new Pool(url(), { max: 10 })
  db = new Kysely<DB>({ dialect: new PglineDialect({ pool }) })
  await sql.raw(`create type ${mood} as enum ('happy', 'sad')`).execute(db)
  await db.schema
    .createTable(users)
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('big', 'int8')
    .addColumn('price', 'numeric')
    .addColumn('at', 'timestamptz')
    .addColumn('local', 'timestamp')
    .addColumn('day', 'date')
    .addColumn('doc', 'jsonb')
    .addColumn('tags', sql`text[]`)
    .addColumn('bin', 'bytea')
    .addColumn('mood', sql.raw(mood))
    .execute()
  await db.schema
    .createTable(posts)
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.references(`${users}.id`).onDelete('cascade'))
    .addColumn('title', 'text', (c) => c.notNull())
    .execute()
})

afterAll(async () => {
  await sql.raw(`drop table if exists ${posts}, ${users}; drop type if exists ${mood}`).execute(db)
  await db.destroy()
  expect(pool.closed).toBe(true)
})

const AT = new Date('2024-02-29T13:14:15.123Z')

describe('PglineDialect', () => {
  it('inserts with returning, joins, updates and deletes, with pgline types', async () => {
    const alice = await db
      .insertInto(users)
      .values({ name: 'alice', big: 9007199254740993n, price: '12.50', at: AT, local: new Date('2024-02-29T13:14:15Z'), day: '2024-02-29', doc: JSON.stringify({ a: [1, null] }), tags: ['x', 'y z'], bin: Buffer.from([0, 255]), mood: 'happy' })
      .returningAll()
      .executeTakeFirstOrThrow()
    expect(alice).toMatchObject({ name: 'alice', big: 9007199254740993n, price: '12.50', at: AT, day: '2024-02-29', doc: { a: [1, null] }, tags: ['x', 'y z'], bin: Buffer.from([0, 255]), mood: 'happy' })
    const post = await db.insertInto(posts).values({ user_id: alice.id, title: 'hello' }).returning(['id']).executeTakeFirstOrThrow()
    expect(typeof post.id).toBe('bigint')
    const joined = await db.selectFrom(posts).innerJoin(users, `${users}.id`, `${posts}.user_id`).select([`${users}.name`, `${posts}.title`]).execute()
    expect(joined).toEqual([{ name: 'alice', title: 'hello' }])
    const upd = await db.updateTable(users).set({ price: '13' }).where('name', '=', 'alice').executeTakeFirst()
    expect(upd.numUpdatedRows).toBe(1n)
    const del = await db.deleteFrom(posts).where('title', '=', 'hello').executeTakeFirst()
    expect(del.numDeletedRows).toBe(1n)
    const nulls = await db.insertInto(users).values({ name: 'nulls' }).returningAll().executeTakeFirstOrThrow()
    expect(nulls).toMatchObject({ big: null, price: null, at: null, local: null, day: null, doc: null, tags: null, bin: null, mood: null })
  })

  it("a unique violation is pgline's UniqueViolation, with the constraint named", async () => {
    const err = await db.insertInto(users).values({ name: 'alice' }).execute().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UniqueViolation)
    expect((err as UniqueViolation).constraint).toBe(`${users}_name_key`)
  })

  it('transactions: committed, rolled back by an error, with an isolation level, and savepoints', async () => {
    await db.transaction().execute((tx) => tx.insertInto(users).values({ name: 'bob' }).execute())
    await expect(
      db.transaction().execute(async (tx) => {
        await tx.insertInto(users).values({ name: 'carol' }).execute()
        throw new Error('roll back')
      }),
    ).rejects.toThrow('roll back')
    const level = await db
      .transaction()
      .setIsolationLevel('serializable')
      .execute(async (tx) => (await sql<{ l: string }>`select current_setting('transaction_isolation') as l`.execute(tx)).rows[0]!.l)
    expect(level).toBe('serializable')

    const trx = await db.startTransaction().execute()
    await trx.insertInto(users).values({ name: 'dave' }).execute()
    const sp = await trx.savepoint('before_eve').execute()
    await sp.insertInto(users).values({ name: 'eve' }).execute()
    // A failing statement inside the savepoint, then back to it: the transaction goes on.
    await expect(sp.insertInto(users).values({ name: 'alice' }).execute()).rejects.toBeInstanceOf(UniqueViolation)
    const back = await sp.rollbackToSavepoint('before_eve').execute()
    await back.insertInto(users).values({ name: 'frank' }).execute()
    await back.commit().execute()

    const names = (await db.selectFrom(users).select('name').orderBy('name').execute()).map((r) => r.name)
    expect(names).toEqual(['alice', 'bob', 'dave', 'frank', 'nulls'])
  })

  it('a COMMIT after a failed statement reports the rollback, and the connection goes back to the pool', async () => {
    const one = new Kysely<any>({ dialect: new PglineDialect({ pool: new Pool(url(), { max: 1, acquireTimeout: 5000 }) }) })
    try {
      const trx = await one.startTransaction().execute()
      await trx.insertInto(users).values({ name: 'alice' }).execute().catch(() => undefined)
      await expect(trx.commit().execute()).rejects.toThrow(/rolled back/)
      // The only connection is free again (Kysely released it on the aborted-transaction mark).
      expect((await sql<{ x: number }>`select 1 as x`.execute(one)).rows).toEqual([{ x: 1 }])
    } finally {
      await one.destroy()
    }
  })

  it('streams in chunks through a portal, and breaking out leaves the pool whole', async () => {
    const got: number[] = []
    for await (const r of db.selectFrom(sql<{ g: number }>`generate_series(1, 2500)`.as('g')).selectAll().stream(300)) got.push((r as { g: number }).g)
    expect(got.length).toBe(2500)
    expect(got[2499]).toBe(2500)
    let n = 0
    for await (const _ of db.selectFrom(sql`generate_series(1, 100000)`.as('g')).selectAll().stream(50)) if (++n === 120) break
    expect(n).toBe(120)
    await expect(db.selectFrom(users).selectAll().stream(0)[Symbol.asyncIterator]().next()).rejects.toThrow(/chunkSize/)
    expect((await sql<{ one: number }>`select 1 as one`.execute(db)).rows).toEqual([{ one: 1 }])
  })

  it('a script of several statements without parameters runs, as on node-postgres', async () => {
    const r = await sql.raw<{ n: number }>(`create temp table ${T}_s (n int); insert into ${T}_s values (1), (2); select count(*)::int as n from ${T}_s`).execute(db)
    expect(r.rows).toEqual([{ n: 2 }])
  })

  it('100 operations at once through the pool', async () => {
    const got = await Promise.all(Array.from({ length: 100 }, (_, i) => sql<{ v: number }>`select ${i}::int as v`.execute(db)))
    expect(got.map((r) => r.rows[0]!.v)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(pool.stats().size).toBeLessThanOrEqual(10)
  })

  it('the introspector sees the tables, and the Migrator runs migrations up and down', async () => {
    const tables = await db.introspection.getTables()
    const u = tables.find((t) => t.name === users)
    expect(u?.columns.map((c) => c.name)).toContain('mood')
    const table = `${T}_migrated`
    const migrations: Record<string, Migration> = {
      '001': { up: (k) => k.schema.createTable(table).addColumn('id', 'serial', (c) => c.primaryKey()).execute(), down: (k) => k.schema.dropTable(table).execute() },
      '002': { up: (k) => k.schema.alterTable(table).addColumn('note', 'text').execute(), down: (k) => k.schema.alterTable(table).dropColumn('note').execute() },
    }
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, migrationTableName: `${T}_kysely_migration`, migrationLockTableName: `${T}_kysely_lock` })
    const up = await migrator.migrateToLatest()
    expect(up.error).toBeUndefined()
    expect(up.results?.map((r) => r.status)).toEqual(['Success', 'Success'])
    await db.insertInto(table).values({ note: 'n' }).execute()
    const down = await migrator.migrateTo('001')
    expect(down.error).toBeUndefined()
    expect((await db.introspection.getTables()).find((t) => t.name === table)?.columns.map((c) => c.name)).toEqual(['id'])
    await migrator.migrateTo(Symbol.for('migration-none') as never).catch(() => undefined)
    await sql.raw(`drop table if exists ${table}, ${T}_kysely_migration, ${T}_kysely_lock`).execute(db)
  })
})

describe('what each type comes back as: PglineDialect next to Kysely on node-postgres', () => {
  // Differences are pgline's own types: int8 as bigint (exact), timestamp
  // (without zone) as the UTC instant of its wall-clock time, date as its
  // 'YYYY-MM-DD' text (no zone to invent), interval as PgInterval.
  const SQL = `select 9007199254740993::int8 as int8, 12.50::numeric as numeric, '2024-02-29 13:14:15.123+00'::timestamptz as timestamptz,
    '2024-02-29 13:14:15'::timestamp as timestamp, '2024-02-29'::date as date, '{"a":1}'::jsonb as jsonb, array['x','y z'] as text_array,
    '\\x00ff'::bytea as bytea, '1 day 02:00'::interval as interval, 7::int4 as int4, 1.5::float8 as float8, true as bool,
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid as uuid`
  it('round trip table', async () => {
    const onPg = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url(), max: 1 }) }) })
    try {
      await sql`set timezone = 'UTC'`.execute(onPg)
      const ours = (await sql.raw<Record<string, unknown>>(SQL).execute(db)).rows[0]!
      const theirs = (await sql.raw<Record<string, unknown>>(SQL).execute(onPg)).rows[0]!
      expect(ours.int8).toBe(9007199254740993n)
      expect(theirs.int8).toBe('9007199254740993')
      expect(ours.timestamp).toEqual(new Date('2024-02-29T13:14:15Z'))
      expect(theirs.timestamp).toEqual(new Date(2024, 1, 29, 13, 14, 15))
      expect(ours.date).toBe('2024-02-29')
      expect(theirs.date).toEqual(new Date(2024, 1, 29))
      expect((ours.interval as PgInterval).days).toBe(1)
      expect(theirs.interval).toMatchObject({ days: 1, hours: 2 })
      // The same on both.
      for (const k of ['numeric', 'timestamptz', 'jsonb', 'text_array', 'bytea', 'int4', 'float8', 'bool', 'uuid']) expect(ours[k], k).toEqual(theirs[k])
    } finally {
      await onPg.destroy()
    }
  })
})
