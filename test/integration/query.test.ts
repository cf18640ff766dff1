import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Connection } from '../../src/index.js'
import { connectAs, uniqueName } from './_util.js'

let conn: Connection

beforeAll(async () => {
  conn = await connectAs('scram')
})
afterAll(async () => {
  await conn?.close()
})

describe('query basics', () => {
  it('runs the README example', async () => {
    const r = await conn.query<{ n: number }>('select $1::int + 1 as n', [41])
    expect(r.rows[0]!.n).toBe(42)
    expect(r.command).toBe('SELECT')
    expect(r.rowCount).toBe(1)
    const a = await conn.query('select 1 as x, 2 as y', [], { rowMode: 'array' })
    expect(a.rows[0]).toEqual([1, 2])
  })

  it('builds row objects for any column names', async () => {
    const r = await conn.query(`select 1 as "a""b", 2 as "back\\slash", 3 as "new
line", 4 as "été", 5 as x, 6 as x, 7 as "constructor"`)
    expect(r.rows[0]).toEqual({ 'a"b': 1, 'back\\slash': 2, 'new\nline': 3, 'été': 4, x: 6, constructor: 7 })
    const proto = await conn.query('select 1 as "__proto__", 2 as y')
    expect(Object.getPrototypeOf(proto.rows[0])).toBe(Object.prototype)
    expect(proto.rows[0]!.y).toBe(2)
  })

  it('describes fields', async () => {
    const t = uniqueName('fields')
    await conn.query(`create temp table ${t} (id int4, label text)`)
    await conn.query(`insert into ${t} values (1, 'a')`)
    const r = await conn.query(`select id, label, 1.5::float8 as f from ${t}`)
    expect(r.fields.map((f) => f.name)).toEqual(['id', 'label', 'f'])
    expect(r.fields[0]).toMatchObject({ typeOid: 23, typeSize: 4, columnId: 1 })
    expect(r.fields[0]!.tableOid).toBeGreaterThan(0)
    expect(r.fields[1]).toMatchObject({ typeOid: 25, typeSize: -1, columnId: 2 })
    expect(r.fields[2]).toMatchObject({ typeOid: 701, tableOid: 0, columnId: 0 })
    expect(r.rows).toEqual([{ id: 1, label: 'a', f: 1.5 }])
  })

  it('reports command tags and row counts', async () => {
    const t = uniqueName('tags')
    const created = await conn.query(`create temp table ${t} (id int primary key, v text)`)
    expect(created).toMatchObject({ command: 'CREATE TABLE', rowCount: null, rows: [] })
    const ins = await conn.query(`insert into ${t} select g, 'x' from generate_series(1, 5) g`)
    expect(ins).toMatchObject({ command: 'INSERT', rowCount: 5 })
    const upd = await conn.query(`update ${t} set v = $1 where id <= $2`, ['y', 3])
    expect(upd).toMatchObject({ command: 'UPDATE', rowCount: 3 })
    const del = await conn.query(`delete from ${t} where id = $1 returning id`, [5])
    expect(del).toMatchObject({ command: 'DELETE', rowCount: 1, rows: [{ id: 5 }] })
    const sel = await conn.query(`select * from ${t} where v = $1 order by id`, ['y'])
    expect(sel.rowCount).toBe(3)
    expect(sel.rows.map((r) => r.id)).toEqual([1, 2, 3])
  })

  it('runs several statements through the simple protocol, one result each', async () => {
    const results = await conn.simpleQuery('select 1 as a; select 2 as b, 3 as c; ; set application_name = x')
    expect(results.map((r) => r.command)).toEqual(['SELECT', 'SELECT', 'SET'])
    expect(results[0]!.rows).toEqual([{ a: 1 }])
    expect(results[1]!.rows).toEqual([{ b: 2, c: 3 }])
    const empty = await conn.simpleQuery('')
    expect(empty).toEqual([{ command: '', rowCount: null, rows: [], fields: [] }])
  })

  it('passes NULL and unicode through', async () => {
    const r = await conn.query('select $1::text as a, $2::text as b, $3::int as c', [null, 'za\u017c\u00f3\u0142\u0107 \ud83d\udc18 \u65e5\u672c', undefined])
    expect(r.rows[0]).toEqual({ a: null, b: 'za\u017c\u00f3\u0142\u0107 \ud83d\udc18 \u65e5\u672c', c: null })
  })

  it('decodes the common types the same way unprepared (text) and prepared (binary)', async () => {
    const sql = `select 1::int2 as i2, 2147483647::int4 as i4, 9007199254740993::int8 as i8,
      1.5::float4 as f4, 'NaN'::float8 as f8, 12345678901234567890.000100::numeric as num,
      true as b, 'hello'::text as t, '\\x00ff10'::bytea as by, '{"a":[1,2]}'::json as j,
      '{"b": null}'::jsonb as jb, '2024-01-02 03:04:05.678+00'::timestamptz as ts,
      array[1,2,null]::int4[] as ia, array['a b', null, '"q"']::text[] as ta,
      array[[1,2],[3,4]]::int8[] as nested`
    const expected = {
      i2: 1,
      i4: 2147483647,
      i8: 9007199254740993n,
      f4: 1.5,
      f8: NaN,
      num: '12345678901234567890.000100',
      b: true,
      t: 'hello',
      by: Buffer.from([0, 255, 16]),
      j: { a: [1, 2] },
      jb: { b: null },
      ts: new Date('2024-01-02T03:04:05.678Z'),
      ia: [1, 2, null],
      ta: ['a b', null, '"q"'],
      nested: [
        [1n, 2n],
        [3n, 4n],
      ],
    }
    const first = await conn.query(sql)
    const second = await conn.query(sql)
    const unprepared = await conn.query(sql, [], { prepare: false })
    expect(unprepared.fields.every((f) => f.format === 0)).toBe(true)
    expect(first.fields.some((f) => f.format === 1)).toBe(true)
    expect(second.fields.map((f) => f.format)).toEqual(first.fields.map((f) => f.format))
    for (const r of [first, second, unprepared]) expect(r.rows[0]).toEqual(expected)
  })

  it('encodes common JS values as parameters', async () => {
    const when = new Date('2020-02-29T12:34:56.789Z')
    const r = await conn.query(
      'select $1::int8 as a, $2::float8 as b, $3::bool as c, $4::timestamptz as d, $5::bytea as e, $6::jsonb as f, $7::int[] as g, $8::text[] as h',
      [12345678901234n, 0.25, false, when, Buffer.from('hi'), { k: [1, 'two'] }, [1, null, 3], ['a,b', 'c"d', 'e\\f', null, 'NULL']],
    )
    expect(r.rows[0]).toEqual({
      a: 12345678901234n,
      b: 0.25,
      c: false,
      d: when,
      e: Buffer.from('hi'),
      f: { k: [1, 'two'] },
      g: [1, null, 3],
      h: ['a,b', 'c"d', 'e\\f', null, 'NULL'],
    })
  })

  it('keeps results matched to callers when many queries are in flight', async () => {
    const n = 1000
    const results = await Promise.all(Array.from({ length: n }, (_, i) => conn.query<{ v: number }>('select $1::int4 as v', [i])))
    expect(results.map((r) => r.rows[0]!.v)).toEqual(Array.from({ length: n }, (_, i) => i))
  })

  it('works with prepare: false on the whole connection', async () => {
    const c = await connectAs('scram', { prepare: false })
    try {
      for (let i = 0; i < 3; i++) {
        const r = await c.query('select $1::text as s', [`v${i}`])
        expect(r.rows[0]!.s).toBe(`v${i}`)
        expect(r.fields[0]!.format).toBe(0)
      }
      const named = await c.query("select count(*)::int as n from pg_prepared_statements where name like 'pgline_%'")
      expect(named.rows[0]!.n).toBe(0)
    } finally {
      await c.close()
    }
  })

  it('evicts prepared statements beyond the cache size and closes them on the server', async () => {
    const c = await connectAs('scram', { statementCacheSize: 3 })
    try {
      for (let i = 0; i < 10; i++) await c.query(`select ${i} as v where $1::int = 1`, [1])
      const r = await c.query("select count(*)::int as n from pg_prepared_statements where name like 'pgline_%'")
      expect(r.rows[0]!.n).toBeLessThanOrEqual(4)
      for (let i = 0; i < 10; i++) expect((await c.query(`select ${i} as v where $1::int = 1`, [1])).rows[0]!.v).toBe(i)
    } finally {
      await c.close()
    }
  })

  it('returns large results intact across many socket reads', async () => {
    const r = await conn.query('select g as id, repeat($1, 50) as pad from generate_series(1, 20000) g', ['xyz'])
    expect(r.rowCount).toBe(20000)
    expect(r.rows[19999]).toEqual({ id: 20000, pad: 'xyz'.repeat(50) })
    const big = await conn.query('select repeat($1, 3000000) as s', ['ab'])
    expect((big.rows[0]!.s as string).length).toBe(6000000)
  })
})
