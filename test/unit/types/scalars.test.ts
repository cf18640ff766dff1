import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as O from '../../../src/types/oids.js'
import { decode, int16, int32 } from './helpers.js'

describe('int', () => {
  it('text int2/int4/oid parse like Number()', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2147483648, max: 2147483647 }), (n) => {
        expect(decode(O.INT4, 0, String(n))).toBe(n)
      }),
    )
    expect(decode(O.INT2, 0, '-32768')).toBe(-32768)
    expect(decode(O.OID, 0, '4294967295')).toBe(4294967295)
    expect(Object.is(decode(O.INT4, 0, '-0'), 0)).toBe(true)
  })

  it('text int8 parses exactly to bigint', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        expect(decode(O.INT8, 0, String(n))).toBe(n)
      }),
    )
    expect(decode(O.INT8, 0, '9007199254740993')).toBe(9007199254740993n)
    expect(decode(O.INT8, 0, '-9223372036854775808')).toBe(-9223372036854775808n)
    expect(decode(O.INT8, 0, '7')).toBe(7n)
  })

  it('binary ints', () => {
    expect(decode(O.INT2, 1, int16(-2))).toBe(-2)
    expect(decode(O.INT4, 1, int32(-123456))).toBe(-123456)
    expect(decode(O.OID, 1, Buffer.from('ffffffff', 'hex'))).toBe(4294967295)
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        const b = Buffer.alloc(8)
        b.writeBigInt64BE(n)
        expect(decode(O.INT8, 1, b)).toBe(n)
      }),
    )
  })
})

describe('float', () => {
  it('float8 text round-trips every double, in JS and PostgreSQL exponent spelling', () => {
    fc.assert(
      fc.property(fc.double(), (d) => {
        const js = Object.is(d, -0) ? '-0' : String(d) // the server prints -0 with its sign
        expect(decode(O.FLOAT8, 0, js)).toBe(d)
        // PostgreSQL pads exponents to two digits: 1.5e-07 where JS prints 1.5e-7.
        expect(decode(O.FLOAT8, 0, js.replace(/e([+-])(\d)$/, 'e$10$2'))).toBe(d)
      }),
    )
  })

  it('special values and negative zero', () => {
    expect(decode(O.FLOAT8, 0, 'NaN')).toBeNaN()
    expect(decode(O.FLOAT8, 0, 'Infinity')).toBe(Infinity)
    expect(decode(O.FLOAT4, 0, '-Infinity')).toBe(-Infinity)
    expect(Object.is(decode(O.FLOAT8, 0, '-0'), -0)).toBe(true)
    const b = Buffer.alloc(8)
    b.writeDoubleBE(-0)
    expect(Object.is(decode(O.FLOAT8, 1, b), -0)).toBe(true)
    b.writeDoubleBE(NaN)
    expect(decode(O.FLOAT8, 1, b)).toBeNaN()
    const f = Buffer.alloc(4)
    f.writeFloatBE(-Infinity)
    expect(decode(O.FLOAT4, 1, f)).toBe(-Infinity)
    f.writeFloatBE(-0)
    expect(Object.is(decode(O.FLOAT4, 1, f), -0)).toBe(true)
  })

  it('binary float4 gives the shortest decimal, as the server prints it', () => {
    const f4 = (x: number): unknown => {
      const b = Buffer.alloc(4)
      b.writeFloatBE(x)
      return decode(O.FLOAT4, 1, b)
    }
    expect(f4(1.1)).toBe(1.1)
    expect(f4(3.4028234663852886e38)).toBe(3.4028235e38)
    expect(f4(1e-45)).toBe(1e-45)
    // Exact ties between two 8-digit candidates go to the even digit (server: 2801009.2).
    expect(f4(2801009.25)).toBe(2801009.2)
    // A candidate exactly on the rounding boundary is not taken (server: 7.3536144e+07).
    expect(f4(73536144)).toBe(73536144)
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        const y = f4(x) as number
        expect(Math.fround(y)).toBe(x)
        const digits = String(y).replace(/^-|e.*$|\./g, '').replace(/^0+|0+$/g, '')
        expect(digits.length).toBeLessThanOrEqual(9)
      }),
    )
  })
})

describe('bool, text, json', () => {
  it('bool', () => {
    expect(decode(O.BOOL, 0, 't')).toBe(true)
    expect(decode(O.BOOL, 0, 'f')).toBe(false)
    expect(decode(O.BOOL, 1, Buffer.from([1]))).toBe(true)
    expect(decode(O.BOOL, 1, Buffer.from([0]))).toBe(false)
  })

  it('text types decode UTF-8 in both formats', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        for (const oid of [O.TEXT, O.VARCHAR, O.BPCHAR, O.NAME, O.UNKNOWN, O.XML]) {
          expect(decode(oid, 0, s)).toBe(s)
          expect(decode(oid, 1, s)).toBe(s)
        }
      }),
    )
  })

  it('"char" binary is spelled like its text: octal escapes for bytes >= 0x80, empty for 0', () => {
    for (let b = 0; b < 256; b++) {
      const text = b === 0 ? '' : b < 0x80 ? String.fromCharCode(b) : '\\' + b.toString(8)
      expect(decode(O.CHAR, 0, Buffer.from(text, 'latin1'))).toBe(text)
      expect(decode(O.CHAR, 1, Buffer.from([b]))).toBe(text)
    }
  })

  it('json and jsonb, including the binary jsonb version byte', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = JSON.stringify(v)
        const expected: unknown = JSON.parse(text)
        expect(decode(O.JSON_TYPE, 0, text)).toEqual(expected)
        expect(decode(O.JSON_TYPE, 1, text)).toEqual(expected)
        expect(decode(O.JSONB, 0, text)).toEqual(expected)
        expect(decode(O.JSONB, 1, Buffer.concat([Buffer.from([1]), Buffer.from(text)]))).toEqual(expected)
      }),
    )
    expect(() => decode(O.JSONB, 1, Buffer.from('\x02{}'))).toThrow(/version 2/)
  })
})
