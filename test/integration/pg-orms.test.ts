// ORMs and query builders that speak node-postgres, run on pgline/pg: each
// does what an application does with it (schema, inserts with returning,
// joins, updates, deletes, a committed and a rolled-back transaction, a
// unique violation it recognises, round trips of the awkward types, 50
// concurrent queries through its pool) against the real server.
import { sql as drizzleSql, eq } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import { bigint, jsonb, numeric, pgTable, serial, text, timestamp, integer } from 'drizzle-orm/pg-core'
import knexFactory from 'knex'
import { Kysely, Migrator, PostgresDialect, sql, type Migration } from 'kysely'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import * as pgf from '../../src/pg/index.js'
import { optionsFor, uniqueName } from './_util.js'

const cfg = () => {
  const o = optionsFor('scram')
  return { host: o.host, port: Number(o.port), user: o.user, password: o.password as string, database: o.database }
}

const AT = new Date('2024-02-29T13:14:15.123Z')

describe('Kysely (PostgresDialect) on pgline/pg', () => {
  it('schema, CRUD with returning, a join, transactions, a unique violation, types, 50 concurrent queries, introspection and migrations', async () => {
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pgf.Pool({ ...cfg(), max: 5 }), cursor: pgf.Cursor }) })
    const users = uniqueName('ky_users')
    const posts = uniqueName('ky_posts')
    try {
      await db.schema
        .createTable(users)
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('n', 'int8')
        .addColumn('price', 'numeric')
        .addColumn('at', 'timestamptz')
        .addColumn('doc', 'jsonb')
        .addColumn('tags', sql`text[]`)
        .addColumn('bin', 'bytea')
        .execute()
      await db.schema.createTable(posts).addColumn('id', 'serial', (c) => c.primaryKey()).addColumn('user_id', 'integer', (c) => c.references(`${users}.id`)).addColumn('title', 'text').execute()

      const alice = await db
        .insertInto(users)
        .values({ name: 'alice', n: '9007199254740993', price: '12.50', at: AT, doc: JSON.stringify({ a: [1, null] }), tags: ['x', 'y z'], bin: Buffer.from([1, 2, 3]) })
        .returningAll()
        .executeTakeFirstOrThrow()
      expect(alice).toMatchObject({ name: 'alice', n: '9007199254740993', price: '12.50', at: AT, doc: { a: [1, null] }, tags: ['x', 'y z'], bin: Buffer.from([1, 2, 3]) })
      const bob = await db.insertInto(users).values({ name: 'bob' }).returning('id').executeTakeFirstOrThrow()
      await db.insertInto(posts).values([{ user_id: alice.id, title: 'hello' }, { user_id: bob.id, title: 'hi' }]).execute()

      const joined = await db.selectFrom(posts).innerJoin(users, `${users}.id`, `${posts}.user_id`).select([`${users}.name`, `${posts}.title`]).orderBy(`${posts}.id`).execute()
      expect(joined).toEqual([{ name: 'alice', title: 'hello' }, { name: 'bob', title: 'hi' }])

      const updated = await db.updateTable(users).set({ price: '13' }).where('name', '=', 'bob').executeTakeFirst()
      expect(updated.numUpdatedRows).toBe(1n)
      const nulls = await db.selectFrom(users).select(['n', 'price', 'at', 'doc', 'tags', 'bin']).where('name', '=', 'bob').executeTakeFirstOrThrow()
      expect(nulls).toEqual({ n: null, price: '13', at: null, doc: null, tags: null, bin: null })

      await db.transaction().execute(async (tx) => {
        await tx.insertInto(users).values({ name: 'carol' }).execute()
      })
      await expect(
        db.transaction().execute(async (tx) => {
          await tx.insertInto(users).values({ name: 'dave' }).execute()
          throw new Error('roll back')
        }),
      ).rejects.toThrow('roll back')
      const names = await db.selectFrom(users).select('name').orderBy('name').execute()
      expect(names.map((r) => r.name)).toEqual(['alice', 'bob', 'carol'])

      const dup = await db.insertInto(users).values({ name: 'alice' }).execute().catch((e: unknown) => e)
      expect(dup).toBeInstanceOf(pgf.DatabaseError)
      expect(dup).toMatchObject({ code: '23505', constraint: `${users}_name_key` })

      const deleted = await db.deleteFrom(posts).where('title', '=', 'hi').executeTakeFirst()
      expect(deleted.numDeletedRows).toBe(1n)

      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => sql<{ v: number }>`select ${i}::int as v`.execute(db)))
      expect(many.map((r) => r.rows[0]!.v)).toEqual(Array.from({ length: 50 }, (_, i) => i))

      const streamed: number[] = []
      // Kysely streams through the Cursor class given as its `cursor` option.
      for await (const r of db.selectFrom(sql<{ g: number }>`generate_series(1, 25)`.as('g')).selectAll().stream(10)) {
        streamed.push((r as { g: number }).g)
      }
      expect(streamed).toEqual(Array.from({ length: 25 }, (_, i) => i + 1))

      const tables = await db.introspection.getTables()
      expect(tables.find((t) => t.name === users)?.columns.map((c) => c.name)).toEqual(['id', 'name', 'n', 'price', 'at', 'doc', 'tags', 'bin'])

      const migrated = uniqueName('ky_migrated')
      const migrations: Record<string, Migration> = {
        '001_create': { up: async (k) => void (await k.schema.createTable(migrated).addColumn('id', 'integer').execute()), down: async (k) => void (await k.schema.dropTable(migrated).execute()) },
      }
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, migrationTableName: uniqueName('ky_migrations'), migrationLockTableName: uniqueName('ky_lock') })
      const { error, results } = await migrator.migrateToLatest()
      expect(error).toBeUndefined()
      expect(results?.map((r) => r.status)).toEqual(['Success'])
      await db.schema.dropTable(migrated).execute()
    } finally {
      await db.schema.dropTable(posts).ifExists().execute()
      await db.schema.dropTable(users).ifExists().execute()
      await db.destroy()
    }
  })
})

describe('Drizzle (drizzle-orm/node-postgres) on pgline/pg', () => {
  it('schema, CRUD with returning, a join, transactions (nested as savepoints), a unique violation, mode options, 50 concurrent queries', async () => {
    const pool = new pgf.Pool({ ...cfg(), max: 5 })
    const db = drizzle({ client: pool as never })
    const name = uniqueName('dz_items')
    const items = pgTable(name, {
      id: serial('id').primaryKey(),
      name: text('name').notNull().unique(),
      big: bigint('big', { mode: 'bigint' }),
      small: bigint('small', { mode: 'number' }),
      price: numeric('price'),
      at: timestamp('at', { withTimezone: true, mode: 'date' }),
      atText: timestamp('at_text', { withTimezone: true, mode: 'string' }),
      doc: jsonb('doc').$type<{ a: number[] }>(),
      ref: integer('ref'),
    })
    try {
      await db.execute(drizzleSql.raw(`create table ${name} (id serial primary key, name text not null unique, big int8, small int8, price numeric, at timestamptz, at_text timestamptz, doc jsonb, ref int)`))
      const [row] = await db.insert(items).values({ name: 'a', big: 9007199254740993n, small: 42, price: '1.25', at: AT, atText: '2024-02-29 13:14:15.123+00', doc: { a: [1, 2] } }).returning()
      expect(row).toMatchObject({ name: 'a', big: 9007199254740993n, small: 42, price: '1.25', at: AT, doc: { a: [1, 2] } })
      expect(row!.atText).toMatch(/^2024-02-29 13:14:15\.123\+00/)
      await db.insert(items).values({ name: 'b', ref: row!.id })

      const self = await db.select({ child: items.name }).from(items).where(eq(items.ref, row!.id))
      expect(self).toEqual([{ child: 'b' }])
      await db.update(items).set({ price: '2' }).where(eq(items.name, 'b'))
      expect((await db.select({ p: items.price }).from(items).where(eq(items.name, 'b')))[0]!.p).toBe('2')

      await db.transaction(async (tx) => {
        await tx.insert(items).values({ name: 'c' })
        await tx
          .transaction(async (inner) => {
            await inner.insert(items).values({ name: 'never' })
            inner.rollback()
          })
          .catch(() => undefined)
      })
      await expect(
        db.transaction(async (tx) => {
          await tx.insert(items).values({ name: 'd' })
          throw new Error('roll back')
        }),
      ).rejects.toThrow('roll back')
      expect((await db.select({ n: items.name }).from(items).orderBy(items.name)).map((r) => r.n)).toEqual(['a', 'b', 'c'])

      const dup = await db.insert(items).values({ name: 'a' }).catch((e: { cause?: unknown }) => e.cause ?? e)
      expect(dup).toMatchObject({ code: '23505' })

      await db.delete(items).where(eq(items.name, 'c'))
      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => db.execute(drizzleSql`select ${i}::int as v`)))
      expect(many.map((r) => (r.rows[0] as { v: number }).v)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    } finally {
      await pool.query(`drop table if exists ${name}`)
      await pool.end()
    }
  })
})

describe('Knex (client pg, driver pgline/pg) on pgline/pg', () => {
  it('schema, CRUD with returning, a join, transactions, a unique violation, 50 concurrent queries', async () => {
    const knex = knexFactory({ client: 'pg', connection: cfg(), pool: { min: 0, max: 5 } })
    // Knex loads its driver with _driver(); pointing it at the facade is the whole switch.
    ;(knex.client as unknown as { driver: unknown }).driver = pgf
    const users = uniqueName('kx_users')
    const posts = uniqueName('kx_posts')
    try {
      await knex.schema.createTable(users, (t) => {
        t.increments('id')
        t.text('name').notNullable().unique()
        t.bigInteger('n')
        t.jsonb('doc')
        t.timestamp('at', { useTz: true })
      })
      await knex.schema.createTable(posts, (t) => {
        t.increments('id')
        t.integer('user_id').references('id').inTable(users)
        t.text('title')
      })
      const [alice] = await knex(users).insert({ name: 'alice', n: '9007199254740993', doc: { a: 1 }, at: AT }).returning('*')
      expect(alice).toMatchObject({ name: 'alice', n: '9007199254740993', doc: { a: 1 }, at: AT })
      await knex(posts).insert({ user_id: alice.id, title: 'hello' })
      const joined = await knex(posts).join(users, `${users}.id`, `${posts}.user_id`).select(`${users}.name`, `${posts}.title`)
      expect(joined).toEqual([{ name: 'alice', title: 'hello' }])
      expect(await knex(users).where({ name: 'alice' }).update({ n: 1 })).toBe(1)
      await knex.transaction(async (trx) => {
        await trx(users).insert({ name: 'bob' })
      })
      await expect(
        knex.transaction(async (trx) => {
          await trx(users).insert({ name: 'carol' })
          throw new Error('roll back')
        }),
      ).rejects.toThrow('roll back')
      expect((await knex(users).select('name').orderBy('name')).map((r) => r.name)).toEqual(['alice', 'bob'])
      const dup = await knex(users).insert({ name: 'alice' }).catch((e: unknown) => e)
      expect(dup).toMatchObject({ code: '23505' })
      expect(await knex(posts).where({ title: 'hello' }).del()).toBe(1)
      // Knex streams through pg-query-stream, which drives the connection itself.
      const streamed: number[] = []
      for await (const r of knex.select(knex.raw('g')).from(knex.raw('generate_series(1, 2500) g')).stream({ highWaterMark: 100 })) streamed.push((r as unknown as { g: number }).g)
      expect(streamed.length).toBe(2500)
      expect(streamed[2499]).toBe(2500)
      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => knex.raw('select ?::int as v', [i])))
      expect(many.map((r) => r.rows[0].v)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    } finally {
      await knex.schema.dropTableIfExists(posts)
      await knex.schema.dropTableIfExists(users)
      await knex.destroy()
    }
  })
})

describe('the README example for ORMs', () => {
  it('examples/pg-kysely.mjs (the README block, verbatim) prints 42 and exits by itself', async () => {
    const o = optionsFor('scram')
    const url = `postgres://${o.user}:${encodeURIComponent(o.password as string)}@${o.host}:${o.port}/${o.database}`
    const root = fileURLToPath(new URL('../../', import.meta.url))
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, ['examples/pg-kysely.mjs'], { cwd: root, env: { ...process.env, DATABASE_URL: url }, timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
      ),
    )
    expect(out, out.stderr).toMatchObject({ code: 0, stdout: '42\n' })
  })
})

describe('TypeORM (driver: pgline/pg) on pgline/pg', () => {
  it('synchronize, repository CRUD, a relation join, transactions, a unique violation, types, 50 concurrent queries', async () => {
    const { DataSource, EntitySchema } = await import('typeorm')
    const users = uniqueName('to_users')
    const posts = uniqueName('to_posts')
    const User = new EntitySchema<{ id: number; name: string; n: string | null; price: string | null; at: Date | null; doc: unknown; posts?: unknown[] }>({
      name: users,
      columns: {
        id: { type: 'int', primary: true, generated: 'increment' },
        name: { type: 'text', unique: true },
        n: { type: 'bigint', nullable: true },
        price: { type: 'numeric', nullable: true },
        at: { type: 'timestamptz', nullable: true },
        doc: { type: 'jsonb', nullable: true },
      },
      relations: { posts: { type: 'one-to-many', target: posts, inverseSide: 'user' } },
    })
    const Post = new EntitySchema<{ id: number; title: string; user?: unknown }>({
      name: posts,
      columns: { id: { type: 'int', primary: true, generated: 'increment' }, title: { type: 'text' } },
      relations: { user: { type: 'many-to-one', target: users, joinColumn: true } },
    })
    const o = cfg()
    const ds = new DataSource({ type: 'postgres', driver: pgf, host: o.host, port: o.port, username: o.user, password: o.password, database: o.database, entities: [User, Post], synchronize: true, poolSize: 5 })
    await ds.initialize()
    try {
      const repo = ds.getRepository(User)
      const alice = await repo.save({ name: 'alice', n: '9007199254740993', price: '12.50', at: AT, doc: { a: [1, null] } })
      expect(await repo.findOneByOrFail({ id: alice.id })).toMatchObject({ name: 'alice', n: '9007199254740993', price: '12.50', at: AT, doc: { a: [1, null] } })
      await ds.getRepository(Post).save({ title: 'hello', user: alice })
      const withPosts = await repo.findOneOrFail({ where: { id: alice.id }, relations: { posts: true } })
      expect(withPosts.posts).toMatchObject([{ title: 'hello' }])
      expect((await repo.update({ name: 'alice' }, { price: '13' })).affected).toBe(1)

      await ds.transaction(async (m) => {
        await m.getRepository(User).save({ name: 'bob' })
      })
      await expect(
        ds.transaction(async (m) => {
          await m.getRepository(User).save({ name: 'carol' })
          throw new Error('roll back')
        }),
      ).rejects.toThrow('roll back')
      expect((await repo.find({ order: { name: 'ASC' } })).map((u) => u.name)).toEqual(['alice', 'bob'])

      const dup = await repo.insert({ name: 'alice' }).catch((e: { driverError?: unknown }) => e.driverError ?? e)
      expect(dup).toMatchObject({ code: '23505' })
      expect((await repo.delete({ name: 'bob' })).affected).toBe(1)

      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => ds.query('select $1::int as v', [i])))
      expect(many.map((r: { v: number }[]) => r[0]!.v)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    } finally {
      await ds.query(`drop table if exists "${posts}", "${users}" cascade`)
      await ds.destroy()
    }
  })
})

describe('Sequelize (dialectModule: pgline/pg) on pgline/pg', () => {
  it('sync, model CRUD, an association join, transactions, a unique violation, types, 50 concurrent queries', async () => {
    const { Sequelize, DataTypes, UniqueConstraintError } = await import('sequelize')
    const o = cfg()
    const seq = new Sequelize(o.database!, o.user!, o.password, { dialect: 'postgres', dialectModule: pgf, host: o.host, port: o.port, logging: false, pool: { max: 5 } })
    const User = seq.define(uniqueName('sq_users'), {
      name: { type: DataTypes.TEXT, unique: true, allowNull: false },
      n: DataTypes.BIGINT,
      price: DataTypes.DECIMAL,
      at: DataTypes.DATE,
      doc: DataTypes.JSONB,
    })
    const Post = seq.define(uniqueName('sq_posts'), { title: DataTypes.TEXT })
    User.hasMany(Post, { foreignKey: 'ownerId' })
    Post.belongsTo(User, { as: 'owner', foreignKey: 'ownerId' })
    try {
      await seq.sync()
      const alice = await User.create({ name: 'alice', n: '9007199254740993', price: '12.50', at: AT, doc: { a: [1, null] } })
      expect(alice.get({ plain: true })).toMatchObject({ name: 'alice', n: '9007199254740993', at: AT, doc: { a: [1, null] } })
      await Post.create({ title: 'hello', ownerId: alice.get('id') })
      const joined = await Post.findAll({ include: { model: User, as: 'owner' } })
      expect(joined.map((p) => [p.get('title'), (p.get('owner') as { get(k: string): unknown }).get('name')])).toEqual([['hello', 'alice']])
      await seq.transaction(async (t) => {
        await User.create({ name: 'bob' }, { transaction: t })
      })
      await expect(
        seq.transaction(async (t) => {
          await User.create({ name: 'carol' }, { transaction: t })
          throw new Error('roll back')
        }),
      ).rejects.toThrow('roll back')
      expect((await User.findAll({ order: [['name', 'ASC']] })).map((u) => u.get('name'))).toEqual(['alice', 'bob'])
      await expect(User.create({ name: 'alice' })).rejects.toBeInstanceOf(UniqueConstraintError)
      expect(await User.destroy({ where: { name: 'bob' } })).toBe(1)
      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => seq.query('select $1::int as v', { bind: [i], plain: true })))
      expect(many.map((r) => (r as { v: number }).v)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    } finally {
      await Post.drop()
      await User.drop()
      await seq.close()
    }
  })
})
