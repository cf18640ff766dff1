import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as O from '../../../src/types/oids.js'
import { defaultTypeMap } from '../../../src/types/index.js'
import { decode, embed, int32 } from './helpers.js'

type Nested<T> = Array<T | null | Nested<T>>

/** Strings that stress quoting: quotes, backslashes, braces, delimiters, spaces, NULL lookalikes, unicode. */
const trickyString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.constantFrom('', 'NULL', 'null', 'Null', ' ', '"', '\\', '{', '}', ',', ';', '{}', 'a b', '\\"', 'é中😀', '\t\n', '[0:1]='),
  fc
    .array(fc.constantFrom('"', '\\', '{', '}', ',', ' ', 'NULL', 'x', 'ü'), { maxLength: 6 })
    .map((parts) => parts.join('')),
)

function nested<T>(leaf: fc.Arbitrary<T>): fc.Arbitrary<Nested<T>> {
  const { tree } = fc.letrec<{ tree: Nested<T>; node: T | null | Nested<T> }>((tie) => ({
    tree: fc.array(tie('node'), { maxLength: 4 }),
    node: fc.oneof({ depthSize: 'small', maxDepth: 4 }, leaf, fc.constant(null), tie('tree')),
  }))
  return tree
}

function textRoundTrip(value: unknown[], arrayOid: number): unknown {
  const p = defaultTypeMap.encode(value, 0)
  expect(p).toMatchObject({ oid: 0, format: 0 })
  return decode(arrayOid, 0, p.value as string)
}

describe('text array literals', () => {
  it('encode -> decode round-trips nested string arrays', () => {
    fc.assert(
      fc.property(nested(trickyString), (value) => {
        expect(textRoundTrip(value, O.TEXT_ARRAY)).toEqual(value)
      }),
      { numRuns: 500 },
    )
  })

  it('encode -> decode round-trips int4, int8 and float8 arrays', () => {
    fc.assert(
      fc.property(nested(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })), (v) => {
        expect(textRoundTrip(v, O.INT4_ARRAY)).toEqual(v)
      }),
    )
    fc.assert(
      fc.property(nested(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })), (v) => {
        expect(textRoundTrip(v, O.INT8_ARRAY)).toEqual(v)
      }),
    )
    fc.assert(
      fc.property(nested(fc.double()), (v) => {
        expect(textRoundTrip(v, O.FLOAT8_ARRAY)).toEqual(v)
      }),
    )
  })

  it('bytea elements travel as quoted hex', () => {
    const bufs = [Buffer.from([0, 0xff, 0x5c]), null, Buffer.alloc(0)]
    expect(defaultTypeMap.encode(bufs, 0).value).toBe('{"\\\\x00ff5c",NULL,"\\\\x"}')
    expect(textRoundTrip(bufs, O.BYTEA_ARRAY)).toEqual(bufs)
  })

  it.each<[string, number, unknown]>([
    ['{}', O.INT4_ARRAY, []],
    ['{{1,2},{3,4}}', O.INT4_ARRAY, [[1, 2], [3, 4]]],
    ['{{1,NULL},{3,4}}', O.INT4_ARRAY, [[1, null], [3, 4]]],
    ['[0:1]={1,2}', O.INT4_ARRAY, [1, 2]],
    ['[1:1][-2:-1]={{5,6}}', O.INT4_ARRAY, [[5, 6]]],
    ['{1,NULL,"NULL","a b","q\\"x","\\\\"}', O.TEXT_ARRAY, ['1', null, 'NULL', 'a b', 'q"x', '\\']],
    ['{null,NuLl,"null"}', O.TEXT_ARRAY, [null, null, 'null']],
    ['{ a , "b" ,c}', O.TEXT_ARRAY, ['a', 'b', 'c']],
    ['{a\\,b,c\\\\d}', O.TEXT_ARRAY, ['a,b', 'c\\d']],
    ['{""}', O.TEXT_ARRAY, ['']],
    ['{"é中😀"}', O.VARCHAR_ARRAY, ['é中😀']],
    [
      '{(1,1),(0,0);(2,2),(1,1)}',
      O.BOX_ARRAY,
      [
        { high: { x: 1, y: 1 }, low: { x: 0, y: 0 } },
        { high: { x: 2, y: 2 }, low: { x: 1, y: 1 } },
      ],
    ],
    ['{t,f,NULL}', O.BOOL_ARRAY, [true, false, null]],
    ['{NaN,Infinity,-Infinity,-0}', O.FLOAT8_ARRAY, [NaN, Infinity, -Infinity, -0]],
    ['{1.50,NaN}', O.NUMERIC_ARRAY, ['1.50', 'NaN']],
    ['{"{\\"a\\": 1}",NULL}', O.JSONB_ARRAY, [{ a: 1 }, null]],
    ['{"\\\\x0102"}', O.BYTEA_ARRAY, [Buffer.from([1, 2])]],
    ['{"2024-01-02 03:04:05+00",infinity}', O.TIMESTAMPTZ_ARRAY, [new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), Infinity]],
    ['{"0044-03-15 BC",2024-01-02}', O.DATE_ARRAY, ['0044-03-15 BC', '2024-01-02']],
  ])('%s', (text, oid, expected) => {
    const got = decode(oid, 0, text)
    expect(got).toEqual(expected)
    if (oid === O.FLOAT8_ARRAY) expect(Object.is((got as number[])[3], -0)).toBe(true)
  })

  it.each(['', '1,2', '{1,2', '{"a}', '{1,,2}', '{"a"x}', '[0:1]', '{', '{1', '{{1}'])('rejects malformed %j', (text) => {
    expect(() => decode(O.INT4_ARRAY, 0, text)).toThrow(/malformed array/)
    // Even when the bytes after the value would close it.
    const { buf, start, end } = embed(text + '}}"}')
    expect(() => defaultTypeMap.decoder(O.INT4_ARRAY, 0)(buf, start, end - 4)).toThrow(/malformed array/)
  })
})

/** The binary array format, built by hand: header, (length, lower bound) per dimension, elements. */
function binaryArray(elementOid: number, dims: number[], elements: Array<Buffer | null>, lbound = 1): Buffer {
  const parts = [int32(dims.length), int32(elements.includes(null) ? 1 : 0), int32(elementOid)]
  for (const d of dims) parts.push(int32(d), int32(lbound))
  for (const e of elements) parts.push(e === null ? int32(-1) : Buffer.concat([int32(e.length), e]))
  return Buffer.concat(parts)
}

/** Folds a flat row-major list into nested arrays of the given dimensions. */
function fold<T>(flat: T[], dims: number[]): unknown[] {
  if (dims.length === 1) return flat
  const size = flat.length / dims[0]!
  return Array.from({ length: dims[0]! }, (_, i) => fold(flat.slice(i * size, (i + 1) * size), dims.slice(1)))
}

describe('binary arrays', () => {
  it('decode int4 arrays of any shape, NULLs and lower bounds', () => {
    const shaped = fc
      .tuple(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: -5, max: 5 }))
      .chain(([dims, lbound]) => {
        const n = dims.reduce((a, b) => a * b, 1)
        const item = fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { freq: 4 })
        return fc.tuple(fc.constant(dims), fc.constant(lbound), fc.array(item, { minLength: n, maxLength: n }))
      })
    fc.assert(
      fc.property(shaped, ([dims, lbound, flat]) => {
        const bytes = binaryArray(O.INT4, dims, flat.map((v) => (v === null ? null : int32(v))), lbound)
        expect(decode(O.INT4_ARRAY, 1, bytes)).toEqual(fold(flat, dims))
      }),
    )
  })

  it('empty arrays have zero dimensions', () => {
    expect(decode(O.INT4_ARRAY, 1, binaryArray(O.INT4, [], []))).toEqual([])
  })

  it('elements use their binary decoder', () => {
    const text = binaryArray(O.TEXT, [3], [Buffer.from('é'), null, Buffer.alloc(0)])
    expect(decode(O.TEXT_ARRAY, 1, text)).toEqual(['é', null, ''])
    const big = Buffer.alloc(8)
    big.writeBigInt64BE(-(2n ** 63n))
    expect(decode(O.INT8_ARRAY, 1, binaryArray(O.INT8, [1], [big]))).toEqual([-(2n ** 63n)])
  })

  it('rejects truncated data', () => {
    const bytes = binaryArray(O.INT4, [2], [int32(1), int32(2)])
    expect(() => decode(O.INT4_ARRAY, 1, bytes.subarray(0, bytes.length - 2))).toThrow(/malformed array/)
    expect(() => decode(O.INT4_ARRAY, 1, bytes.subarray(0, 16))).toThrow(/malformed array/)
  })
})
