import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { ParameterError } from '../../../src/errors.js'
import { defaultTypeMap, TypeMap } from '../../../src/types/index.js'
import * as O from '../../../src/types/oids.js'
import { refusal, roundTrip } from './helpers.js'

const enc = (oid: number, v: unknown, index = 0): Buffer | string => defaultTypeMap.encoder(oid)!.encode(v, index)

describe('typed encoders: integers', () => {
  it('round-trip every value of each width, as numbers, bigints and strings', () => {
    for (const [oid, min, max] of [
      [O.INT2, -(2 ** 15), 2 ** 15 - 1],
      [O.INT4, -(2 ** 31), 2 ** 31 - 1],
      [O.OID, 0, 2 ** 32 - 1],
    ] as const) {
      fc.assert(
        fc.property(fc.integer({ min, max }), (n) => {
          expect(roundTrip(oid, n)).toBe(n)
          expect(roundTrip(oid, BigInt(n))).toBe(n)
          expect(roundTrip(oid, ` ${n} `)).toBe(n)
        }),
        { numRuns: 200 },
      )
    }
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        expect(roundTrip(O.INT8, n)).toBe(n)
        expect(roundTrip(O.INT8, String(n))).toBe(n)
      }),
      { numRuns: 200 },
    )
  })

  it('read every literal form PostgreSQL 16 reads', () => {
    expect(roundTrip(O.INT4, '1_000_000')).toBe(1_000_000)
    expect(roundTrip(O.INT4, '-0x7FFF_FFFF')).toBe(-0x7fffffff)
    expect(roundTrip(O.INT2, '0o777')).toBe(0o777)
    expect(roundTrip(O.INT8, '+0b101')).toBe(5n)
    expect(roundTrip(O.INT8, 2 ** 60)).toBe(2n ** 60n)
    expect(roundTrip(O.OID, -1)).toBe(4294967295) // oidin wraps negative int4 values
    expect(roundTrip(O.INT4, -0)).toBe(0)
  })

  it.each<[number, unknown, string]>([
    [O.INT4, 'abc', 'parameter $1: cannot encode a string (3 characters) as int4'],
    [O.INT4, '1.5', 'parameter $1: cannot encode a string (3 characters) as int4'],
    [O.INT4, 1.5, 'parameter $1: cannot encode a number (1.5) as int4: not an integer'],
    [O.INT4, NaN, 'parameter $1: cannot encode a number (NaN) as int4: not an integer'],
    [O.INT8, Infinity, 'parameter $1: cannot encode a number (Infinity) as int8: not an integer'],
    [O.INT2, 32768, 'parameter $1: cannot encode a number (32768) as int2: out of range for int2'],
    [O.INT4, 2n ** 31n, 'parameter $1: cannot encode a bigint (2147483648) as int4: out of range for int4'],
    [O.INT8, '9223372036854775808', 'parameter $1: cannot encode a string (19 characters) as int8: out of range for int8'],
    [O.OID, 2 ** 32, 'parameter $1: cannot encode a number (4294967296) as oid: out of range for oid'],
    [O.INT4, true, 'parameter $1: cannot encode a boolean (true) as int4'],
    [O.INT4, '1__0', 'parameter $1: cannot encode a string (4 characters) as int4'],
    [O.INT4, [1], 'parameter $1: cannot encode an array (1 element) as int4'],
    [O.INT4, new Map(), 'parameter $1: cannot encode a Map as int4'],
  ])('refuse: %s %s', (oid, value, message) => {
    expect(refusal(oid, value)).toBe(message)
  })

  it('errors carry index, valueType and typeOid, and name $<index + 1>', () => {
    let err: unknown
    try {
      enc(O.INT4, 'abcdefghijklmnopqrstuvwxyz0123456789', 1)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ParameterError)
    expect(err).toMatchObject({ index: 1, valueType: 'string', typeOid: O.INT4 })
    // The value itself never appears: a parameter may be a secret.
    expect((err as Error).message).toBe('parameter $2: cannot encode a string (36 characters) as int4')
    expect((err as Error).message).not.toContain('abc')
  })
})

describe('typed encoders: floats, numeric, bool', () => {
  it('float8 round-trips every double, and float4 every float', () => {
    fc.assert(
      fc.property(fc.double(), (d) => {
        expect(roundTrip(O.FLOAT8, d)).toBe(d)
        expect(roundTrip(O.FLOAT8, Object.is(d, -0) ? '-0' : String(d))).toBe(d)
      }),
    )
    fc.assert(
      fc.property(fc.float(), (f) => {
        // The decoder gives float4's shortest decimal; as a float4 it is the same value.
        expect(Math.fround(roundTrip(O.FLOAT4, f) as number)).toBe(f)
      }),
    )
  })

  it('special values, -0, spellings of infinity', () => {
    expect(roundTrip(O.FLOAT8, 'NaN')).toBeNaN()
    expect(roundTrip(O.FLOAT8, ' -inf ')).toBe(-Infinity)
    expect(roundTrip(O.FLOAT4, '+Infinity')).toBe(Infinity)
    expect(Object.is(roundTrip(O.FLOAT4, -0), -0)).toBe(true)
    expect(roundTrip(O.FLOAT8, 2n ** 70n)).toBe(2 ** 70)
    expect(refusal(O.FLOAT8, '1e400')).toMatch(/as float8: out of range$/)
    expect(refusal(O.FLOAT8, '1e-400')).toMatch(/as float8: out of range$/)
    expect(refusal(O.FLOAT4, 1e39)).toMatch(/out of range for float4$/)
    expect(refusal(O.FLOAT4, 1e-50)).toMatch(/out of range for float4$/)
    expect(refusal(O.FLOAT8, '0x10')).toBe('parameter $1: cannot encode a string (4 characters) as float8')
  })

  it('float4 from a decimal string rounds once, as the server does, even where double rounding would not', () => {
    // 1 + 2^-24 + 2^-60 rounds to the double 1 + 2^-24 (a float4 tie, which goes to 1); the decimal is above the tie.
    const literal = '1.000000059604644776732330836' // > 1 + 2^-24 = 1.000000059604644775390625
    expect(Number(literal)).toBe(1 + 2 ** -24)
    const b = enc(O.FLOAT4, literal) as Buffer
    expect(b.readFloatBE(0)).toBe(Math.fround(1 + 2 ** -23))
    expect((enc(O.FLOAT4, '1.000000059604644775390625') as Buffer).readFloatBE(0)).toBe(1) // the exact tie: to even
    expect((enc(O.FLOAT4, '-1.000000059604644774') as Buffer).readFloatBE(0)).toBe(-1) // just below the tie
  })

  it('numeric goes as text, validated', () => {
    expect(enc(O.NUMERIC, 1e21)).toBe('1e+21')
    expect(enc(O.NUMERIC, NaN)).toBe('NaN')
    expect(enc(O.NUMERIC, -Infinity)).toBe('-Infinity')
    expect(enc(O.NUMERIC, 2n ** 80n)).toBe('1208925819614629174706176')
    for (const s of ['1.50', ' -0.5e-3 ', '.5', '5.', '1_000.000_1', 'Infinity', 'nan', '0x1F']) expect(enc(O.NUMERIC, s)).toBe(s)
    expect(refusal(O.NUMERIC, '1,5')).toBe('parameter $1: cannot encode a string (3 characters) as numeric')
    expect(refusal(O.NUMERIC, true)).toBe('parameter $1: cannot encode a boolean (true) as numeric')
  })

  it('bool takes booleans, 0/1 and every boolin spelling', () => {
    for (const t of [true, 1, 1n, 't', 'TRUE', 'tr', 'y', 'yes', 'on', '1', ' true ']) expect(roundTrip(O.BOOL, t)).toBe(true)
    for (const f of [false, 0, 0n, 'f', 'False', 'n', 'no', 'off', 'of', '0']) expect(roundTrip(O.BOOL, f)).toBe(false)
    for (const bad of ['o', '', 'yess', 2, 'truth']) expect(refusal(O.BOOL, bad)).toMatch(/as bool$/)
  })
})

describe('typed encoders: text, bytea, uuid, json', () => {
  it('text types take strings and stringify primitives; NUL is refused', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\0')), (s) => {
        for (const oid of [O.TEXT, O.VARCHAR, O.BPCHAR, O.NAME, O.UNKNOWN]) expect(roundTrip(oid, s)).toBe(s)
      }),
    )
    expect(enc(O.TEXT, 42)).toBe('42')
    expect(enc(O.TEXT, 12n)).toBe('12')
    expect(enc(O.TEXT, false)).toBe('false')
    expect(enc(O.TEXT, new Date(Date.UTC(2024, 0, 2)))).toBe('2024-01-02T00:00:00.000+00:00')
    expect(refusal(O.TEXT, 'a\0b')).toBe('parameter $1: cannot encode a string (3 characters) as text: text cannot contain a NUL byte (\\0)')
    expect(refusal(O.TEXT, { a: 1 })).toBe('parameter $1: cannot encode an object as text')
    expect(refusal(O.XML, 5)).toBe('parameter $1: cannot encode a number (5) as xml')
  })

  it('bytea: every byte value, from Buffers, Uint8Arrays and hex strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(roundTrip(O.BYTEA, bytes)).toEqual(Buffer.from(bytes))
        expect(roundTrip(O.BYTEA, '\\x' + Buffer.from(bytes).toString('hex'))).toEqual(Buffer.from(bytes))
      }),
    )
    expect(roundTrip(O.BYTEA, '\\x 0A ff ')).toEqual(Buffer.from([10, 255]))
    expect(refusal(O.BYTEA, 'abc')).toMatch(/^parameter \$1: cannot encode a string \(3 characters\) as bytea: strings must be in the hex format/)
    expect(refusal(O.BYTEA, '\\x0')).toMatch(/as bytea: strings must be in the hex format/)
    expect(refusal(O.BYTEA, [1, 2])).toBe('parameter $1: cannot encode an array (2 elements) as bytea')
  })

  it('uuid: any spelling uuid_in reads, out as lowercase', () => {
    fc.assert(
      fc.property(fc.uuid(), (u) => {
        expect(roundTrip(O.UUID, u.toUpperCase())).toBe(u)
        expect(roundTrip(O.UUID, `{${u.replace(/-/g, '')}}`)).toBe(u)
      }),
    )
    expect(roundTrip(O.UUID, 'a0eebc999c0b4ef8-bb6d-6bb9bd380a11')).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')
    for (const bad of ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1', '{a0eebc999c0b4ef8bb6d6bb9bd380a11', 'a0eeb-c999c0b4ef8bb6d6bb9bd380a11']) {
      expect(refusal(O.UUID, bad)).toMatch(/as uuid$/)
    }
  })

  it('json: strings are JSON text, everything else is stringified', () => {
    fc.assert(
      // Top-level strings are taken as JSON text, and null is SQL NULL: both leave this property.
      fc.property(fc.jsonValue().filter((v) => typeof v !== 'string' && v !== null), (v) => {
        expect(roundTrip(O.JSONB, v)).toEqual(JSON.parse(JSON.stringify(v)))
      }),
    )
    expect(enc(O.JSON_TYPE, '{"a": 1}')).toBe('{"a": 1}')
    expect(enc(O.JSON_TYPE, [1, 'x'])).toBe('[1,"x"]')
    expect(refusal(O.JSONB, { n: 1n })).toMatch(/^parameter \$1: cannot encode an object as jsonb: .*BigInt/)
    expect(refusal(O.JSON_TYPE, () => 1)).toBe('parameter $1: cannot encode a function as json')
    // In json[] a JS array is one JSON value, not a dimension.
    expect(enc(O.JSONB_ARRAY, [[1, 2], { a: [3] }, null])).toBe('{"[1,2]","{\\"a\\":[3]}",NULL}')
  })
})

describe('user encoders', () => {
  it('registerEncoder overrides in a child only; arrays follow', () => {
    const child = new TypeMap(defaultTypeMap)
    child.registerEncoder(O.INT4, { format: 0, encode: (v) => `${String(v)}` })
    expect(child.encoder(O.INT4_ARRAY)!.encode([1, null], 0)).toBe('{"1",NULL}')
    expect(defaultTypeMap.encoder(O.INT4_ARRAY)!.format).toBe(1)
    expect(new TypeMap().encoder(O.INT4)).toBeUndefined()
    expect(defaultTypeMap.encoder(999_999)).toBeUndefined()
  })
})
