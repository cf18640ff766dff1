// json and jsonb values are parsed in batches per result (one JSON.parse of
// many values). What a caller gets must not show it: every shape of result,
// across batch boundaries, with NULLs, JSON strings, huge values, duplicate
// column names, streams and errors, gives what one JSON.parse per value gives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Connection } from '../../src/index.js'
import { DatabaseError, TypeMap } from '../../src/index.js'
import * as O from '../../src/types/oids.js'
import { connectAs } from './_util.js'

let conn: Connection

beforeAll(async () => {
  conn = await connectAs('scram')
})
afterAll(async () => {
  await conn?.close()
})

// Row g: a jsonb object, a json value of a varying kind (NULL every 7th row),
// and a jsonb string scalar.
const SQL = `select g,
  jsonb_build_object('g', g, 'tags', jsonb_build_array('a', g), 'big', (g::numeric * 1e20)) as doc,
  case when g % 7 = 0 then null when g % 3 = 0 then '[1, "x", null]'::json when g % 3 = 1 then to_json(g) else '"s\\u00e9"'::json end as j,
  to_jsonb('v' || g) as s
  from generate_series(1, $1::int) g`

function expected(g: number): { doc: unknown; j: unknown; s: unknown } {
  const j = g % 7 === 0 ? null : g % 3 === 0 ? [1, 'x', null] : g % 3 === 1 ? g : 'sé'
  return { doc: { g, tags: ['a', g], big: Number(`${g}e20`) }, j, s: `v${g}` }
}

describe('batched JSON parsing', () => {
  it('gives the per-value results across many batches, in object and array rows', async () => {
    const n = 10_050 // more than two batches of rows
    const r = await conn.query<{ g: number; doc: unknown; j: unknown; s: unknown }>(SQL, [n])
    expect(r.rows.length).toBe(n)
    for (const row of r.rows) expect({ doc: row.doc, j: row.j, s: row.s }).toEqual(expected(row.g))
    const a = await conn.query<unknown[]>(SQL, [n], { rowMode: 'array' })
    for (const row of a.rows) {
      const e = expected(row[0] as number)
      expect(row.slice(1)).toEqual([e.doc, e.j, e.s])
    }
  })

  it('parses JSON columns of columnar results, across batches, with NULLs and huge values', async () => {
    const n = 9_001
    const r = await conn.query(SQL, [n], { rowMode: 'columns' })
    const cols = r.columns!
    expect(cols.length).toBe(n)
    const [g, doc, j, s] = cols.values as unknown[][]
    for (let i = 0; i < n; i++) {
      const e = expected(g![i] as number)
      expect([doc![i], j![i], s![i]]).toEqual([e.doc, e.j, e.s])
    }
    const big = await conn.query(`select jsonb_build_object('k', repeat('z', 70000)) as a, '"\\u0041"'::json as b union all select null, null`, [], { rowMode: 'columns' })
    expect(big.columns!.values[0]).toEqual([{ k: 'z'.repeat(70000) }, null])
    expect(big.columns!.values[1]).toEqual(['A', null])
  })

  it('parses values larger than a batch, and rows of only NULLs', async () => {
    const r = await conn.query<{ big: { k: string[] }; n: unknown }>(
      `select jsonb_build_object('k', array_agg(repeat('x', 100))) as big, null::jsonb as n from generate_series(1, 3000)`,
    )
    expect(r.rows[0]!.big.k.length).toBe(3000)
    expect(r.rows[0]!.n).toBeNull()
    const many = await conn.query<{ v: { s: string } }>(`select jsonb_build_object('s', repeat('y', 5000) || g) as v from generate_series(1, 600) g`)
    many.rows.forEach((row, i) => expect(row.v.s).toBe('y'.repeat(5000) + String(i + 1)))
  })

  it('keeps the later column for duplicate names, whatever their types', async () => {
    const r = await conn.query(`select '{"a":1}'::jsonb as x, 'plain' as x, '[2]'::json as y, 5 as y, 'text' as z, '"q"'::jsonb as z`)
    expect(r.rows[0]).toEqual({ x: 'plain', y: 5, z: 'q' })
  })

  it('parses JSON in every batch of a stream', async () => {
    let seen = 0
    for await (const row of conn.stream<{ g: number; doc: unknown; j: unknown; s: unknown }>(SQL, [2_500], { batchSize: 333 })) {
      seen++
      expect({ doc: row.doc, j: row.j, s: row.s }).toEqual(expected(row.g))
    }
    expect(seen).toBe(2_500)
  })

  it('drops the rows of a result an error ends, and the next result is whole', async () => {
    const bad = `select g, jsonb_build_object('g', g) as doc, 1 / (g - 5000) as boom from generate_series(1, 6000) g`
    await expect(conn.query(bad)).rejects.toBeInstanceOf(DatabaseError)
    await expect(conn.query(bad)).rejects.toBeInstanceOf(DatabaseError) // the cached statement's plan again
    const ok = await conn.query<{ g: number; doc: { g: number } }>(`select g, jsonb_build_object('g', g) as doc, 1 / (g + 1) as boom from generate_series(1, 6000) g`)
    expect(ok.rows.length).toBe(6000)
    ok.rows.forEach((row) => expect(row.doc).toEqual({ g: row.g }))
  })

  it('honours the json string option and user codecs (no batching there)', async () => {
    const q = `select '{"a": [1, 2]}'::jsonb as d, '{"b": 1}'::json as e from generate_series(1, 3)`
    const asText = await connectAs('scram', { typeOptions: { json: 'string' } })
    try {
      const r = await asText.query<{ d: unknown; e: unknown }>(q)
      expect(r.rows.map((x) => [x.d, x.e])).toEqual(Array(3).fill(['{"a": [1, 2]}', '{"b": 1}']))
    } finally {
      await asText.close()
    }
    const types = new TypeMap(conn.types)
    types.registerDecoder(O.JSONB, 1, (buf, start, end) => `user:${buf.toString('utf8', start + 1, end)}`)
    const u = await conn.query<{ d: unknown; e: unknown }>(q, [], { types })
    expect(u.rows[0]).toEqual({ d: 'user:{"a": [1, 2]}', e: { b: 1 } })
  })
})
