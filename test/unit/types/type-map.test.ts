import { describe, expect, it } from 'vitest'
import { TypeMap, defaultTypeMap } from '../../../src/types/index.js'
import * as O from '../../../src/types/oids.js'
import { embed } from './helpers.js'

function run(map: TypeMap, oid: number, format: 0 | 1, bytes: Buffer | string): unknown {
  const { buf, start, end } = embed(bytes)
  return map.decoder(oid, format)(buf, start, end)
}

describe('TypeMap', () => {
  it('unknown OIDs: text as a UTF-8 string, binary as a copy of the bytes', () => {
    expect(run(defaultTypeMap, 999_999, 0, 'ünknown')).toBe('ünknown')
    const { buf, start, end } = embed(Buffer.from([5, 6]))
    const got = defaultTypeMap.decoder(999_999, 1)(buf, start, end)
    buf.fill(0)
    expect(got).toEqual(Buffer.from([5, 6]))
    expect(defaultTypeMap.hasBinary(999_999)).toBe(false)
  })

  it('reports binary support for registered types and their arrays', () => {
    for (const oid of [O.INT4, O.INT8, O.TIMESTAMPTZ, O.INT4_ARRAY, O.JSONB_ARRAY]) {
      expect(defaultTypeMap.hasBinary(oid)).toBe(true)
    }
    expect(defaultTypeMap.hasBinary(O.BOX_ARRAY)).toBe(true)
    // Text only: money's binary form needs the server's locale to spell.
    for (const oid of [O.MONEY, O.MONEY_ARRAY, O.TSVECTOR, O.TSQUERY]) expect(defaultTypeMap.hasBinary(oid)).toBe(false)
  })

  it('prefers text for numeric and uuid, unless the deciding map has only a binary decoder', () => {
    // Their text form is the cheaper one to turn into the default JS value.
    for (const oid of [O.NUMERIC, O.UUID, O.NUMERIC_ARRAY, O.NUMRANGE]) expect(defaultTypeMap.hasBinary(oid)).toBe(false)
    const child = new TypeMap(defaultTypeMap)
    child.registerDecoder(O.NUMERIC, 1, (buf, s) => buf.readInt16BE(s))
    expect(child.hasBinary(O.NUMERIC)).toBe(true)
    expect(child.hasBinary(O.NUMERIC_ARRAY)).toBe(true)
    const both = new TypeMap(defaultTypeMap)
    both.registerDecoder(O.UUID, 0, () => 'text')
    both.registerDecoder(O.UUID, 1, () => 'binary')
    expect(both.hasBinary(O.UUID)).toBe(false)
  })

  it('children inherit, and their registrations do not leak into the parent', () => {
    const child = new TypeMap(defaultTypeMap)
    expect(run(child, O.INT4, 0, '42')).toBe(42)
    child.registerDecoder(O.INT8, 0, (buf, s, e) => Number(buf.toString('latin1', s, e)))
    expect(run(child, O.INT8, 0, '7')).toBe(7)
    expect(run(defaultTypeMap, O.INT8, 0, '7')).toBe(7n)
    // Arrays are rebuilt from the child's element decoder.
    expect(run(child, O.INT8_ARRAY, 0, '{1,NULL}')).toEqual([1, null])
    expect(run(defaultTypeMap, O.INT8_ARRAY, 0, '{1,NULL}')).toEqual([1n, null])
    // Overriding only the text decoder makes the child ask for text.
    expect(child.hasBinary(O.INT8)).toBe(false)
    expect(child.hasBinary(O.INT8_ARRAY)).toBe(false)
    expect(defaultTypeMap.hasBinary(O.INT8)).toBe(true)
  })

  it('sees registrations made after a decoder was first resolved, even in an ancestor', () => {
    const parent = new TypeMap()
    const child = new TypeMap(parent)
    parent.registerArray(O.INT4, O.INT4_ARRAY)
    expect(run(child, O.INT4_ARRAY, 0, '{1}')).toEqual(['1'])
    parent.registerDecoder(O.INT4, 0, (buf, s) => buf[s]! - 0x30)
    expect(run(child, O.INT4_ARRAY, 0, '{1}')).toEqual([1])
  })

  it('registerArray takes a one-character delimiter', () => {
    const map = new TypeMap()
    map.registerArray(O.TEXT, 5555, '|')
    expect(run(map, 5555, 0, '{a,b|c}')).toEqual(['a,b', 'c'])
    expect(() => map.registerArray(O.TEXT, 5556, '||')).toThrow(TypeError)
  })

  it('an empty map knows nothing', () => {
    const map = new TypeMap()
    expect(run(map, O.INT4, 0, '42')).toBe('42')
    expect(map.hasBinary(O.INT4)).toBe(false)
  })
})

describe('TypeMap: encoders and derived types', () => {
  it('encoder() resolves registered encoders, arrays and ranges of them, and caches', () => {
    const e = defaultTypeMap.encoder(O.INT4_ARRAY)
    expect(e).toBe(defaultTypeMap.encoder(O.INT4_ARRAY))
    expect(e!.format).toBe(1)
    expect(defaultTypeMap.encoder(O.INT4MULTIRANGE_ARRAY)!.format).toBe(1)
    expect(defaultTypeMap.encoder(O.TSTZRANGE_ARRAY)!.format).toBe(0)
    expect(defaultTypeMap.encoder(O.UNKNOWN)!.format).toBe(0)
  })

  it('ranges and multiranges are binary when their subtype is, and follow subtype overrides', () => {
    expect(defaultTypeMap.hasBinary(O.INT4MULTIRANGE)).toBe(true)
    expect(defaultTypeMap.hasBinary(O.INT8RANGE_ARRAY)).toBe(true)
    const child = new TypeMap(defaultTypeMap)
    child.registerDecoder(O.INT4, 0, (buf, s, e) => `int:${buf.toString('latin1', s, e)}`)
    expect(child.hasBinary(O.INT4RANGE)).toBe(false)
    expect(run(child, O.INT4MULTIRANGE, 0, '{[1,2)}')).toEqual([{ lower: 'int:1', upper: 'int:2', lowerInclusive: true, upperInclusive: false, empty: false }])
    // A range declared in an empty map, over text: bounds come back as strings.
    const m = new TypeMap()
    m.registerRange(O.TEXT, 777, undefined, 778)
    expect(run(m, 778, 0, '{[a,b]}')).toEqual([{ lower: 'a', upper: 'b', lowerInclusive: true, upperInclusive: true, empty: false }])
    expect(m.encoder(777)).toBeUndefined() // no text encoder in this map, so none for its range
  })
})
