import { describe, expect, it } from 'vitest'
import { InterfaceError, ParameterError } from '../../../src/errors.js'
import { defaultTypeMap } from '../../../src/types/index.js'

const encode = (v: unknown, index = 0): ReturnType<typeof defaultTypeMap.encode> => defaultTypeMap.encode(v, index)
const text = (v: unknown): unknown => encode(v).value

function paramError(v: unknown, index = 0): ParameterError {
  try {
    encode(v, index)
  } catch (err) {
    expect(err).toBeInstanceOf(ParameterError)
    expect(err).toBeInstanceOf(InterfaceError)
    return err as ParameterError
  }
  throw new Error('expected a ParameterError')
}

describe('encode: scalars', () => {
  it('null and undefined are SQL NULL', () => {
    expect(encode(null)).toEqual({ oid: 0, format: 0, value: null })
    expect(encode(undefined)).toEqual({ oid: 0, format: 0, value: null })
  })

  it('strings, numbers, bigints, booleans go as text with OID 0', () => {
    expect(encode('héllo')).toEqual({ oid: 0, format: 0, value: 'héllo' })
    expect(text(1.5)).toBe('1.5')
    expect(text(NaN)).toBe('NaN')
    expect(text(Infinity)).toBe('Infinity')
    expect(text(-Infinity)).toBe('-Infinity')
    expect(text(-0)).toBe('-0')
    expect(text(1e21)).toBe('1e+21')
    expect(text(2n ** 64n)).toBe('18446744073709551616')
    expect(text(true)).toBe('true')
    expect(text(false)).toBe('false')
  })

  it('Dates as ISO 8601 with a UTC offset, BC and 5-digit years included', () => {
    expect(text(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)))).toBe('2024-01-02T03:04:05.006+00:00')
    expect(text(new Date(Date.UTC(-43, 2, 15, 12)))).toBe('0044-03-15T12:00:00.000+00:00 BC')
    expect(text(new Date('0000-06-01T00:00:00Z'))).toBe('0001-06-01T00:00:00.000+00:00 BC')
    expect(text(new Date(Date.UTC(20000, 0, 1)))).toBe('20000-01-01T00:00:00.000+00:00')
  })

  it('bytes go binary as bytea, without copying', () => {
    const buf = Buffer.from([1, 2, 3])
    const p = encode(buf)
    expect(p.oid).toBe(17)
    expect(p.format).toBe(1)
    expect(p.value).toBe(buf)
    const u8 = new Uint8Array([9, 8, 7]).subarray(1)
    const q = encode(u8).value as Buffer
    expect(Buffer.isBuffer(q)).toBe(true)
    expect([...q]).toEqual([8, 7])
    expect(q.buffer).toBe(u8.buffer)
  })

  it('plain objects and toJSON objects go as JSON', () => {
    expect(text({ a: [1, 'x'], b: null })).toBe('{"a":[1,"x"],"b":null}')
    const bare = Object.assign(Object.create(null) as object, { k: 1 })
    expect(text(bare)).toBe('{"k":1}')
    class Money {
      toJSON(): string {
        return '1.50'
      }
    }
    expect(text(new Money())).toBe('"1.50"')
  })
})

describe('encode: arrays', () => {
  it('builds quoted, escaped literals', () => {
    expect(text([])).toBe('{}')
    expect(text([1, null, undefined, 2n, true])).toBe('{1,NULL,NULL,2,true}')
    expect(text(['a', 'NULL', 'q"\\', ''])).toBe('{"a","NULL","q\\"\\\\",""}')
    expect(text([[1, 2], [3, 4]])).toBe('{{1,2},{3,4}}')
    expect(text([new Date(Date.UTC(2024, 0, 1))])).toBe('{"2024-01-01T00:00:00.000+00:00"}')
    expect(text([{ a: 'x' }])).toBe('{"{\\"a\\":\\"x\\"}"}')
  })
})

describe('encode: ParameterError', () => {
  it.each<[unknown, string, string]>([
    [new Map(), 'a Map', 'object Map'],
    [new Set(), 'a Set', 'object Set'],
    [new WeakMap(), 'a WeakMap', 'object WeakMap'],
    [Promise.resolve(), 'a Promise', 'object Promise'],
    [new Int32Array(1), 'an Int32Array', 'object Int32Array'],
    [Symbol('s'), 'a symbol', 'symbol'],
    [() => 1, 'a function', 'function'],
    [new (class Point {})(), 'a Point', 'object Point'],
  ])('%s', (value, described, valueType) => {
    const err = paramError(value, 1)
    expect(err.message).toBe(`cannot encode parameter $2: no codec accepts ${described}`)
    expect(err.index).toBe(1)
    expect(err.valueType).toBe(valueType)
  })

  it('a string with a NUL byte', () => {
    const err = paramError('a\0b', 0)
    expect(err.message).toMatch(/^cannot encode parameter \$1: .*NUL/)
    expect(err.valueType).toBe('string')
    expect(paramError(['ok', 'a\0'], 2).message).toMatch(/^cannot encode parameter \$3: .*NUL/)
  })

  it('an invalid Date', () => {
    expect(paramError(new Date(NaN), 4).message).toBe('cannot encode parameter $5: invalid Date')
  })

  it('unencodable array elements name the parameter', () => {
    expect(paramError([1, [new Map()]], 0).message).toBe('cannot encode parameter $1: no codec accepts a Map')
  })

  it('cyclic arrays and over-deep nesting', () => {
    const cyclic: unknown[] = [1]
    cyclic.push(cyclic)
    expect(paramError(cyclic).message).toMatch(/^cannot encode parameter \$1: arrays nested more than 6 deep/)
    expect(paramError([[[[[[[1]]]]]]]).message).toMatch(/nested more than 6/)
    expect(text([[[[[[1]]]]]])).toBe('{{{{{{1}}}}}}')
  })

  it('JSON.stringify failures keep their cause', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const err = paramError(cyclic, 0)
    expect(err.message).toMatch(/^cannot encode parameter \$1 as JSON: /)
    expect(err.cause).toBeInstanceOf(TypeError)
    expect(paramError({ n: 1n }).message).toMatch(/BigInt/)
  })
})

describe('encode: ranges and toPostgres()', () => {
  it('PgRange goes as a range literal, bounds spelled like any other value', async () => {
    const { PgRange, PgInterval } = await import('../../../src/types/index.js')
    expect(text(new PgRange(1, 5, '[]'))).toBe('["1","5"]')
    expect(text(new PgRange(null, new Date(Date.UTC(2024, 0, 1))))).toBe('(,"2024-01-01T00:00:00.000+00:00")')
    expect(text(PgRange.empty())).toBe('empty')
    expect(text([new PgRange('a"b', null)])).toBe('{"[\\"a\\\\\\"b\\",)"}')
    expect(text(new PgInterval(14, -3, 1_500_000))).toBe('P1Y2M-3DT1.5S')
    expect(text({ toPostgres: () => 'x' })).toBe('x')
    expect(paramError({ toPostgres: () => 'a\0' }).message).toMatch(/NUL/)
  })
})
