import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { TypeMap, defaultTypeMap, extensionTypes, registerHstore, type Hstore } from '../../../src/types/index.js'
import * as O from '../../../src/types/oids.js'
import { embed } from './helpers.js'

const HSTORE = 900_100
const HSTORE_ARRAY = 900_101
const map = new TypeMap(defaultTypeMap)
registerHstore(map, HSTORE, HSTORE_ARRAY)

const run = (m: TypeMap, oid: number, format: 0 | 1, bytes: Buffer | string): unknown => {
  const { buf, start, end } = embed(bytes)
  return m.decoder(oid, format)(buf, start, end)
}

function hstoreBinary(h: Hstore): Buffer {
  const parts: Buffer[] = []
  const int = (n: number): Buffer => {
    const b = Buffer.alloc(4)
    b.writeInt32BE(n)
    return b
  }
  const entries = Object.entries(h)
  parts.push(int(entries.length))
  for (const [k, v] of entries) {
    parts.push(int(Buffer.byteLength(k)), Buffer.from(k))
    parts.push(v === null ? int(-1) : Buffer.concat([int(Buffer.byteLength(v)), Buffer.from(v)]))
  }
  return Buffer.concat(parts)
}

describe('hstore', () => {
  const text = fc.string({ unit: 'grapheme', maxLength: 6 }).filter((s) => !s.includes('\0'))
  const hstore = fc.dictionary(fc.oneof(text, fc.constantFrom('NULL', '__proto__', '"', '\\', '=>', ', ')), fc.option(text), { maxKeys: 5 })

  it('our text encoding, the text decoder and the binary decoder agree', () => {
    fc.assert(
      fc.property(hstore, (h) => {
        const literal = map.encoder(HSTORE)!.encode(h, 0) as string
        expect(run(map, HSTORE, 0, literal)).toEqual(h)
        expect(run(map, HSTORE, 1, hstoreBinary(h))).toEqual(h)
      }),
    )
  })

  it('reads the server spelling, unquoted tokens, and refuses garbage', () => {
    expect(run(map, HSTORE, 0, '"a"=>"1", "b"=>NULL')).toEqual({ a: '1', b: null })
    expect(run(map, HSTORE, 0, ' a => 1 ,b=>null, c=>"NULL"')).toEqual({ a: '1', b: null, c: 'NULL' })
    expect(run(map, HSTORE, 0, '')).toEqual({})
    expect(run(map, HSTORE_ARRAY, 0, '{"\\"a\\"=>\\"1\\"",NULL}')).toEqual([{ a: '1' }, null])
    expect(() => run(map, HSTORE, 0, '"a" 1')).toThrow(/expected "=>"/)
    expect(map.encoder(HSTORE)!.encode(new Map([['k', null]]), 0)).toBe('"k"=>NULL')
    expect(extensionTypes.get('hstore')).toBe(registerHstore)
    expect([...extensionTypes.keys()].sort()).toEqual(['citext', 'hstore'])
  })
})

describe('TypeOptions', () => {
  const int8 = (n: bigint): Buffer => {
    const b = Buffer.alloc(8)
    b.writeBigInt64BE(n)
    return b
  }

  it("int8 'number': exact values only, with a RangeError naming the value and int8", () => {
    const m = new TypeMap(defaultTypeMap, { int8: 'number' })
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        const safe = n >= -(2n ** 53n - 1n) && n <= 2n ** 53n - 1n
        for (const [format, bytes] of [
          [0, String(n)],
          [1, int8(n)],
        ] as const) {
          if (safe) expect(run(m, O.INT8, format, bytes)).toBe(Number(n))
          else expect(() => run(m, O.INT8, format, bytes)).toThrow(new RangeError(`int8 value ${n} does not fit a JS number exactly (beyond ±(2^53 - 1)); use the int8 'bigint' or 'string' option`))
        }
      }),
    )
    expect(() => run(m, O.INT8, 1, int8(-(2n ** 53n)))).toThrow(RangeError)
    expect(run(m, O.INT8_ARRAY, 0, '{1,NULL}')).toEqual([1, null])
    expect(run(m, O.INT8RANGE, 0, '[1,5)')).toMatchObject({ lower: 1, upper: 5 })
  })

  it("int8 'string', numeric 'number', json 'string', date 'Date'", () => {
    const m = new TypeMap(defaultTypeMap).configure({ int8: 'string', numeric: 'number', json: 'string', date: 'Date' })
    expect(run(m, O.INT8, 1, int8(-(2n ** 63n)))).toBe('-9223372036854775808')
    expect(run(m, O.NUMERIC, 0, '1.50')).toBe(1.5)
    expect(run(m, O.NUMERIC, 1, Buffer.from([0, 0, 0, 0, 0xc0, 0, 0, 0]))).toBeNaN()
    expect(run(m, O.JSONB, 1, Buffer.from('\x01{"a": 1}'))).toBe('{"a": 1}')
    expect(run(m, O.JSON_TYPE, 0, ' [1] ')).toBe(' [1] ')
    expect(run(m, O.DATE, 0, '2024-01-02')).toEqual(new Date(Date.UTC(2024, 0, 2)))
    // Binary stays on, and the parent keeps its mapping.
    expect(m.hasBinary(O.INT8)).toBe(true)
    expect(run(defaultTypeMap, O.INT8, 0, '7')).toBe(7n)
    expect(run(defaultTypeMap, O.DATE, 0, '2024-01-02')).toBe('2024-01-02')
  })

  it('a child configured back to the defaults gets them; unknown choices are refused', () => {
    const parent = new TypeMap(defaultTypeMap, { int8: 'string' })
    const child = new TypeMap(parent, { int8: 'bigint' })
    expect(run(child, O.INT8, 0, '5')).toBe(5n)
    expect(run(parent, O.INT8, 0, '5')).toBe('5')
    expect(() => new TypeMap(defaultTypeMap, { int8: 'float' as 'number' })).toThrow(
      new TypeError(`TypeOptions.int8 must be one of 'bigint', 'number', 'string', got "float"`),
    )
  })
})
