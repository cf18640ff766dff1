import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Connection } from '../../src/index.js'
import { PgRange, TypeMap, defaultTypeMap } from '../../src/types/index.js'
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

const GEOMETRY: ReadonlyArray<readonly [string, number, number, Case[]]> = [
  ['point', O.POINT, O.POINT_ARRAY, [c('(1.5,-2)', { x: 1.5, y: -2 }), c('(NaN,Infinity)', { x: NaN, y: Infinity }), c('(-0,1e-300)', { x: -0, y: 1e-300 }), c('(1e+20,0.1)')]],
  ['line', O.LINE, O.LINE_ARRAY, [c('{1,-1,0}', { a: 1, b: -1, c: 0 }), c('[(0,0),(2,4)]', { a: 2, b: -1, c: 0 })]],
  ['lseg', O.LSEG, O.LSEG_ARRAY, [c('[(1,2),(3,4.25)]', { start: { x: 1, y: 2 }, end: { x: 3, y: 4.25 } })]],
  ['box', O.BOX, O.BOX_ARRAY, [c('(0,0),(2,3)', { high: { x: 2, y: 3 }, low: { x: 0, y: 0 } }), c('(5,-1),(-5,1)')]],
  [
    'path',
    O.PATH,
    O.PATH_ARRAY,
    [
      c('[(0,0),(1,1),(2,0)]', { closed: false, points: [{ x: 0, y: 0 }, { x: 1, y: 1 }, { x: 2, y: 0 }] }),
      c('((0,0),(1,1))', { closed: true, points: [{ x: 0, y: 0 }, { x: 1, y: 1 }] }),
    ],
  ],
  ['polygon', O.POLYGON, O.POLYGON_ARRAY, [c('((0,0),(1,1),(1,0))', { points: [{ x: 0, y: 0 }, { x: 1, y: 1 }, { x: 1, y: 0 }] }), c('((-1.5,2))')]],
  ['circle', O.CIRCLE, O.CIRCLE_ARRAY, [c('<(1,2),3>', { x: 1, y: 2, radius: 3 }), c('<(0.1,-0.2),0.5>')]],
]

const R = <T>(lower: T | null, upper: T | null, bounds?: '[)' | '[]' | '(]' | '()'): PgRange<T> => new PgRange(lower, upper, bounds)
const utc = (...a: [number, number, number, number?]): Date => new Date(Date.UTC(...a))

const RANGES: ReadonlyArray<readonly [string, number, number, Case[]]> = [
  ['int4range', O.INT4RANGE, O.INT4RANGE_ARRAY, [c('[1,5]', R(1, 6)), c('empty', PgRange.empty()), c('(,3)', R(null, 3)), c('(-10,)', R(-9, null)), c('(,)', R(null, null))]],
  ['int8range', O.INT8RANGE, O.INT8RANGE_ARRAY, [c('[-9223372036854775808,9007199254740993)', R(-(2n ** 63n), 9007199254740993n)), c('empty')]],
  [
    'numrange',
    O.NUMRANGE,
    O.NUMRANGE_ARRAY,
    [c('(1.50,2.25]', R('1.50', '2.25', '(]')), c('[,-Infinity]', R(null, '-Infinity', '(]')), c('[0,0]', R('0', '0', '[]')), c('(NaN,)', undefined, 'skip')],
  ],
  [
    'tsrange',
    O.TSRANGE,
    O.TSRANGE_ARRAY,
    [c('["2020-01-01 00:00","2021-01-01 12:30:00.5"]', R(utc(2020, 0, 1), new Date(Date.UTC(2021, 0, 1, 12, 30, 0, 500)), '[]')), c('[-infinity,infinity)', R(-Infinity, Infinity)), c('(,"0044-03-15 00:00 BC")')],
  ],
  ['tstzrange', O.TSTZRANGE, O.TSTZRANGE_ARRAY, [c('[2020-01-01 00:00+05,)', R(utc(2019, 11, 31, 19), null)), c('empty'), c('("1999-12-31 23:59:59.999+00","2000-01-01 00:00+00")')]],
  ['daterange', O.DATERANGE, O.DATERANGE_ARRAY, [c('[2024-01-01,2024-01-31]', R('2024-01-01', '2024-02-01')), c('(,infinity]', R(null, 'infinity', '(]')), c('[0044-03-15 BC,0001-01-01)')]],
]

const MULTIRANGES: ReadonlyArray<readonly [string, number, number, Case[]]> = [
  ['int4multirange', O.INT4MULTIRANGE, O.INT4MULTIRANGE_ARRAY, [c('{}', []), c('{[1,3), [5,8]}', [R(1, 3), R(5, 9)]), c('{(,0), [10,)}', [R(null, 0), R(10, null)]), c('{empty}', [])]],
  ['int8multirange', O.INT8MULTIRANGE, O.INT8MULTIRANGE_ARRAY, [c('{[1,2)}', [R(1n, 2n)])]],
  ['nummultirange', O.NUMMULTIRANGE, O.NUMMULTIRANGE_ARRAY, [c('{[1.5,2], (3,)}', [R('1.5', '2', '[]'), R('3', null, '()')])]],
  ['tsmultirange', O.TSMULTIRANGE, O.TSMULTIRANGE_ARRAY, [c('{[2020-01-01,2020-02-01), [2021-01-01,infinity]}')]],
  ['tstzmultirange', O.TSTZMULTIRANGE, O.TSTZMULTIRANGE_ARRAY, [c('{[2020-01-01 00:00+02,2020-02-01 00:00+00)}')]],
  ['datemultirange', O.DATEMULTIRANGE, O.DATEMULTIRANGE_ARRAY, [c('{[2020-01-01,2020-01-05], [2020-02-01,)}', [R('2020-01-01', '2020-01-06'), R('2020-02-01', null)])]],
]

describe('geometric types against the server', () => {
  for (const [type, oid, arrayOid, list] of GEOMETRY) {
    it(type, async () => {
      await checkType(conn, type, oid, list)
      await checkArray(conn, type, arrayOid, list)
    })
  }
})

describe('ranges and multiranges against the server', () => {
  for (const [type, oid, arrayOid, list] of [...RANGES, ...MULTIRANGES]) {
    it(type, async () => {
      await checkType(conn, type, oid, list)
      await checkArray(conn, type, arrayOid, list, { oneDimensional: type.includes('multi') })
    })
  }

  it('range bounds follow the element options (lossless timestamps, dates as Date)', async () => {
    const types = new TypeMap(defaultTypeMap, { timestamp: 'string', date: 'Date', int8: 'string' })
    await checkType(conn, 'tsrange', O.TSRANGE, [c('[2020-01-01 00:00:00.000001,)', R('2020-01-01 00:00:00.000001', null))], { types })
    await checkType(conn, 'datemultirange', O.DATEMULTIRANGE, [c('{[2020-01-01,2020-01-05]}', [R(utc(2020, 0, 1), utc(2020, 0, 6))])], { types })
    await checkType(conn, 'int8range', O.INT8RANGE, [c('[1,2]', R('1', '3'))], { types })
  })

  it('plain range-shaped objects are accepted as parameters', async () => {
    const types = new TypeMap(defaultTypeMap)
    const enc = types.encoder(O.INT4RANGE)!
    expect(enc.format).toBe(1)
    const r = await conn.query('select $1::int4range::text a', [new PgRange(1, 5, '[]')])
    expect(r.rows[0]).toEqual({ a: '[1,6)' })
  })
})
