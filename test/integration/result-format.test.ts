// resultFormat chooses the format results are asked in; the JS values never
// depend on it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InterfaceError, type Connection } from '../../src/index.js'
import { connectAs } from './_util.js'

let conn: Connection
const SQL = `select 1::int4 as i, 12.50::numeric as n, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid as u, '1 day'::interval as d, 'x'::text as t, $1::int as p`

beforeAll(async () => {
  conn = await connectAs('scram')
})
afterAll(async () => {
  await conn?.close()
})

const formats = (r: { fields: { format: number }[] }): number[] => r.fields.map((f) => f.format)

describe('resultFormat', () => {
  it("asks for text, binary where a decoder exists, or the cheaper one ('auto')", async () => {
    const text = await conn.query(SQL, [1], { resultFormat: 'text' })
    const binary = await conn.query(SQL, [1], { resultFormat: 'binary' })
    const auto = await conn.query(SQL, [1])
    expect(formats(text)).toEqual([0, 0, 0, 0, 0, 0])
    expect(formats(binary)).toEqual([1, 1, 1, 1, 1, 1])
    // numeric and uuid decode faster from text.
    expect(formats(auto)).toEqual([1, 0, 0, 1, 1, 1])
    expect(binary.rows).toEqual(text.rows)
    expect(auto.rows).toEqual(text.rows)
  })

  it('is a connection default, overridden per query, and followed in explicit pipelines', async () => {
    const c = await connectAs('scram', { resultFormat: 'text' })
    try {
      await c.query(SQL, [1])
      expect(formats(await c.query(SQL, [2]))).toEqual([0, 0, 0, 0, 0, 0])
      expect(formats(await c.query(SQL, [2], { resultFormat: 'binary' }))).toEqual([1, 1, 1, 1, 1, 1])
      const [a, b] = await c.pipeline((p) => Promise.all([p.query(SQL, [3]), p.query(SQL, [4], { resultFormat: 'binary' })]))
      expect(formats(a!)).toEqual([0, 0, 0, 0, 0, 0])
      expect(formats(b!)).toEqual([1, 1, 1, 1, 1, 1])
      expect(b!.rows[0]).toEqual({ ...a!.rows[0], p: 4 })
    } finally {
      await c.close()
    }
  })

  it('leaves unnamed statements in text', async () => {
    const r = await conn.query(SQL, [5], { prepare: false, resultFormat: 'binary' })
    expect(formats(r)).toEqual([0, 0, 0, 0, 0, 0])
    expect(r.rows[0]!.n).toBe('12.50')
  })

  it('refuses an unknown format with an InterfaceError naming it', async () => {
    await expect(conn.query(SQL, [1], { resultFormat: 'hex' as never })).rejects.toThrow(InterfaceError)
    await expect(conn.query(SQL, [1], { resultFormat: 'hex' as never })).rejects.toThrow(/resultFormat must be 'auto', 'text' or 'binary', got "hex"/)
    await expect(connectAs('scram', { resultFormat: 'bin' as never })).rejects.toThrow(/got "bin"/)
    expect((await conn.query('select 1 as x')).rows).toEqual([{ x: 1 }])
  })
})
