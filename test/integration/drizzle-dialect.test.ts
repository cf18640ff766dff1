// pgline/drizzle: drizzle-orm's pg-core on pgline's own API, against the real
// server: a schema of every awkward column type, CRUD with returning, joins
// and relational queries, nested transactions (savepoints), pgline's typed
// errors under Drizzle's, migrate() from a migrations folder, 100 operations
// at once, and each column type next to Drizzle on node-postgres.
import { eq, relations, sql } from 'drizzle-orm'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { bigint, bigserial, customType, date, integer, interval, jsonb, numeric, pgEnum, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, defaultTypeMap, Pool, TypeMap, UniqueViolation, type Connection } from '../../src/index.js'
import { drizzle, migrate } from '../../src/drizzle/index.js'
import { optionsFor, uniqueName } from './_util.js'

const T = uniqueName('dzd')
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' })
const mood = pgEnum(`${T}_mood`, ['happy', 'sad'])
const users = pgTable(`${T}_users`, {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
  big: bigint('big', { mode: 'bigint' }),
  small: bigint('small', { mode: 'number' }),
  price: numeric('price'),
  at: timestamp('at', { withTimezone: true, mode: 'date' }),
  atText: timestamp('at_text', { withTimezone: true, mode: 'string' }),
  local: timestamp('local', { mode: 'date' }),
  day: date('day', { mode: 'string' }),
  dayDate: date('day_date', { mode: 'date' }),
  span: interval('span'),
  doc: jsonb('doc').$type<{ a: (number | null)[] }>(),
  tags: text('tags').array(),
  bin: bytea('bin'),
  mood: mood('mood'),
})
const posts = pgTable(`${T}_posts`, {
  id: bigserial('id', { mode: 'bigint' }).primaryKey(),
  userId: integer('user_id').references(() => users.id),
  title: text('title').notNull(),
})
const usersRelations = relations(users, ({ many }) => ({ posts: many(posts) }))
const postsRelations = relations(posts, ({ one }) => ({ user: one(users, { fields: [posts.userId], references: [users.id] }) }))
const schema = { users, posts, usersRelations, postsRelations }

const DDL = `create type ${T}_mood as enum ('happy', 'sad');
create table ${T}_users (id serial primary key, name text not null unique, big int8, small int8, price numeric, at timestamptz, at_text timestamptz,
  local timestamp, day date, day_date date, span interval, doc jsonb, tags text[], bin bytea, mood ${T}_mood);
create table ${T}_posts (id bigserial primary key, user_id int references ${T}_users(id), title text not null)`

const cfg = () => {
  const o = optionsFor('scram')
  return { host: o.host!, port: Number(o.port), user: o.user!, password: o.password as string, database: o.database! }
}

let pool: Pool
let db: ReturnType<typeof drizzle<typeof schema>>
const AT = new Date('2024-02-29T13:14:15.123Z')

beforeAll(async () => {
  pool = new Pool(cfg(), { max: 10 })
  db = drizzle(pool, { schema })
  await pool.connection((c) => c.simpleQuery(DDL))
})

afterAll(async () => {
  await pool.connection((c) => c.simpleQuery(`drop table if exists ${T}_posts, ${T}_users; drop type if exists ${T}_mood`))
  await pool.close()
})

describe('pgline/drizzle', () => {
  it("inserts with returning: each column as Drizzle's mode asks", async () => {
    const [alice] = await db
      .insert(users)
      .values({ name: 'alice', big: 9007199254740993n, small: 42, price: '12.50', at: AT, atText: '2024-02-29 13:14:15.123+00', local: new Date('2024-02-29T13:14:15Z'), day: '2024-02-29', dayDate: new Date('2024-02-29T00:00:00Z'), span: '1 day 02:00:00', doc: { a: [1, null] }, tags: ['x', 'y z'], bin: Buffer.from([0, 255]), mood: 'happy' })
      .returning()
    expect(alice).toMatchObject({ name: 'alice', big: 9007199254740993n, small: 42, price: '12.50', at: AT, local: new Date('2024-02-29T13:14:15Z'), day: '2024-02-29', doc: { a: [1, null] }, tags: ['x', 'y z'], bin: Buffer.from([0, 255]), mood: 'happy' })
    expect(alice!.atText).toMatch(/^2024-02-29 13:14:15\.123\+00/)
    expect(alice!.dayDate).toEqual(new Date('2024-02-29T00:00:00Z'))
    expect(alice!.span).toBe('1 day 02:00:00')
    const [nulls] = await db.insert(users).values({ name: 'nulls' }).returning()
    expect(nulls).toMatchObject({ big: null, small: null, price: null, at: null, day: null, span: null, doc: null, tags: null, bin: null, mood: null })
  })

  it('joins, relational queries, updates and deletes', async () => {
    const [alice] = await db.select().from(users).where(eq(users.name, 'alice'))
    const [post] = await db.insert(posts).values({ userId: alice!.id, title: 'hello' }).returning({ id: posts.id })
    expect(typeof post!.id).toBe('bigint')
    const joined = await db.select({ name: users.name, title: posts.title }).from(posts).innerJoin(users, eq(users.id, posts.userId))
    expect(joined).toEqual([{ name: 'alice', title: 'hello' }])
    const withPosts = await db.query.users.findFirst({ where: eq(users.name, 'alice'), with: { posts: true } })
    expect(withPosts?.posts.map((p) => p.title)).toEqual(['hello'])
    expect(withPosts?.at).toEqual(AT)
    const updated = await db.update(users).set({ price: '13' }).where(eq(users.name, 'alice')).returning({ price: users.price })
    expect(updated).toEqual([{ price: '13' }])
    const r = await db.delete(posts).where(eq(posts.title, 'hello'))
    expect(r.rowCount).toBe(1)
  })

  it("a unique violation is pgline's UniqueViolation, as the cause of Drizzle's error", async () => {
    const err = (await db
      .insert(users)
      .values({ name: 'alice' })
      .catch((e: unknown) => e)) as { cause?: unknown }
    expect(err.cause).toBeInstanceOf(UniqueViolation)
  })

  it('transactions: committed, rolled back, nested as savepoints, with an isolation level', async () => {
    await db.transaction(async (tx) => {
      await tx.insert(users).values({ name: 'bob' })
      await tx
        .transaction(async (inner) => {
          await inner.insert(users).values({ name: 'never' })
          inner.rollback()
        })
        .catch(() => undefined)
      await tx.transaction(async (inner) => {
        await inner.insert(users).values({ name: 'carol' })
      })
    })
    await expect(
      db.transaction(async (tx) => {
        await tx.insert(users).values({ name: 'dave' })
        throw new Error('roll back')
      }),
    ).rejects.toThrow('roll back')
    const level = await db.transaction(async (tx) => (await tx.execute(sql`select current_setting('transaction_isolation') as l`)).rows[0]!.l, { isolationLevel: 'serializable' })
    expect(level).toBe('serializable')
    const names = (await db.select({ n: users.name }).from(users).orderBy(users.name)).map((r) => r.n)
    expect(names).toEqual(['alice', 'bob', 'carol', 'nulls'])
  })

  it('on one Connection too, and 100 operations at once through the pool', async () => {
    const conn: Connection = await connect(cfg())
    try {
      const one = drizzle(conn, { schema })
      const rows = await one.select({ n: users.name }).from(users).where(eq(users.name, 'alice'))
      expect(rows).toEqual([{ n: 'alice' }])
      await one.transaction(async (tx) => {
        await tx.update(users).set({ small: 7 }).where(eq(users.name, 'alice'))
      })
      expect((await one.select({ s: users.small }).from(users).where(eq(users.name, 'alice')))[0]!.s).toBe(7)
    } finally {
      await conn.close()
    }
    const got = await Promise.all(Array.from({ length: 100 }, (_, i) => db.execute(sql`select ${i}::int as v`)))
    expect(got.map((r) => r.rows[0]!.v)).toEqual(Array.from({ length: 100 }, (_, i) => i))
  })

  it("a Pool's own type map is what Drizzle's values are decoded with", async () => {
    const types = new TypeMap(defaultTypeMap)
    // numeric as a JavaScript number (a text-only decoder: results of numeric then come as text).
    types.registerDecoder(1700, 0, (buf, start, end) => Number(buf.toString('latin1', start, end)))
    const own = new Pool({ ...cfg(), types }, { max: 1 })
    try {
      expect(own.types).toBe(types)
      const r = await drizzle(own, { schema }).execute(sql`select 12.50::numeric as p, 7::int4 as n`)
      expect(r.rows).toEqual([{ p: 12.5, n: 7 }])
    } finally {
      await own.close()
    }
  })

  it('$count(), and a script of several statements through execute()', async () => {
    expect(await db.$count(users)).toBe(4)
    const r = await db.execute(sql.raw(`create temp table ${T}_s (n int); insert into ${T}_s values (1), (2); select count(*)::int as n from ${T}_s`))
    expect(r.rows).toEqual([{ n: 2 }])
  })

  it('migrate() runs a migrations folder once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgline-drizzle-'))
    try {
      await mkdir(join(dir, 'meta'))
      const table = `${T}_migrated`
      await writeFile(join(dir, '0000_first.sql'), `create table ${table} (id serial primary key);\n--> statement-breakpoint\nalter table ${table} add column note text;`)
      await writeFile(join(dir, 'meta', '_journal.json'), JSON.stringify({ version: '7', dialect: 'postgresql', entries: [{ idx: 0, version: '7', when: 1700000000000, tag: '0000_first', breakpoints: true }] }))
      const config = { migrationsFolder: dir, migrationsTable: `${T}_migrations` }
      await migrate(db, config)
      await migrate(db, config)
      const cols = await db.execute(sql`select column_name from information_schema.columns where table_name = ${table} order by ordinal_position`)
      expect(cols.rows.map((r) => r.column_name)).toEqual(['id', 'note'])
      await pool.connection((c) => c.simpleQuery(`drop table ${table}; drop table drizzle.${T}_migrations`))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('each column type: pgline/drizzle next to Drizzle on node-postgres', () => {
  it('the same values, except int8 in bigint mode read exactly either way and rows as Drizzle maps them', async () => {
    const onPg = new pg.Pool({ ...cfg(), max: 1 })
    try {
      const theirs = drizzlePg(onPg, { schema })
      const a = await db.select().from(users).orderBy(users.name)
      const b = await theirs.select().from(users).orderBy(users.name)
      // Every column decodes to the same JS value through both drivers.
      expect(a).toEqual(b)
      const ra = await db.query.users.findMany({ with: { posts: true }, orderBy: users.name })
      const rb = await theirs.query.users.findMany({ with: { posts: true }, orderBy: users.name })
      expect(ra).toEqual(rb)
    } finally {
      await onPg.end()
    }
  })
})
