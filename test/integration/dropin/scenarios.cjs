'use strict'
// What an application does with each ORM, on the drop-in pg: every ORM here
// loads `pg` by name itself (no driver option), so what runs underneath is
// pgline. orms.cjs loads the ORMs with require(), orms.mjs with import; both
// hand them to these functions. Each: schema, an insert with returning and
// the awkward types (int8, numeric, timestamptz, jsonb, text[], bytea, NULL),
// a join, an update, a delete, a committed and a rolled-back transaction, a
// unique violation the ORM recognises, streaming where it streams, and 50
// queries at once through its pool.

const AT = new Date('2024-02-29T13:14:15.123Z')
const BIN = Buffer.from([0, 1, 2, 255])

function check(cond, what, v) {
  if (!cond) throw new Error(`${what}: ${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))}`)
}

const DDL = (t) => [
  `drop table if exists ${t}_posts, ${t}_users`,
  `create table ${t}_users (id serial primary key, name text not null unique, n int8, price numeric, at timestamptz, doc jsonb, tags text[], bin bytea)`,
  `create table ${t}_posts (id serial primary key, user_id int references ${t}_users(id), title text)`,
]

async function fifty(run) {
  const got = await Promise.all(Array.from({ length: 50 }, (_, i) => run(i)))
  check(got.every((v, i) => Number(v) === i), '50 at once', got.slice(0, 5))
}

async function kysely({ Kysely, PostgresDialect, sql, pg, Cursor }, url, t) {
  const db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 5 }), cursor: Cursor }) })
  try {
    for (const s of DDL(t)) await sql.raw(s).execute(db)
    const users = `${t}_users`
    const posts = `${t}_posts`
    const alice = await db
      .insertInto(users)
      .values({ name: 'alice', n: '9007199254740993', price: '12.50', at: AT, doc: JSON.stringify({ a: [1, null] }), tags: ['x', 'y z'], bin: BIN })
      .returningAll()
      .executeTakeFirstOrThrow()
    check(alice.n === '9007199254740993' && alice.price === '12.50' && alice.at.getTime() === AT.getTime(), 'kysely types', alice)
    check(JSON.stringify(alice.doc) === '{"a":[1,null]}' && alice.tags.join('|') === 'x|y z' && BIN.equals(alice.bin), 'kysely json/array/bytea', alice)
    await db.insertInto(posts).values({ user_id: alice.id, title: 'hello' }).execute()
    const joined = await db.selectFrom(posts).innerJoin(users, `${users}.id`, `${posts}.user_id`).select([`${users}.name`, `${posts}.title`]).execute()
    check(joined.length === 1 && joined[0].name === 'alice', 'kysely join', joined)
    const upd = await db.updateTable(users).set({ price: '13' }).where('name', '=', 'alice').executeTakeFirst()
    check(upd.numUpdatedRows === 1n, 'kysely update', upd)
    await db.transaction().execute((tx) => tx.insertInto(users).values({ name: 'bob' }).execute())
    const rolled = await db
      .transaction()
      .execute(async (tx) => {
        await tx.insertInto(users).values({ name: 'carol' }).execute()
        throw new Error('roll back')
      })
      .catch((e) => e.message)
    check(rolled === 'roll back', 'kysely rollback', rolled)
    const names = (await db.selectFrom(users).select('name').orderBy('name').execute()).map((r) => r.name)
    check(names.join() === 'alice,bob', 'kysely after rollback', names)
    const nulls = await db.selectFrom(users).selectAll().where('name', '=', 'bob').executeTakeFirstOrThrow()
    check(nulls.n === null && nulls.doc === null && nulls.bin === null, 'kysely NULL', nulls)
    const dup = await db.insertInto(users).values({ name: 'alice' }).execute().catch((e) => e)
    check(dup.code === '23505', 'kysely unique', String(dup))
    // Kysely streams through the Cursor given as its option: pg-cursor on the drop-in.
    const streamed = []
    for await (const r of db.selectFrom(sql`generate_series(1, 250)`.as('g')).selectAll().stream(40)) streamed.push(r.g)
    check(streamed.length === 250 && streamed[249] === 250, 'kysely stream', streamed.length)
    const del = await db.deleteFrom(posts).executeTakeFirst()
    check(del.numDeletedRows === 1n, 'kysely delete', del)
    await fifty(async (i) => (await sql`select ${i}::int as v`.execute(db)).rows[0].v)
    await sql.raw(`drop table ${posts}, ${users}`).execute(db)
  } finally {
    await db.destroy()
  }
}

async function drizzle({ drizzle, sql, eq, pgTable, serial, text, bigint, numeric, timestamp, jsonb }, url, t) {
  // The URL form: Drizzle makes its own pg.Pool, from the pg it imports.
  const db = drizzle(url)
  try {
    for (const s of DDL(t)) await db.execute(sql.raw(s))
    const users = pgTable(`${t}_users`, {
      id: serial('id').primaryKey(),
      name: text('name').notNull(),
      n: bigint('n', { mode: 'bigint' }),
      price: numeric('price'),
      at: timestamp('at', { withTimezone: true, mode: 'date' }),
      doc: jsonb('doc'),
      tags: text('tags').array(),
    })
    const [alice] = await db.insert(users).values({ name: 'alice', n: 9007199254740993n, price: '12.50', at: AT, doc: { a: [1, null] }, tags: ['x', 'y z'] }).returning()
    check(alice.n === 9007199254740993n && alice.price === '12.50' && alice.at.getTime() === AT.getTime(), 'drizzle types', alice)
    check(JSON.stringify(alice.doc) === '{"a":[1,null]}' && alice.tags.join('|') === 'x|y z', 'drizzle json/array', alice)
    await db.execute(sql`insert into ${sql.raw(`${t}_posts`)} (user_id, title) values (${alice.id}, 'hello')`)
    const joined = await db.execute(sql.raw(`select u.name, p.title from ${t}_posts p join ${t}_users u on u.id = p.user_id`))
    check(joined.rows.length === 1 && joined.rows[0].name === 'alice', 'drizzle join', joined.rows)
    await db.update(users).set({ price: '13' }).where(eq(users.name, 'alice'))
    await db.transaction(async (tx) => {
      await tx.insert(users).values({ name: 'bob' })
    })
    const rolled = await db
      .transaction(async (tx) => {
        await tx.insert(users).values({ name: 'carol' })
        throw new Error('roll back')
      })
      .catch((e) => e.message)
    check(rolled === 'roll back', 'drizzle rollback', rolled)
    const names = (await db.select({ name: users.name }).from(users).orderBy(users.name)).map((r) => r.name)
    check(names.join() === 'alice,bob', 'drizzle after rollback', names)
    const [bob] = await db.select().from(users).where(eq(users.name, 'bob'))
    check(bob.n === null && bob.doc === null && bob.price === null, 'drizzle NULL', bob)
    const dup = await db.insert(users).values({ name: 'alice' }).catch((e) => e.cause ?? e)
    check(dup.code === '23505', 'drizzle unique', String(dup))
    await db.execute(sql.raw(`delete from ${t}_posts`))
    await db.delete(users).where(eq(users.name, 'bob'))
    await fifty(async (i) => (await db.execute(sql`select ${i}::int as v`)).rows[0].v)
    await db.execute(sql.raw(`drop table ${t}_posts, ${t}_users`))
  } finally {
    await db.$client.end()
  }
}

async function knex({ knex: factory }, url, t) {
  const db = factory({ client: 'pg', connection: url, pool: { min: 0, max: 5 } })
  try {
    for (const s of DDL(t)) await db.raw(s)
    const users = `${t}_users`
    const posts = `${t}_posts`
    const [alice] = await db(users).insert({ name: 'alice', n: '9007199254740993', price: '12.50', at: AT, doc: { a: [1, null] }, tags: ['x', 'y z'], bin: BIN }).returning('*')
    check(alice.n === '9007199254740993' && alice.price === '12.50' && alice.at.getTime() === AT.getTime(), 'knex types', alice)
    check(JSON.stringify(alice.doc) === '{"a":[1,null]}' && alice.tags.join('|') === 'x|y z' && BIN.equals(alice.bin), 'knex json/array/bytea', alice)
    await db(posts).insert({ user_id: alice.id, title: 'hello' })
    const joined = await db(posts).join(users, `${users}.id`, `${posts}.user_id`).select(`${users}.name`, `${posts}.title`)
    check(joined.length === 1 && joined[0].name === 'alice', 'knex join', joined)
    check((await db(users).where({ name: 'alice' }).update({ price: '13' })) === 1, 'knex update')
    await db.transaction((trx) => trx(users).insert({ name: 'bob' }))
    const rolled = await db
      .transaction(async (trx) => {
        await trx(users).insert({ name: 'carol' })
        throw new Error('roll back')
      })
      .catch((e) => e.message)
    check(rolled === 'roll back', 'knex rollback', rolled)
    const names = (await db(users).select('name').orderBy('name')).map((r) => r.name)
    check(names.join() === 'alice,bob', 'knex after rollback', names)
    const dup = await db(users).insert({ name: 'alice' }).catch((e) => e)
    check(dup.code === '23505', 'knex unique', String(dup))
    // Knex streams through pg-query-stream, which drives the connection itself.
    const streamed = []
    for await (const r of db.select(db.raw('g')).from(db.raw('generate_series(1, 300) g')).stream({ highWaterMark: 50 })) streamed.push(r.g)
    check(streamed.length === 300 && streamed[299] === 300, 'knex stream', streamed.length)
    check((await db(posts).del()) === 1, 'knex delete')
    await fifty(async (i) => (await db.raw('select ?::int as v', [i])).rows[0].v)
    await db.raw(`drop table ${posts}, ${users}`)
  } finally {
    await db.destroy()
  }
}

async function typeorm({ DataSource, EntitySchema }, url, t) {
  const users = `${t}_users`
  const posts = `${t}_posts`
  const User = new EntitySchema({
    name: users,
    columns: {
      id: { type: 'int', primary: true, generated: 'increment' },
      name: { type: 'text', unique: true },
      n: { type: 'bigint', nullable: true },
      price: { type: 'numeric', nullable: true },
      at: { type: 'timestamptz', nullable: true },
      doc: { type: 'jsonb', nullable: true },
      tags: { type: 'text', array: true, nullable: true },
      bin: { type: 'bytea', nullable: true },
    },
    relations: { posts: { type: 'one-to-many', target: posts, inverseSide: 'user' } },
  })
  const Post = new EntitySchema({
    name: posts,
    columns: { id: { type: 'int', primary: true, generated: 'increment' }, title: { type: 'text' } },
    relations: { user: { type: 'many-to-one', target: users, joinColumn: true } },
  })
  // No driver option: TypeORM loads pg by name.
  const ds = new DataSource({ type: 'postgres', url, entities: [User, Post], synchronize: true, dropSchema: false, poolSize: 5 })
  await ds.initialize()
  try {
    const repo = ds.getRepository(User)
    const saved = await repo.save({ name: 'alice', n: '9007199254740993', price: '12.50', at: AT, doc: { a: [1, null] }, tags: ['x', 'y z'], bin: BIN })
    const alice = await repo.findOneByOrFail({ id: saved.id })
    check(alice.n === '9007199254740993' && alice.price === '12.50' && alice.at.getTime() === AT.getTime(), 'typeorm types', alice)
    check(JSON.stringify(alice.doc) === '{"a":[1,null]}' && alice.tags.join('|') === 'x|y z' && BIN.equals(alice.bin), 'typeorm json/array/bytea', alice)
    await ds.getRepository(Post).save({ title: 'hello', user: alice })
    const withPosts = await repo.findOneOrFail({ where: { id: alice.id }, relations: { posts: true } })
    check(withPosts.posts.length === 1 && withPosts.posts[0].title === 'hello', 'typeorm join', withPosts)
    check((await repo.update({ name: 'alice' }, { price: '13' })).affected === 1, 'typeorm update')
    await ds.transaction((m) => m.getRepository(User).save({ name: 'bob' }))
    const rolled = await ds
      .transaction(async (m) => {
        await m.getRepository(User).save({ name: 'carol' })
        throw new Error('roll back')
      })
      .catch((e) => e.message)
    check(rolled === 'roll back', 'typeorm rollback', rolled)
    const names = (await repo.find({ order: { name: 'ASC' } })).map((u) => u.name)
    check(names.join() === 'alice,bob', 'typeorm after rollback', names)
    const bob = await repo.findOneByOrFail({ name: 'bob' })
    check(bob.n === null && bob.doc === null && bob.bin === null, 'typeorm NULL', bob)
    const dup = await repo.insert({ name: 'alice' }).catch((e) => e.driverError ?? e)
    check(dup.code === '23505', 'typeorm unique', String(dup))
    check((await repo.delete({ name: 'bob' })).affected === 1, 'typeorm delete')
    // TypeORM streams through pg-query-stream too.
    await repo.insert(Array.from({ length: 119 }, (_, i) => ({ name: `bulk${i}` })))
    const stream = await repo.createQueryBuilder('u').select('u.name', 'name').stream()
    let streamed = 0
    for await (const _ of stream) streamed++
    check(streamed === 120, 'typeorm stream', streamed)
    await fifty(async (i) => (await ds.query('select $1::int as v', [i]))[0].v)
  } finally {
    await ds.query(`drop table if exists "${posts}", "${users}" cascade`)
    await ds.destroy()
  }
}

async function sequelize({ Sequelize, DataTypes, UniqueConstraintError }, url, t) {
  // No dialectModule: Sequelize loads pg by name.
  const seq = new Sequelize(url, { dialect: 'postgres', logging: false, pool: { max: 5 } })
  const User = seq.define(`${t}_users`, {
    name: { type: DataTypes.TEXT, unique: true, allowNull: false },
    n: DataTypes.BIGINT,
    price: DataTypes.DECIMAL,
    at: DataTypes.DATE,
    doc: DataTypes.JSONB,
    tags: DataTypes.ARRAY(DataTypes.TEXT),
    bin: DataTypes.BLOB,
  })
  const Post = seq.define(`${t}_posts`, { title: DataTypes.TEXT })
  User.hasMany(Post, { foreignKey: 'ownerId' })
  Post.belongsTo(User, { as: 'owner', foreignKey: 'ownerId' })
  try {
    await seq.sync({ force: true })
    const created = await User.create({ name: 'alice', n: '9007199254740993', price: '12.50', at: AT, doc: { a: [1, null] }, tags: ['x', 'y z'], bin: BIN })
    const alice = (await User.findByPk(created.get('id'))).get({ plain: true })
    check(alice.n === '9007199254740993' && alice.price === '12.50' && alice.at.getTime() === AT.getTime(), 'sequelize types', alice)
    check(JSON.stringify(alice.doc) === '{"a":[1,null]}' && alice.tags.join('|') === 'x|y z' && BIN.equals(alice.bin), 'sequelize json/array/bytea', alice)
    await Post.create({ title: 'hello', ownerId: alice.id })
    const joined = await Post.findAll({ include: { model: User, as: 'owner' } })
    check(joined.length === 1 && joined[0].get('owner').get('name') === 'alice', 'sequelize join')
    const [count] = await User.update({ price: '13' }, { where: { name: 'alice' } })
    check(count === 1, 'sequelize update', count)
    await seq.transaction((tx) => User.create({ name: 'bob' }, { transaction: tx }))
    const rolled = await seq
      .transaction(async (tx) => {
        await User.create({ name: 'carol' }, { transaction: tx })
        throw new Error('roll back')
      })
      .catch((e) => e.message)
    check(rolled === 'roll back', 'sequelize rollback', rolled)
    const names = (await User.findAll({ order: [['name', 'ASC']] })).map((u) => u.get('name'))
    check(names.join() === 'alice,bob', 'sequelize after rollback', names)
    const bob = (await User.findOne({ where: { name: 'bob' } })).get({ plain: true })
    check(bob.n === null && bob.doc === null && bob.bin === null, 'sequelize NULL', bob)
    const dup = await User.create({ name: 'alice' }).catch((e) => e)
    check(dup instanceof UniqueConstraintError, 'sequelize unique', String(dup))
    check((await Post.destroy({ where: {} })) === 1, 'sequelize delete')
    await fifty(async (i) => (await seq.query('select $1::int as v', { bind: [i], plain: true })).v)
  } finally {
    await Post.drop().catch(() => undefined)
    await User.drop().catch(() => undefined)
    await seq.close()
  }
}

async function mikroorm({ MikroORM, EntitySchema, types, UniqueConstraintViolationException, PostgreSqlDriver }, url, t) {
  const User = new EntitySchema({
    name: `${t}User`,
    tableName: `${t}_users`,
    properties: {
      id: { type: types.integer, primary: true, autoincrement: true },
      name: { type: types.text, unique: true },
      n: { type: types.bigint, nullable: true },
      price: { type: types.decimal, columnType: 'numeric', nullable: true },
      at: { type: types.datetime, columnType: 'timestamptz', nullable: true },
      doc: { type: types.json, nullable: true },
      tags: { type: types.array, columnType: 'text[]', nullable: true },
      bin: { type: types.blob, nullable: true },
      posts: { kind: '1:m', entity: `${t}Post`, mappedBy: 'user' },
    },
  })
  const Post = new EntitySchema({
    name: `${t}Post`,
    tableName: `${t}_posts`,
    properties: {
      id: { type: types.integer, primary: true, autoincrement: true },
      title: { type: types.text },
      user: { kind: 'm:1', entity: `${t}User` },
    },
  })
  // MikroORM's PostgreSqlDriver loads pg by name (through Knex).
  const orm = await MikroORM.init({ driver: PostgreSqlDriver, clientUrl: url, entities: [User, Post], pool: { min: 0, max: 5 }, allowGlobalContext: false })
  try {
    await orm.schema.dropSchema()
    await orm.schema.createSchema()
    const em = orm.em.fork()
    em.create(User, { name: 'alice', n: '9007199254740993', price: '12.50', at: AT, doc: { a: [1, null] }, tags: ['x', 'y z'], bin: BIN })
    await em.flush()
    em.clear()
    const alice = await em.findOneOrFail(User, { name: 'alice' })
    // MikroORM's bigint type gives a bigint of the int8's text.
    check(alice.n === 9007199254740993n && alice.price === '12.50' && alice.at.getTime() === AT.getTime(), 'mikro-orm types', alice)
    check(JSON.stringify(alice.doc) === '{"a":[1,null]}' && alice.tags.join('|') === 'x|y z' && BIN.equals(alice.bin), 'mikro-orm json/array/bytea', alice)
    em.create(Post, { title: 'hello', user: alice })
    await em.flush()
    em.clear()
    const joined = await em.find(Post, {}, { populate: ['user'] })
    check(joined.length === 1 && joined[0].user.name === 'alice', 'mikro-orm join', joined.length)
    const again = await em.findOneOrFail(User, { name: 'alice' })
    again.price = '13'
    await em.flush()
    await em.transactional(async (tem) => {
      tem.create(User, { name: 'bob' })
    })
    const rolled = await orm.em
      .fork()
      .transactional(async (tem) => {
        tem.create(User, { name: 'carol' })
        await tem.flush()
        throw new Error('roll back')
      })
      .catch((e) => e.message)
    check(rolled === 'roll back', 'mikro-orm rollback', rolled)
    const names = (await orm.em.fork().find(User, {}, { orderBy: { name: 'asc' } })).map((u) => u.name)
    check(names.join() === 'alice,bob', 'mikro-orm after rollback', names)
    const bob = await orm.em.fork().findOneOrFail(User, { name: 'bob' })
    check(bob.n === null && bob.doc === null && bob.bin === null, 'mikro-orm NULL', bob)
    const dup = await orm.em.fork().insert(User, { name: 'alice' }).catch((e) => e)
    check(dup instanceof UniqueConstraintViolationException, 'mikro-orm unique', String(dup))
    check((await orm.em.fork().nativeDelete(Post, {})) === 1, 'mikro-orm delete')
    const conn = orm.em.getConnection()
    await fifty(async (i) => (await conn.execute('select ?::int as v', [i]))[0].v)
    await orm.schema.dropSchema()
  } finally {
    await orm.close(true)
  }
}

/** pgline's own dialects (pgline/kysely, pgline/drizzle) on pgline Pools: pgline types, typed errors, a stream, a transaction. */
async function dialects({ Kysely, sql, PglineDialect, drizzle, pgTable, serial, text, bigint, eq, Pool, UniqueViolation, PrismaPgline }, url, t) {
  // pgline/prisma's adapter on its own (Prisma's engine calls it so): Prisma's value forms and column types.
  const adapter = await new PrismaPgline(url).connect()
  const r = await adapter.queryRaw({ sql: "select $1::int8 as n, '2024-02-29 13:14:15.5+00'::timestamptz as at", args: ['9007199254740993'], argTypes: [{ scalarType: 'bigint', arity: 'scalar' }] })
  check(r.columnTypes.join() === '1,10' && r.rows[0][0] === '9007199254740993' && r.rows[0][1] === '2024-02-29T13:14:15.500+00:00', 'prisma adapter', r)
  await adapter.dispose()
  const db = new Kysely({ dialect: new PglineDialect({ pool: new Pool(url, { max: 4 }) }) })
  const pool = new Pool(url, { max: 4 })
  try {
    await sql.raw(`create table ${t} (id serial primary key, name text unique, big int8)`).execute(db)
    const row = await db.insertInto(t).values({ name: 'a', big: 9007199254740993n }).returningAll().executeTakeFirstOrThrow()
    check(row.big === 9007199254740993n, 'kysely bigint', row)
    const dup = await db.insertInto(t).values({ name: 'a' }).execute().catch((e) => e)
    check(dup instanceof UniqueViolation, 'kysely UniqueViolation', String(dup))
    let n = 0
    for await (const _ of db.selectFrom(sql`generate_series(1, 100)`.as('g')).selectAll().stream(30)) n++
    check(n === 100, 'kysely stream', n)
    const table = pgTable(t, { id: serial('id').primaryKey(), name: text('name'), big: bigint('big', { mode: 'bigint' }) })
    const dz = drizzle(pool)
    const [got] = await dz.select().from(table).where(eq(table.name, 'a'))
    check(got.big === 9007199254740993n, 'drizzle bigint', got)
    await dz.transaction(async (tx) => {
      await tx.insert(table).values({ name: 'b' })
    })
    check((await dz.select().from(table)).length === 2, 'drizzle tx')
    await sql.raw(`drop table ${t}`).execute(db)
  } finally {
    await db.destroy()
    await pool.close()
  }
}

module.exports = { kysely, drizzle, knex, typeorm, sequelize, mikroorm, dialects, check }
