// The prepared-statement cache against a real server: reuse, invalidation
// after schema changes and DISCARD ALL, and typed parameters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FeatureNotSupported, type Connection } from '../../src/index.js'
import { connectAs, uniqueName } from './_util.js'

let conn: Connection

beforeAll(async () => {
  conn = await connectAs('scram')
})
afterAll(async () => {
  await conn?.close()
})

const ours = async (c: Connection): Promise<number> =>
  (await c.query<{ n: number }>("select count(*)::int as n from pg_prepared_statements where name like 'pgline_%'", [], { prepare: false })).rows[0]!.n

describe('statement cache', () => {
  it('prepares a statement once and reuses it', async () => {
    const c = await connectAs('scram')
    for (let i = 0; i < 5; i++) expect((await c.query('select $1::int * 3 as v', [i])).rows[0]!.v).toBe(i * 3)
    expect(await ours(c)).toBe(1)
    await c.close()
  })

  it('re-prepares transparently after the result type changed', async () => {
    const t = uniqueName('alter')
    await conn.query(`create table ${t} (a int)`)
    await conn.query(`insert into ${t} values (1)`)
    const sql = `select * from ${t}`
    expect((await conn.query(sql)).rows).toEqual([{ a: 1 }])
    await conn.query(`alter table ${t} add column b text default 'x'`)
    expect((await conn.query(sql)).rows).toEqual([{ a: 1, b: 'x' }])
    await conn.query(`drop table ${t}`)
  })

  it('gives the error inside a transaction instead of retrying', async () => {
    const t = uniqueName('alter_tx')
    await conn.query(`create table ${t} (a int)`)
    const sql = `select * from ${t}`
    await conn.query(sql)
    await conn.query(`alter table ${t} add column b int`)
    await conn.query('begin')
    const err = await conn.query(sql).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(FeatureNotSupported)
    expect(conn.transactionStatus).toBe('E')
    await conn.query('rollback')
    // Outside the transaction the statement is prepared anew.
    expect((await conn.query(sql)).fields.map((f) => f.name)).toEqual(['a', 'b'])
    await conn.query(`drop table ${t}`)
  })

  it('recovers after DISCARD ALL and DEALLOCATE ALL', async () => {
    const c = await connectAs('scram')
    await c.query('select $1::int as v', [1])
    await c.simpleQuery('discard all')
    expect((await c.query('select $1::int as v', [2])).rows[0]!.v).toBe(2)
    await c.query('select $1::text as v', ['a'])
    await c.query('deallocate all', [], { prepare: false })
    expect((await c.query('select $1::text as v', ['b'])).rows[0]!.v).toBe('b')
    // A statement dropped behind our back by name is also re-prepared.
    const name = (await c.query<{ name: string }>("select name from pg_prepared_statements where name like 'pgline_%' limit 1", [], { prepare: false })).rows[0]!.name
    await c.query(`deallocate ${name}`, [], { prepare: false })
    expect((await c.query('select $1::text as v', ['c'])).rows[0]!.v).toBe('c')
    await c.close()
  })

  it('keeps call order when a new statement has to be described first', async () => {
    const t = uniqueName('order')
    await conn.query(`create temp table ${t} (i int)`)
    const calls = Array.from({ length: 30 }, (_, i) =>
      i % 3 === 0 ? conn.query(`insert into ${t} values ($1)`, [i]) : conn.query(`insert into ${t} select $1::int where ${i % 3} > 0`, [i]),
    )
    await Promise.all(calls)
    const r = await conn.query<{ i: number }>(`select i from ${t}`)
    // Heap order of a fresh temp table is insertion order.
    expect(r.rows.map((x) => x.i)).toEqual(Array.from({ length: 30 }, (_, i) => i))
  })

  it('refuses a parameter that does not fit the described type before sending', async () => {
    const err = await conn.query('select $1::int4 + 1 as v', ['not a number']).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    expect((await conn.query('select 1 as ok')).rows[0]!.ok).toBe(1)
  })
})

describe('explicit statements', () => {
  it('describes a statement without running it', async () => {
    const t = uniqueName('desc')
    await conn.query(`create temp table ${t} (id int8, name text)`)
    const d = await conn.describe(`select id, name from ${t} where id = $1 and name <> $2`)
    expect(d.paramTypes).toEqual([20, 25])
    expect(d.fields!.map((f) => [f.name, f.typeOid])).toEqual([
      ['id', 20],
      ['name', 25],
    ])
    expect((await conn.describe(`insert into ${t} values ($1, $2)`)).fields).toBeNull()
    await expect(conn.describe('select * from nowhere_at_all')).rejects.toMatchObject({ code: '42P01' })
  })

  it('prepares, executes with typed parameters, and closes', async () => {
    const ps = await conn.prepare('select $1::int4 + $2::int4 as sum')
    expect(ps.paramTypes).toEqual([23, 23])
    expect(ps.fields!.map((f) => f.name)).toEqual(['sum'])
    for (let i = 0; i < 3; i++) expect((await ps.execute([i, 10])).rows[0]!.sum).toBe(i + 10)
    const listed = await conn.query('select count(*)::int as n from pg_prepared_statements where name = $1', [ps.name])
    expect(listed.rows[0]!.n).toBe(1)
    await ps.close()
    const after = await conn.query('select count(*)::int as n from pg_prepared_statements where name = $1', [ps.name])
    expect(after.rows[0]!.n).toBe(0)
    await expect(ps.execute([1, 2])).rejects.toThrow(/closed/)
  })

  it('runs executeMany on the connection', async () => {
    const t = uniqueName('many')
    await conn.query(`create temp table ${t} (a int, b text)`)
    const n = await conn.executeMany(`insert into ${t} values ($1, $2)`, [
      [1, 'a'],
      [2, 'b'],
      [3, null],
    ])
    expect(n).toBe(3)
    expect((await conn.query(`select * from ${t} order by a`)).rows).toEqual([
      { a: 1, b: 'a' },
      { a: 2, b: 'b' },
      { a: 3, b: null },
    ])
  })
})
