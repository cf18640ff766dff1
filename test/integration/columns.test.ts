import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Connection } from '../../src/index.js'
import { connectAs } from './_util.js'

let conn: Connection
beforeAll(async () => {
  conn = await connectAs('scram')
})
afterAll(async () => {
  await conn?.close()
})

const SQL = `select g::int2 as s, g::int4 as i, g::int8 as b, g::float4 as f, g::float8 as d, 'r' || g as t,
  case when g % 3 = 0 then null else g end::int4 as maybe
  from generate_series(1, $1::int) g`

describe("rowMode 'columns'", () => {
  for (const prepare of [true, false]) {
    it(`gives typed arrays with null masks (${prepare ? 'binary' : 'text'} results)`, async () => {
      const n = 1000
      const r = await conn.query(SQL, [n], { rowMode: 'columns', prepare })
      expect(r.rows).toEqual([])
      expect(r.rowCount).toBe(n)
      const c = r.columns!
      expect(c.length).toBe(n)
      expect(c.names).toEqual(['s', 'i', 'b', 'f', 'd', 't', 'maybe'])
      expect(c.values[0]).toBeInstanceOf(Int16Array)
      expect(c.values[1]).toBeInstanceOf(Int32Array)
      expect(c.values[2]).toBeInstanceOf(BigInt64Array)
      expect(c.values[3]).toBeInstanceOf(Float32Array)
      expect(c.values[4]).toBeInstanceOf(Float64Array)
      expect(Array.isArray(c.values[5])).toBe(true)
      expect(Array.from(c.values[1] as Int32Array)).toEqual(Array.from({ length: n }, (_, k) => k + 1))
      expect((c.values[2] as BigInt64Array)[n - 1]).toBe(BigInt(n))
      expect((c.values[5] as string[])[9]).toBe('r10')
      const mask = c.nulls[6]!
      for (let k = 0; k < n; k++) {
        const g = k + 1
        expect(mask[k]).toBe(g % 3 === 0 ? 1 : 0)
        if (g % 3 !== 0) expect((c.values[6] as Int32Array)[k]).toBe(g)
      }
      expect(c.nulls[5]).toBeNull()
    })
  }

  it('agrees with row objects and handles empty results', async () => {
    const rows = (await conn.query(SQL, [50])).rows
    const cols = (await conn.query(SQL, [50], { rowMode: 'columns' })).columns!
    rows.forEach((row, k) => {
      expect(Number((cols.values[2] as BigInt64Array)[k])).toBe(Number(row.b))
      expect((cols.values[5] as string[])[k]).toBe(row.t)
      expect(cols.nulls[6]![k] === 1).toBe(row.maybe === null)
    })
    const empty = (await conn.query(SQL, [0], { rowMode: 'columns' })).columns!
    expect(empty.length).toBe(0)
    expect((empty.values[1] as Int32Array).length).toBe(0)
  })

  it('answers a statement without rows with empty columns, through every entry point', async () => {
    const none = { names: [], values: [], nulls: [], length: 0 }
    const r = await conn.query('create temp table cols_none (a int)', [], { rowMode: 'columns' })
    expect(r.columns).toEqual(none)
    expect(r.rows).toEqual([])
    const [ins, sel] = await conn.simpleQuery('insert into cols_none values (1), (2); select a from cols_none', { rowMode: 'columns' })
    expect(ins!.rowCount).toBe(2)
    expect(ins!.columns).toEqual(none)
    expect(sel!.columns.values[0]).toEqual(new Int32Array([1, 2]))
    await conn.transaction(async (tx) => {
      expect((await tx.query('select 1::int4 as one', [], { rowMode: 'columns' })).columns.names).toEqual(['one'])
    })
    await conn.pipeline(async (p) => {
      const q = p.query('select 2::int4 as two', [], { rowMode: 'columns' })
      await p.sync()
      expect((await q).columns.values[0]).toEqual(new Int32Array([2]))
    })
  })
})
