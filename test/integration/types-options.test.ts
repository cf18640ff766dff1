import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Connection } from '../../src/index.js'
import { TypeMap, defaultTypeMap } from '../../src/types/index.js'
import * as O from '../../src/types/oids.js'
import { connectAs } from './_util.js'
import { checkArray, checkType, lit, type Case } from './types-helpers.js'

let conn: Connection

beforeAll(async () => {
  conn = await connectAs('scram')
})
afterAll(async () => {
  await conn?.close()
})

const c = lit

describe('TypeOptions against the server', () => {
  it("int8 'number' and 'string'", async () => {
    const asNumber = new TypeMap(defaultTypeMap, { int8: 'number' })
    const cases = [c('9007199254740991', 9007199254740991), c('-9007199254740991', -9007199254740991), c('0', 0)]
    await checkType(conn, 'int8', O.INT8, cases, { types: asNumber })
    await checkArray(conn, 'int8', O.INT8_ARRAY, cases, { types: asNumber })
    // Beyond 2^53 a number would be wrong: both formats refuse, naming the value.
    for (const prepare of [false, true, true]) {
      const err = await conn.query(`select 9007199254740992::int8 as big`, [], { types: asNumber, prepare }).catch((e: unknown) => e)
      expect(String((err as Error & { cause?: unknown }).cause ?? err)).toMatch(/int8 value 9007199254740992/)
    }
    const asString = new TypeMap(defaultTypeMap, { int8: 'string' })
    const strings = [c('-9223372036854775808', '-9223372036854775808'), c('42', '42')]
    await checkType(conn, 'int8', O.INT8, strings, { types: asString })
  })

  it("numeric 'number'", async () => {
    const types = new TypeMap(defaultTypeMap, { numeric: 'number' })
    const cases = [c('1.5', 1.5), c('NaN', NaN), c('-Infinity', -Infinity), c('0.1', 0.1), c('-0.000', 0, 'value')]
    await checkType(conn, 'numeric', O.NUMERIC, cases, { types })
  })

  it("json 'string'", async () => {
    const types = new TypeMap(defaultTypeMap).configure({ json: 'string' })
    await checkType(conn, 'json', O.JSON_TYPE, [c('{"b": 1,  "a": [true]}', '{"b": 1,  "a": [true]}'), c('"x"', '"x"')], { types })
    await checkType(conn, 'jsonb', O.JSONB, [c('{"b": 1,  "a": [true]}', '{"a": [true], "b": 1}'), c('"x"', '"x"')], { types })
    await checkArray(conn, 'jsonb', O.JSONB_ARRAY, [c('{"b": 1}'), c('[1]')], { types, oneDimensional: true })
  })

  it('options stay in the configured map and its children', async () => {
    const parent = new TypeMap(defaultTypeMap, { int8: 'string', date: 'Date' })
    const child = new TypeMap(parent)
    const sql = `select 7::int8 as n, '2024-01-02'::date as d`
    expect((await conn.query(sql, [], { types: child })).rows[0]).toEqual({ n: '7', d: new Date(Date.UTC(2024, 0, 2)) })
    expect((await conn.query(sql)).rows[0]).toEqual({ n: 7n, d: '2024-01-02' })
  })
})
