// LSNs: the server's 'X/Y' text form both ways, ordering, and the range and
// type checks.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LSN_MAX, LSN_ZERO, checkLsn, compareLsn, formatLsn, parseLsn } from '../../../src/replication/index.js'

const lsn = fc.bigInt({ min: 0n, max: LSN_MAX })
const hexHalf = fc.stringMatching(/^[0-9a-fA-F]{1,8}$/)
const padded = (v: bigint): string => v.toString(16).padStart(16, '0')

describe('parseLsn', () => {
  it.each([
    ['0/0', 0n],
    ['0/16B3748', 0x16b3748n],
    ['0/16b3748', 0x16b3748n],
    ['16/B374D848', (0x16n << 32n) | 0xb374d848n],
    ['00000016/0000000A', (0x16n << 32n) | 0xan],
    ['1/0', 1n << 32n],
    ['FFFFFFFF/FFFFFFFF', LSN_MAX],
    ['ffffffff/ffffffff', LSN_MAX],
  ])('%s', (text, value) => {
    expect(parseLsn(text)).toBe(value)
  })

  it.each(['', '0', '0/', '/0', '/', '0//0', '123456789/0', '0/123456789', ' 0/1', '0/1 ', 'g/1', '0x1/2', '1/-2', '+1/2', '1.5/2', '0/1\n', '０/1'])(
    'refuses %j with a TypeError naming it',
    (text) => {
      expect(() => parseLsn(text)).toThrow(TypeError)
      expect(() => parseLsn(text)).toThrow(JSON.stringify(text))
    },
  )

  it('refuses what is not a string', () => {
    expect(() => parseLsn(12 as unknown as string)).toThrow(TypeError)
    expect(() => parseLsn(undefined as unknown as string)).toThrow(/invalid LSN undefined/)
  })
})

describe('formatLsn', () => {
  it.each([
    [0n, '0/0'],
    [0x16b3748n, '0/16B3748'],
    [(0x16n << 32n) | 0xb374d848n, '16/B374D848'],
    [1n << 32n, '1/0'],
    [LSN_MAX, 'FFFFFFFF/FFFFFFFF'],
  ])('%s', (value, text) => {
    expect(formatLsn(value)).toBe(text)
  })

  it('refuses values outside 0..2^64-1 with a RangeError, non-bigints with a TypeError', () => {
    expect(() => formatLsn(-1n)).toThrow(RangeError)
    expect(() => formatLsn(LSN_MAX + 1n)).toThrow(RangeError)
    expect(() => formatLsn(5 as unknown as bigint)).toThrow(TypeError)
  })
})

describe('compareLsn and checkLsn', () => {
  it('orders', () => {
    expect(compareLsn(1n, 2n)).toBe(-1)
    expect(compareLsn(2n, 2n)).toBe(0)
    expect(compareLsn(LSN_MAX, LSN_ZERO)).toBe(1)
    expect(() => compareLsn(-1n, 0n)).toThrow(RangeError)
    expect(() => compareLsn(0n, LSN_MAX + 1n)).toThrow(RangeError)
  })

  it('checkLsn returns its argument or throws', () => {
    expect(checkLsn(LSN_MAX)).toBe(LSN_MAX)
    expect(() => checkLsn(-1n)).toThrow(RangeError)
    expect(() => checkLsn('0/0' as unknown as bigint)).toThrow(TypeError)
  })
})

describe('properties', () => {
  it('format then parse is the identity', () => {
    fc.assert(fc.property(lsn, (v) => parseLsn(formatLsn(v)) === v))
  })

  it('parse then format gives the server form (upper case, no zero padding)', () => {
    fc.assert(
      fc.property(hexHalf, hexHalf, (hi, lo) => {
        const strip = (s: string): string => s.replace(/^0+(?=.)/, '').toUpperCase()
        expect(formatLsn(parseLsn(`${hi}/${lo}`))).toBe(`${strip(hi)}/${strip(lo)}`)
      }),
    )
  })

  it('compareLsn agrees with the string order of zero-padded hex', () => {
    fc.assert(
      fc.property(lsn, lsn, (a, b) => {
        const pa = padded(a)
        const pb = padded(b)
        expect(compareLsn(a, b)).toBe(pa < pb ? -1 : pa > pb ? 1 : 0)
      }),
    )
  })

  it('sorting with compareLsn sorts the text forms by position', () => {
    fc.assert(
      fc.property(fc.array(lsn, { maxLength: 20 }), (values) => {
        const sorted = values.map(formatLsn).sort((x, y) => compareLsn(parseLsn(x), parseLsn(y)))
        expect(sorted.map((t) => padded(parseLsn(t)))).toEqual(values.map(padded).sort())
      }),
    )
  })

  it('any other string is a TypeError, never a wrong value', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (s) => {
        if (/^[0-9a-fA-F]{1,8}\/[0-9a-fA-F]{1,8}$/.test(s)) return
        expect(() => parseLsn(s)).toThrow(TypeError)
      }),
    )
  })
})
