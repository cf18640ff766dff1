import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { defaultTypeMap } from '../../../src/types/index.js'
import * as O from '../../../src/types/oids.js'
import { decode, refusal, roundTrip } from './helpers.js'

type Nested<T> = Array<T | null | Nested<T>>

/** Rectangular nested arrays (1 to 4 dimensions) of `leaf` or null. */
function rectangular<T>(leaf: fc.Arbitrary<T>): fc.Arbitrary<Nested<T>> {
  return fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }).chain((dims) => {
    const build = (d: number): fc.Arbitrary<Nested<T>> =>
      fc.array(d === dims.length - 1 ? fc.option(leaf, { freq: 5 }) : build(d + 1), { minLength: dims[d]!, maxLength: dims[d]! }) as fc.Arbitrary<
        Nested<T>
      >
    return build(0)
  })
}

const enc = (oid: number, v: unknown): Buffer | string => defaultTypeMap.encoder(oid)!.encode(v, 0)

describe('array encoders', () => {
  it('binary arrays of binary elements round-trip, multi-dimensional with NULLs', () => {
    fc.assert(fc.property(rectangular(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })), (v) => {
        expect(roundTrip(O.INT4_ARRAY, v)).toEqual(v)
      }))
    fc.assert(fc.property(rectangular(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })), (v) => {
        expect(roundTrip(O.INT8_ARRAY, v)).toEqual(v)
      }))
    fc.assert(fc.property(rectangular(fc.double()), (v) => {
        expect(roundTrip(O.FLOAT8_ARRAY, v)).toEqual(v)
      }))
    fc.assert(fc.property(rectangular(fc.boolean()), (v) => {
        expect(roundTrip(O.BOOL_ARRAY, v)).toEqual(v)
      }))
    fc.assert(
      fc.property(rectangular(fc.uint8Array({ maxLength: 5 }).map((b) => Buffer.from(b))), (v) => {
        expect(roundTrip(O.BYTEA_ARRAY, v)).toEqual(v)
      }),
    )
    expect(defaultTypeMap.encoder(O.UUID_ARRAY)!.format).toBe(1)
  })

  it('text arrays quote every element, so any string survives', () => {
    const tricky = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.constantFrom('NULL', '"', '\\', '{}', ',', ' ', '')).filter((s) => !s.includes('\0'))
    fc.assert(fc.property(rectangular(tricky), (v) => {
        expect(roundTrip(O.TEXT_ARRAY, v)).toEqual(v)
      }), { numRuns: 300 })
    expect(enc(O.TEXT_ARRAY, ['a', null, 'NULL', 'q"\\'])).toBe('{"a",NULL,"NULL","q\\"\\\\"}')
    expect(enc(O.NUMERIC_ARRAY, [[1, '2.50'], [null, 'NaN']])).toBe('{{"1","2.50"},{NULL,"NaN"}}')
    // box elements are separated by ';', since ',' is inside every box.
    expect(enc(O.BOX_ARRAY, [{ high: { x: 1, y: 1 }, low: { x: 0, y: 0 } }, '(2,2),(1,1)'])).toBe('{"(1,1),(0,0)";"(2,2),(1,1)"}')
  })

  it('empty arrays, in any number of dimensions, are empty', () => {
    const empty = enc(O.INT4_ARRAY, []) as Buffer
    expect(empty.readInt32BE(0)).toBe(0) // ndim
    expect(empty.length).toBe(12)
    expect((enc(O.INT4_ARRAY, [[], []]) as Buffer).readInt32BE(0)).toBe(0)
    expect(decode(O.INT4_ARRAY, 1, empty)).toEqual([])
    expect(enc(O.TEXT_ARRAY, [])).toBe('{}')
  })

  it('the binary header: ndim, has-nulls flag, element OID, dimensions with lower bound 1', () => {
    const b = enc(O.INT2_ARRAY, [[1, null], [3, 4]]) as Buffer
    expect([0, 4, 8, 12, 16, 20, 24].map((o) => b.readInt32BE(o))).toEqual([2, 1, O.INT2, 2, 1, 2, 1])
    expect((enc(O.INT2_ARRAY, [1]) as Buffer).readInt32BE(4)).toBe(0)
  })

  it('string literals: as they are for text arrays, parsed and re-encoded for binary ones', () => {
    expect(enc(O.TEXT_ARRAY, '{a,"b c"}')).toBe('{a,"b c"}')
    expect(roundTrip(O.INT4_ARRAY, '{{1,2},{NULL,-4}}')).toEqual([[1, 2], [null, -4]])
    expect(roundTrip(O.INT4_ARRAY, '[0:1]={5,6}')).toEqual([5, 6]) // lower bounds are dropped
    expect(refusal(O.INT4_ARRAY, '{1,x}')).toBe('parameter $1: cannot encode a string (1 character) as int4')
    expect(refusal(O.INT4_ARRAY, '{1')).toMatch(/^parameter \$1: cannot encode a string \(2 characters\) as int4\[\]: malformed array/)
  })

  it.each<[number, unknown, string]>([
    [O.INT4_ARRAY, 5, 'parameter $1: cannot encode a number (5) as int4[]'],
    [O.INT4_ARRAY, { 0: 1 }, 'parameter $1: cannot encode an object as int4[]'],
    [O.INT4_ARRAY, [[1, 2], [3]], 'parameter $1: cannot encode an array (2 elements) as int4[]: sub-arrays of a multidimensional array must all have the same length'],
    [O.INT4_ARRAY, [[1], 2], 'parameter $1: cannot encode an array (2 elements) as int4[]: sub-arrays of a multidimensional array must all have the same length'],
    [O.INT4_ARRAY, [1, [2]], 'parameter $1: cannot encode an array (2 elements) as int4[]: sub-arrays of a multidimensional array must all have the same length'],
    [O.INT4_ARRAY, [[1], null], 'parameter $1: cannot encode an array (2 elements) as int4[]: a sub-array cannot be NULL'],
    [O.INT4_ARRAY, [[[[[[[1]]]]]]], 'parameter $1: cannot encode an array (1 element) as int4[]: arrays nested more than 6 deep'],
    [O.INT4_ARRAY, [1, 'x'], 'parameter $1: cannot encode a string (1 character) as int4'],
    [O.TEXT_ARRAY, ['a\0'], 'parameter $1: cannot encode a string (2 characters) as text: text cannot contain a NUL byte (\\0)'],
    [O.POINT_ARRAY, [[1, 2, 3]], 'parameter $1: cannot encode a number (1) as point'],
  ])('refuse %s %j', (oid, value, message) => {
    expect(refusal(oid, value)).toBe(message)
  })

  it('cyclic arrays are refused, not recursed into forever', () => {
    const cyclic: unknown[] = []
    cyclic.push(cyclic)
    expect(refusal(O.INT4_ARRAY, cyclic)).toMatch(/nested more than 6 deep/)
  })
})
