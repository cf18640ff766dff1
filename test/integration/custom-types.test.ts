// User-defined and extension types loaded by name: enums, composites
// (nested), domains, custom ranges, hstore, citext, and user codecs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ParameterError, TypeMap, type Connection } from '../../src/index.js'
import { connectAs, uniqueName } from './_util.js'

let conn: Connection
const s = uniqueName('types')

beforeAll(async () => {
  conn = await connectAs('superuser')
  await conn.simpleQuery(`
    create schema ${s};
    set search_path = ${s}, public;
    create type mood as enum ('sad', 'ok', 'happy');
    create type point3 as (x float8, y float8, z float8);
    create type place as (name text, at point3, tags text[], feeling mood);
    create domain posint as int4 check (value > 0);
    create type floatrange as range (subtype = float8);
    create extension if not exists hstore;
    create extension if not exists citext;
  `)
})
afterAll(async () => {
  await conn?.simpleQuery(`drop schema ${s} cascade`)
  await conn?.close()
})

describe('loaded types', () => {
  it('reads and writes enums and enum arrays, refusing unknown labels', async () => {
    await conn.loadType('mood')
    for (const prepare of [true, false]) {
      const r = await conn.query("select 'happy'::mood as m, array['sad','ok']::mood[] as ms", [], { prepare })
      expect(r.rows[0]).toEqual({ m: 'happy', ms: ['sad', 'ok'] })
    }
    expect((await conn.query('select $1::mood as m', ['ok'])).rows[0]!.m).toBe('ok')
    await expect(conn.query('select $1::mood as m', ['grumpy'])).rejects.toBeInstanceOf(ParameterError)
  })

  it('reads and writes nested composites in text and binary', async () => {
    await conn.loadType('place')
    const value = { name: 'home, "sweet"', at: { x: 1.5, y: -2, z: 0 }, tags: ['a b', null], feeling: 'happy' }
    const sql = `select row('home, "sweet"', row(1.5, -2, 0)::point3, array['a b', null], 'happy')::place as p`
    for (const prepare of [true, false]) {
      const r = await conn.query(sql, [], { prepare })
      expect(r.rows[0]!.p).toEqual(value)
    }
    const back = await conn.query<{ p: unknown; t: string }>('select $1::place as p, $1::place::text as t', [value])
    expect(back.rows[0]!.p).toEqual(value)
    const arr = await conn.query("select array[row('x', null, null, null)::place] as ps")
    expect(arr.rows[0]!.ps).toEqual([{ name: 'x', at: null, tags: null, feeling: null }])
  })

  it('reads domains as their base type', async () => {
    await conn.loadType('posint')
    const r = await conn.query('select 5::posint as d, array[1,2]::posint[] as ds')
    expect(r.rows[0]).toEqual({ d: 5, ds: [1, 2] })
    expect((await conn.query('select $1::posint as d', [7])).rows[0]!.d).toBe(7)
    await expect(conn.query('select $1::posint', [-1])).rejects.toMatchObject({ code: '23514' })
  })

  it('reads a custom range type', async () => {
    await conn.loadType('floatrange')
    const r = await conn.query("select '[1.5,2.5)'::floatrange as r")
    expect(r.rows[0]!.r).toMatchObject({ lower: 1.5, upper: 2.5, lowerInclusive: true, upperInclusive: false })
  })

  it('reads hstore and citext once loaded', async () => {
    await conn.loadType('hstore')
    await conn.loadType('citext')
    const r = await conn.query(`select 'a=>1, "b c"=>NULL'::hstore as h, 'MiXeD'::citext as c`)
    expect(r.rows[0]!.h).toEqual({ a: '1', 'b c': null })
    expect(r.rows[0]!.c).toBe('MiXeD')
  })

  it('uses a user codec registered by name, on this connection only', async () => {
    const other = await connectAs('superuser')
    await conn.registerType('numeric', {
      decodeText: (buf, st, en) => ({ decimal: buf.toString('utf8', st, en) }),
    })
    const r = await conn.query('select 12.50::numeric as n', [], { prepare: false })
    expect(r.rows[0]!.n).toEqual({ decimal: '12.50' })
    expect((await other.query('select 12.50::numeric as n')).rows[0]!.n).toBe('12.50')
    await other.close()
  })

  it('says which type does not exist', async () => {
    await expect(conn.loadType('no_such_type_here')).rejects.toThrow(/"no_such_type_here" does not exist/)
  })
})

describe('type options per connection', () => {
  it('maps int8, numeric, date, timestamp and json as configured, leaving other connections alone', async () => {
    const c = await connectAs('scram', { typeOptions: { int8: 'number', numeric: 'number', date: 'Date', timestamp: 'string', json: 'string' } })
    const sql = `select 42::int8 as i, 1.25::numeric as n, '2024-02-29'::date as d, '2024-01-02 03:04:05.123456'::timestamp as ts, '{"a":1}'::jsonb as j`
    for (const prepare of [true, false]) {
      const r = await c.query(sql, [], { prepare })
      expect(r.rows[0]).toEqual({ i: 42, n: 1.25, d: new Date('2024-02-29T00:00:00Z'), ts: '2024-01-02 03:04:05.123456', j: '{"a": 1}' })
    }
    await expect(c.query('select 9007199254740993::int8 as big')).rejects.toThrow(/int8 value 9007199254740993 does not fit/)
    expect((await conn.query('select 42::int8 as i')).rows[0]!.i).toBe(42n)
    await c.close()
  })
})

describe('a decoder given after a statement was prepared, or for one query only', () => {
  // A cached statement asks for the formats chosen when it was described; a
  // text-only decoder registered later, or passed in a query's own type map,
  // must still be the one that decodes (not the parent's binary decoder).
  const textOnly = (buf: Buffer, start: number, end: number): string => `text:${buf.toString('utf8', start, end)}`
  const SQL = "select '1 day'::interval as i, '2024-02-29 13:14:15+00'::timestamptz as t, $1::int as n"

  it("a query's own type map decides the formats of a cached statement", async () => {
    const c = await connectAs('scram')
    try {
      const before = await c.query(SQL, [1])
      expect(before.rows[0]!.i).not.toBe('text:1 day')
      const types = new TypeMap(c.types)
      types.registerDecoder(1186, 0, textOnly)
      types.registerDecoder(1184, 0, textOnly)
      const own = await c.query(SQL, [1], { types })
      expect(own.rows[0]).toEqual({ i: 'text:1 day', t: 'text:2024-02-29 13:14:15+00', n: 1 })
      // The statement itself is untouched: the connection's map still reads it as before.
      expect((await c.query(SQL, [1])).rows[0]).toEqual(before.rows[0])
      // In a pipeline too.
      const [piped] = await c.pipeline(async (p) => [await p.query(SQL, [2], { types })])
      expect(piped!.rows[0]).toEqual({ i: 'text:1 day', t: 'text:2024-02-29 13:14:15+00', n: 2 })
    } finally {
      await c.close()
    }
  })

  it("a decoder registered on the connection's map after the statement was cached is used from then on", async () => {
    const c = await connectAs('scram')
    try {
      expect((await c.query(SQL, [1])).rows[0]!.i).not.toBe('text:1 day')
      c.types.registerDecoder(1186, 0, textOnly)
      expect((await c.query(SQL, [1])).rows[0]!.i).toBe('text:1 day')
    } finally {
      await c.close()
    }
  })
})
