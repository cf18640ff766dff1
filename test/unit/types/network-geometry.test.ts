import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { isIPv6 } from 'node:net'
import * as O from '../../../src/types/oids.js'
import { decode, refusal, roundTrip } from './helpers.js'

function inet(family: 2 | 3, bits: number, cidr: boolean, addr: number[]): Buffer {
  return Buffer.from([family, bits, cidr ? 1 : 0, addr.length, ...addr])
}

/** The 16 bytes of an IPv6 text address (for checking our spelling independently). */
function ipv6Bytes(text: string): number[] {
  const [head = '', tail] = text.split('::')
  const dotted = (w: string): number[] => {
    const [a = 0, b = 0, c = 0, d = 0] = w.split('.').map(Number)
    return [a * 256 + b, c * 256 + d]
  }
  const words = (s: string): number[] => (s === '' ? [] : s.split(':').flatMap((w) => (w.includes('.') ? dotted(w) : [parseInt(w, 16)])))
  const h = words(head)
  const t = tail === undefined ? [] : words(tail)
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]
  return all.flatMap((w) => [w >> 8, w & 255])
}

describe('inet and cidr', () => {
  it('IPv4: four octets, /bits unless an inet of 32 bits', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }), (a, bits) => {
        const addr = a.join('.')
        expect(decode(O.INET, 1, inet(2, bits, false, a))).toBe(bits === 32 ? addr : `${addr}/${bits}`)
        expect(decode(O.CIDR, 1, inet(2, bits, true, a))).toBe(`${addr}/${bits}`)
      }),
    )
  })

  it('IPv6: a valid, shortest spelling of the same bytes', () => {
    const word = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }))
    fc.assert(
      fc.property(fc.array(word, { minLength: 8, maxLength: 8 }), (words) => {
        const bytes = words.flatMap((w) => [w >> 8, w & 255])
        const text = decode(O.INET, 1, inet(3, 128, false, bytes)) as string
        expect(isIPv6(text)).toBe(true)
        expect(ipv6Bytes(text)).toEqual(bytes)
        expect(text).not.toMatch(/(^|:)0[0-9a-f]/) // no leading zeros in a group
      }),
    )
  })

  // As the server prints them (PostgreSQL 18).
  it.each<[number[], string]>([
    [[...new Array(15).fill(0), 1], '::1'],
    [new Array(16).fill(0), '::'],
    [[...new Array(10).fill(0), 255, 255, 1, 2, 3, 4], '::ffff:1.2.3.4'],
    [[...new Array(12).fill(0), 1, 2, 3, 4], '::1.2.3.4'],
    [[...new Array(15).fill(0), 2], '::2'],
    [[0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], '1:0:0:1::1'],
    [[0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4], '1::2:0:0:3:4'],
    [[0xfe, 0x80, ...new Array(14).fill(0)], 'fe80::'],
  ])('%j -> %s', (bytes, text) => {
    expect(decode(O.INET, 1, inet(3, 128, false, bytes))).toBe(text)
    expect(decode(O.CIDR, 1, inet(3, 128, true, bytes))).toBe(`${text}/128`)
    expect(decode(O.INET, 1, inet(3, 64, false, bytes))).toBe(`${text}/64`)
  })

  it('mac addresses and parameters', () => {
    expect(decode(O.MACADDR, 1, Buffer.from([8, 0, 0x2b, 1, 2, 0xfe]))).toBe('08:00:2b:01:02:fe')
    expect(decode(O.MACADDR8, 1, Buffer.from([8, 0, 0x2b, 1, 2, 3, 4, 5]))).toBe('08:00:2b:01:02:03:04:05')
    expect(roundTrip(O.INET, '10.0.0.1/8')).toBe('10.0.0.1/8')
    expect(refusal(O.CIDR, 167772160)).toBe('parameter $1: cannot encode a number (167772160) as cidr')
  })
})

describe('bit and varbit', () => {
  it('binary bits spelled as 0s and 1s, the padding ignored', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 40 }), (bits) => {
        const text = bits.map((b) => (b ? '1' : '0')).join('')
        const bytes = Buffer.alloc(4 + Math.ceil(bits.length / 8))
        bytes.writeInt32BE(bits.length)
        bits.forEach((b, i) => {
          if (b) bytes[4 + (i >> 3)]! |= 0x80 >> (i & 7)
        })
        expect(decode(O.VARBIT, 1, bytes)).toBe(text)
        expect(decode(O.BIT, 0, text)).toBe(text)
        expect(roundTrip(O.VARBIT, text)).toBe(text)
      }),
    )
    expect(refusal(O.BIT, '012')).toBe('parameter $1: cannot encode a string (3 characters) as bit')
    expect(refusal(O.BIT, 5)).toBe('parameter $1: cannot encode a number (5) as bit')
  })
})

describe('geometric types', () => {
  const num = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e20, 1e-7))
  const f8 = (...ns: number[]): Buffer => {
    const b = Buffer.alloc(8 * ns.length)
    ns.forEach((n, i) => b.writeDoubleBE(n, 8 * i))
    return b
  }
  /** How the server spells a float8: like JS, but with a padded, signed exponent (1e+20, 1e-07). */
  const pg = (n: number): string => (Object.is(n, -0) ? '-0' : String(n).replace(/e([+-])(\d)$/, 'e$10$2'))

  it('text and binary decode to the same objects, and those round-trip as parameters', () => {
    fc.assert(
      fc.property(num, num, num, num, fc.boolean(), (a, b, c, d, closed) => {
        const p = { x: a, y: b }
        const q = { x: c, y: d }
        const check = (oid: number, text: string, bin: Buffer, value: unknown): void => {
          expect(decode(oid, 0, text)).toEqual(value)
          expect(decode(oid, 1, bin)).toEqual(value)
          expect(roundTrip(oid, value)).toEqual(value)
        }
        const pt = (v: { x: number; y: number }): string => `(${pg(v.x)},${pg(v.y)})`
        check(O.POINT, pt(p), f8(a, b), p)
        check(O.LINE, `{${pg(a)},${pg(b)},${pg(c)}}`, f8(a, b, c), { a, b, c })
        check(O.LSEG, `[${pt(p)},${pt(q)}]`, f8(a, b, c, d), { start: p, end: q })
        check(O.BOX, `${pt(p)},${pt(q)}`, f8(a, b, c, d), { high: p, low: q })
        check(O.CIRCLE, `<${pt(p)},${pg(c)}>`, f8(a, b, c), { x: a, y: b, radius: c })
        const count = Buffer.alloc(4)
        count.writeInt32BE(2)
        check(O.PATH, closed ? `(${pt(p)},${pt(q)})` : `[${pt(p)},${pt(q)}]`, Buffer.concat([Buffer.from([closed ? 1 : 0]), count, f8(a, b, c, d)]), { closed, points: [p, q] })
        check(O.POLYGON, `(${pt(p)},${pt(q)})`, Buffer.concat([count, f8(a, b, c, d)]), { points: [p, q] })
      }),
    )
  })

  it.each<[number, unknown, string]>([
    [O.POINT, [1, 2, 3], 'parameter $1: cannot encode an array (3 elements) as point'],
    [O.POINT, { x: 1 }, 'parameter $1: cannot encode an object as point'],
    [O.POINT, { x: 1, y: '2' }, 'parameter $1: cannot encode an object as point'],
    [O.CIRCLE, { x: 1, y: 2, r: 3 }, 'parameter $1: cannot encode an object as circle'],
    [O.POLYGON, { points: [] }, 'parameter $1: cannot encode an object as polygon'],
    [O.PATH, [{ x: 1, y: 2 }], 'parameter $1: cannot encode an array (1 element) as path'],
  ])('refuse %s %j', (oid, value, message) => {
    expect(refusal(oid, value)).toBe(message)
  })

  it('strings go as they are; an open path is [...]', () => {
    expect(roundTrip(O.POINT, '(1,2)')).toEqual({ x: 1, y: 2 })
    expect(roundTrip(O.PATH, { closed: false, points: [{ x: 0, y: 0 }] })).toEqual({ closed: false, points: [{ x: 0, y: 0 }] })
    expect(roundTrip(O.PATH, { points: [{ x: 0, y: 0 }] })).toEqual({ closed: true, points: [{ x: 0, y: 0 }] })
  })
})
