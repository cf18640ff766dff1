// pgline/prisma at the driver-adapter interface, against the real server and
// side by side with @prisma/adapter-pg on node-postgres: what Prisma's query
// engine receives (column types and value forms) for every column type it
// supports, a migration script applied as Prisma Migrate applies one,
// transactions with isolation levels and savepoints, errors in Prisma's
// kinds, the shadow database made and dropped, and 100 queries at once.
// The whole client (PrismaClient on this adapter) runs in pg-dropin.test.ts.
import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Pool } from '../../src/index.js'
import { ColumnType, PrismaPgline, type ArgType, type SqlQuery } from '../../src/prisma/index.js'
import { optionsFor, uniqueName } from './_util.js'

const T = uniqueName('prz')
const cfg = (role: 'scram' | 'superuser' = 'scram') => {
  const o = optionsFor(role)
  return { host: o.host!, port: Number(o.port), user: o.user!, password: o.password as string, database: o.database! }
}

// A migration as `prisma migrate` writes one: several statements, a type, comments.
const MIGRATION = `-- CreateEnum
CREATE TYPE "${T}_mood" AS ENUM ('happy', 'sad');

-- CreateTable
CREATE TABLE "${T}_user" (
    "id" SERIAL NOT NULL,
    "email" TEXT NOT NULL,
    "n" BIGINT,
    "price" DECIMAL(65,30),
    "at" TIMESTAMPTZ(3),
    "local" TIMESTAMP(3),
    "day" DATE,
    "clock" TIME(3),
    "doc" JSONB,
    "tags" TEXT[],
    "nums" INTEGER[],
    "bin" BYTEA,
    "uid" UUID,
    "ok" BOOLEAN,
    "f4" REAL,
    "f8" DOUBLE PRECISION,
    "small" SMALLINT,
    "ch" CHAR(1),
    "mood" "${T}_mood",
    CONSTRAINT "${T}_user_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "${T}_user_email_key" ON "${T}_user"("email");
CREATE TABLE "${T}_post" ("id" BIGSERIAL PRIMARY KEY, "userId" INTEGER NOT NULL REFERENCES "${T}_user"("id"));
`

type Adapter = Awaited<ReturnType<PrismaPgline['connect']>>
const q = (sql: string, args: unknown[] = [], argTypes: ArgType[] = args.map(() => ({ scalarType: 'unknown', arity: 'scalar' }))): SqlQuery => ({ sql, args, argTypes })

let pglinePool: Pool
let ours: Adapter
let theirs: Awaited<ReturnType<PrismaPg['connect']>>

beforeAll(async () => {
  pglinePool = new Pool(cfg(), { max: 4 })
  ours = await new PrismaPgline(pglinePool).connect()
  theirs = await new PrismaPg({ ...cfg(), max: 4 }).connect()
  await ours.executeScript(MIGRATION)
})

afterAll(async () => {
  await ours?.executeScript(`drop table if exists "${T}_post", "${T}_user"; drop type if exists "${T}_mood"`)
  await theirs?.dispose()
  await ours?.dispose()
  await pglinePool?.close()
})

describe('pgline/prisma at the adapter interface', () => {
  it('the migration script ran: every statement of it, through the simple protocol', async () => {
    const r = await ours.queryRaw(q(`select count(*)::int from pg_class where relname in ('${T}_user', '${T}_post', '${T}_user_email_key')`))
    expect(r.rows).toEqual([[3]])
  })

  it("what Prisma's engine receives for each column type: the same as from @prisma/adapter-pg", async () => {
    await ours.executeRaw(
      q(
        `insert into "${T}_user" (email, n, price, at, local, day, clock, doc, tags, nums, bin, uid, ok, f4, f8, small, ch, mood)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
        ['alice@x', '9007199254740993', '12.5', '2024-02-29T13:14:15.123+00:00', '2024-02-29T13:14:15.123Z', '2024-02-29T00:00:00.000Z', '1970-01-01T13:14:15.123Z', '{"a":[1,null],"s":"é \\" \\\\"}', ['x', 'y z', null], [1, 2], new Uint8Array([0, 1, 255]), '6f1c2c6e-4b4e-4c8f-9b1e-2f6a8d3c0b7a', true, 1.5, 0.1, 7, 'c', 'happy'],
        [
          { scalarType: 'string', arity: 'scalar' },
          { scalarType: 'bigint', arity: 'scalar' },
          { scalarType: 'decimal', arity: 'scalar' },
          { scalarType: 'datetime', dbType: 'TIMESTAMPTZ', arity: 'scalar' },
          { scalarType: 'datetime', dbType: 'TIMESTAMP', arity: 'scalar' },
          { scalarType: 'datetime', dbType: 'DATE', arity: 'scalar' },
          { scalarType: 'datetime', dbType: 'TIME', arity: 'scalar' },
          { scalarType: 'json', arity: 'scalar' },
          { scalarType: 'string', arity: 'list' },
          { scalarType: 'int', arity: 'list' },
          { scalarType: 'bytes', arity: 'scalar' },
          { scalarType: 'uuid', arity: 'scalar' },
          { scalarType: 'boolean', arity: 'scalar' },
          { scalarType: 'float', arity: 'scalar' },
          { scalarType: 'float', arity: 'scalar' },
          { scalarType: 'int', arity: 'scalar' },
          { scalarType: 'string', arity: 'scalar' },
          { scalarType: 'enum', dbType: `${T}_mood`, arity: 'scalar' },
        ],
      ),
    )
    const sql = `select id, email, n, price, at, local, day, clock, doc, tags, nums, bin, uid, ok, f4, f8, small, ch, mood,
      mood::text as mood_text, array[mood] as moods, null::int8 as nothing from "${T}_user" where email = $1`
    const args = [q(sql, ['alice@x'], [{ scalarType: 'string', arity: 'scalar' }])] as const
    const mine = await ours.queryRaw(args[0])
    const pgs = await theirs.queryRaw(args[0] as never)
    expect(mine.columnNames).toEqual(pgs.columnNames)
    // Prisma 7's adapter-pg reads these arrays as text lists of unknown type
    // (it does not look up the enum's array OID); pgline reports the same.
    expect(mine.columnTypes).toEqual(pgs.columnTypes)
    const row = Object.fromEntries(mine.columnNames.map((n, i) => [n, [mine.rows[0]![i], pgs.rows[0]![i]]]))
    for (const [name, [a, b]] of Object.entries(row)) {
      // bytea: adapter-pg hands over a Buffer, pgline a Uint8Array view; Prisma copies either.
      if (name === 'bin') expect(Buffer.from(a as Uint8Array)).toEqual(Buffer.from(b as Uint8Array))
      else expect([name, a]).toEqual([name, b])
    }
    expect(mine.columnTypes[mine.columnNames.indexOf('n')]).toBe(ColumnType.Int64)
    expect(mine.columnTypes[mine.columnNames.indexOf('price')]).toBe(ColumnType.Numeric)
    expect(mine.columnTypes[mine.columnNames.indexOf('tags')]).toBe(ColumnType.TextArray)
  })

  it("errors come out in Prisma's kinds", async () => {
    const dup = await ours.executeRaw(q(`insert into "${T}_user" (email) values ('alice@x')`)).catch((e: unknown) => e)
    expect(dup).toMatchObject({ name: 'DriverAdapterError', cause: { kind: 'UniqueConstraintViolation', originalCode: '23505' } })
    const fk = await ours.executeRaw(q(`insert into "${T}_post" ("userId") values (424242)`)).catch((e: unknown) => e)
    expect(fk).toMatchObject({ cause: { kind: 'ForeignKeyConstraintViolation', originalCode: '23503' } })
    const nn = await ours.executeRaw(q(`insert into "${T}_user" (email) values (null)`)).catch((e: unknown) => e)
    expect(nn).toMatchObject({ cause: { kind: 'NullConstraintViolation' } })
    // The pool is unharmed.
    expect((await ours.queryRaw(q('select 1::int'))).rows).toEqual([[1]])
  })

  // Prisma's engine sends COMMIT and ROLLBACK as statements itself, then calls
  // commit() or rollback(), which give the connection back (as adapter-pg's do).
  it('transactions: isolation level, savepoints, commit and rollback', async () => {
    const tx = await ours.startTransaction('SERIALIZABLE')
    expect((await tx.queryRaw(q('show transaction_isolation'))).rows).toEqual([['serializable']])
    await tx.executeRaw(q(`insert into "${T}_user" (email) values ('bob@x')`))
    await tx.createSavepoint('s1')
    await tx.executeRaw(q(`insert into "${T}_user" (email) values ('carol@x')`))
    await tx.rollbackToSavepoint('s1')
    await tx.releaseSavepoint('s1')
    await tx.executeRaw(q('COMMIT'))
    await tx.commit()
    const after = await ours.queryRaw(q(`select email from "${T}_user" order by id`))
    expect(after.rows).toEqual([['alice@x'], ['bob@x']])
    const tx2 = await ours.startTransaction()
    await tx2.executeRaw(q(`delete from "${T}_user" where email = 'bob@x'`))
    await tx2.executeRaw(q('ROLLBACK'))
    await tx2.rollback()
    // An engine that gave the connection back inside its transaction: the pool rolls it back.
    const tx4 = await ours.startTransaction()
    await tx4.executeRaw(q(`delete from "${T}_user" where email = 'bob@x'`))
    await tx4.commit()
    expect((await ours.queryRaw(q(`select count(*)::int from "${T}_user"`))).rows).toEqual([[2]])
    // A transaction whose statement failed: the rollback still settles, and the connection goes back usable.
    const tx3 = await ours.startTransaction()
    await expect(tx3.executeRaw(q('select 1/0'))).rejects.toMatchObject({ name: 'DriverAdapterError' })
    await tx3.rollback()
    expect((await ours.queryRaw(q('select 2::int'))).rows).toEqual([[2]])
  })

  it('100 queries at once through the pool', async () => {
    const got = await Promise.all(Array.from({ length: 100 }, (_, i) => ours.queryRaw(q('select $1::int', [i], [{ scalarType: 'int', arity: 'scalar' }]))))
    expect(got.map((r) => r.rows[0]![0])).toEqual(Array.from({ length: 100 }, (_, i) => i))
  })

  it('the shadow database for `prisma migrate dev`: made, usable, dropped on dispose', async () => {
    // Making a database takes a role that may (the test's superuser).
    const factory = new PrismaPgline(cfg('superuser'))
    const shadow = await factory.connectToShadowDb()
    const name = (await shadow.queryRaw(q('select current_database()'))).rows[0]![0] as string
    expect(name).toMatch(/^prisma_migrate_shadow_db_/)
    await shadow.executeScript(MIGRATION)
    expect((await shadow.queryRaw(q(`select count(*)::int from "${T}_user"`))).rows).toEqual([[0]])
    await shadow.dispose()
    const left = await ours.queryRaw(q('select count(*)::int from pg_database where datname = $1', [name], [{ scalarType: 'string', arity: 'scalar' }]))
    expect(left.rows).toEqual([[0]])
    // A Pool has no settings to make another database's pool from: refused by name.
    await expect(new PrismaPgline(pglinePool).connectToShadowDb()).rejects.toThrow(/shadow database needs the connection settings/)
  })
})
