import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { PgRange, TypeMap, defaultTypeMap } from '../../../src/types/index.js'
import * as O from '../../../src/types/oids.js'
import { decode, embed, refusal, roundTrip } from './helpers.js'

const bounds = fc.constantFrom('[)', '[]', '(]', '()') as fc.Arbitrary<'[)' | '[]' | '(]' | '()'>

/** Any range: empty, or each side bounded or not. */
function range<T>(element: fc.Arbitrary<T>): fc.Arbitrary<PgRange<T>> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(PgRange.empty<T>()) },
    { weight: 6, arbitrary: fc.tuple(fc.option(element), fc.option(element), bounds).map(([l, u, b]) => new PgRange(l, u, b)) },
  )
}

/** A range over text, declared in a private map: its bounds exercise quoting. */
const TEXTRANGE = 900_001
const TEXTMULTI = 900_002
const texts = new TypeMap(defaultTypeMap)
texts.registerRange(O.TEXT, TEXTRANGE, 'textrange', TEXTMULTI)

function textsRoundTrip(oid: number, value: unknown): unknown {
  const e = texts.encoder(oid)!
  const { buf, start, end } = embed(e.encode(value, 0))
  return texts.decoder(oid, e.format)(buf, start, end)
}

describe('PgRange', () => {
  it('unbounded sides are never inclusive; empty has null bounds', () => {
    expect(new PgRange(null, 5, '[]')).toEqual({ lower: null, upper: 5, lowerInclusive: false, upperInclusive: true, empty: false })
    expect(new PgRange(1, 5)).toMatchObject({ lowerInclusive: true, upperInclusive: false })
    expect(PgRange.empty()).toEqual({ lower: null, upper: null, lowerInclusive: false, upperInclusive: false, empty: true })
  })
})

describe('range codecs', () => {
  it('text decoding reads what the server prints', () => {
    expect(decode(O.INT4RANGE, 0, '[1,5)')).toEqual(new PgRange(1, 5))
    expect(decode(O.INT4RANGE, 0, 'empty')).toEqual(PgRange.empty())
    expect(decode(O.INT8RANGE, 0, '(,9223372036854775807)')).toEqual(new PgRange(null, 2n ** 63n - 1n))
    expect(decode(O.NUMRANGE, 0, '(1.5,]')).toEqual(new PgRange('1.5', null, '(]'))
    expect(decode(O.TSRANGE, 0, '["2020-01-01 00:00:00","2021-01-01 00:00:00.5"]')).toEqual(
      new PgRange(new Date(Date.UTC(2020, 0, 1)), new Date(Date.UTC(2021, 0, 1, 0, 0, 0, 500)), '[]'),
    )
    expect(decode(O.TSTZRANGE, 0, '[-infinity,infinity)')).toEqual(new PgRange(-Infinity, Infinity))
    expect(decode(O.DATERANGE, 0, '[2024-01-01,)')).toEqual(new PgRange('2024-01-01', null))
    // range_in also accepts whitespace around, any case of 'empty', "" inside quotes, and backslash escapes.
    expect(decode(O.INT4RANGE, 0, '  EMPTY ')).toEqual(PgRange.empty())
    const r = texts.decoder(TEXTRANGE, 0)
    const { buf, start, end } = embed('["a""b",c\\,d)')
    expect(r(buf, start, end)).toEqual(new PgRange('a"b', 'c,d'))
    expect(() => decode(O.INT4RANGE, 0, '[1,2')).toThrow(RangeError)
    expect(() => decode(O.INT4RANGE, 0, 'nope')).toThrow(/malformed range/)
  })

  it('every range round-trips through the encoders, binary for binary subtypes and text otherwise', () => {
    expect(defaultTypeMap.encoder(O.INT4RANGE)!.format).toBe(1)
    expect(defaultTypeMap.encoder(O.NUMRANGE)!.format).toBe(0)
    expect(defaultTypeMap.encoder(O.TSTZRANGE)!.format).toBe(0)
    fc.assert(fc.property(range(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })), (r) => {
      expect(roundTrip(O.INT4RANGE, r)).toEqual(r)
    }))
    fc.assert(fc.property(range(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })), (r) => {
      expect(roundTrip(O.INT8RANGE, r)).toEqual(r)
    }))
    fc.assert(fc.property(range(fc.integer().map(String)), (r) => {
      expect(roundTrip(O.NUMRANGE, r)).toEqual(r)
    }))
    const dates = fc.date({ min: new Date(-8.64e15 + 1e11), max: new Date(8.64e15 - 1e11), noInvalidDate: true })
    fc.assert(fc.property(range(dates), (r) => {
      expect(roundTrip(O.TSTZRANGE, r)).toEqual(r)
      expect(roundTrip(O.TSRANGE, r)).toEqual(r)
    }))
  })

  it('bounds of any text survive quoting, in both formats', () => {
    const tricky = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.constantFrom('', ' ', '"', '\\', ',', '(', ']', 'empty', 'a b'))
    fc.assert(fc.property(range(tricky.filter((s) => !s.includes('\0'))), (r) => {
      expect(textsRoundTrip(TEXTRANGE, r)).toEqual(r)
      // The same value, as the server would send it in binary.
      const bin = texts.decoder(TEXTRANGE, 1)
      const flags = r.empty ? 1 : (r.lowerInclusive ? 2 : 0) | (r.upperInclusive ? 4 : 0) | (r.lower === null ? 8 : 0) | (r.upper === null ? 16 : 0)
      const parts = [Buffer.from([flags])]
      for (const b of r.empty ? [] : [r.lower, r.upper]) {
        if (b === null) continue
        const len = Buffer.alloc(4)
        len.writeInt32BE(Buffer.byteLength(b))
        parts.push(len, Buffer.from(b))
      }
      const { buf, start, end } = embed(Buffer.concat(parts))
      expect(bin(buf, start, end)).toEqual(r)
    }), { numRuns: 300 })
  })

  it('parameters: PgRange, range-shaped objects, literal strings', () => {
    expect(roundTrip(O.INT4RANGE, { lower: 1, upper: 3 })).toEqual(new PgRange(1, 3))
    expect(roundTrip(O.INT4RANGE, { lower: 1, upper: 3, upperInclusive: true })).toEqual(new PgRange(1, 3, '[]'))
    expect(roundTrip(O.INT4RANGE, { empty: true })).toEqual(PgRange.empty())
    expect(roundTrip(O.INT4RANGE, '(1,7]')).toEqual(new PgRange(1, 7, '(]'))
    expect(roundTrip(O.INT4RANGE, 'empty')).toEqual(PgRange.empty())
    expect(defaultTypeMap.encoder(O.NUMRANGE)!.encode('[1,2)', 0)).toBe('[1,2)')
    expect(defaultTypeMap.encoder(O.NUMRANGE)!.encode(new PgRange(1.5, null), 0)).toBe('["1.5",)')
    expect(refusal(O.INT4RANGE, [1, 2])).toBe('parameter $1: cannot encode an array (2 elements) as int4range')
    expect(refusal(O.INT4RANGE, new PgRange<unknown>(1, 'x'))).toBe('parameter $1: cannot encode a string (1 character) as int4')
    expect(refusal(O.INT4RANGE, '[1,')).toMatch(/^parameter \$1: cannot encode a string \(3 characters\) as int4range: malformed range/)
  })
})

describe('multirange codecs', () => {
  it('decode text and binary', () => {
    expect(decode(O.INT4MULTIRANGE, 0, '{}')).toEqual([])
    expect(decode(O.INT4MULTIRANGE, 0, '{[1,3),[5,8)}')).toEqual([new PgRange(1, 3), new PgRange(5, 8)])
    expect(decode(O.INT4MULTIRANGE, 0, ' { (,0) , [10,) } ')).toEqual([new PgRange(null, 0), new PgRange(10, null)])
    expect(decode(O.TSMULTIRANGE, 0, '{["2020-01-01 00:00:00",infinity]}')).toEqual([new PgRange<Date | number>(new Date(Date.UTC(2020, 0, 1)), Infinity, '[]')])
    expect(() => decode(O.INT4MULTIRANGE, 0, '{[1,3)')).toThrow(/malformed multirange/)
  })

  it('round-trip arrays of ranges; empty multiranges are []', () => {
    const ints = fc.integer({ min: -1000, max: 1000 })
    const asText = (m: PgRange<number>[], spell: (n: number) => string): PgRange<string>[] =>
      m.map((r) => {
        if (r.empty) return PgRange.empty<string>()
        const b = `${r.lowerInclusive ? '[' : '('}${r.upperInclusive ? ']' : ')'}` as '[)'
        return new PgRange(r.lower === null ? null : spell(r.lower), r.upper === null ? null : spell(r.upper), b)
      })
    fc.assert(
      fc.property(fc.array(range(ints), { maxLength: 4 }), (m) => {
        expect(roundTrip(O.INT4MULTIRANGE, m)).toEqual(m)
        const nums = asText(m, String)
        expect(roundTrip(O.NUMMULTIRANGE, nums)).toEqual(nums)
        // Bounds with quotes, braces and commas inside a text multirange literal.
        const odd = asText(m, (n) => `"{${n},}\\`)
        expect(textsRoundTrip(TEXTMULTI, odd)).toEqual(odd)
      }),
    )
    expect(roundTrip(O.INT4MULTIRANGE, '{[1,2), [3,4)}')).toEqual([new PgRange(1, 2), new PgRange(3, 4)])
    expect(refusal(O.INT4MULTIRANGE, [new PgRange(1, 2), null])).toMatch(/as int4multirange: a multirange cannot contain NULL$/)
    expect(refusal(O.INT4MULTIRANGE, new PgRange(1, 2))).toBe('parameter $1: cannot encode a PgRange as int4multirange')
  })

  it('arrays of ranges and of multiranges', () => {
    const rs = [new PgRange(1, 2), null, PgRange.empty()]
    expect(roundTrip(O.INT4RANGE_ARRAY, rs)).toEqual(rs)
    expect(roundTrip(O.INT4RANGE_ARRAY, '{"[1,2)",NULL,empty}')).toEqual(rs)
    // A JS array is one multirange: arrays of multiranges are one-dimensional.
    const ms = [[new PgRange(1, 2)], [], null]
    expect(roundTrip(O.INT4MULTIRANGE_ARRAY, ms)).toEqual(ms)
    expect(roundTrip(O.INT4MULTIRANGE_ARRAY, '{"{[1,2)}","{}",NULL}')).toEqual(ms)
    expect(decode(O.NUMRANGE_ARRAY, 0, '{"[1.5,2)","(,3]"}')).toEqual([new PgRange('1.5', '2'), new PgRange(null, '3', '(]')])
  })
})
