import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { NUMERIC } from '../../../src/types/oids.js'
import { decode } from './helpers.js'

/**
 * The binary numeric wire format, built here independently of the decoder:
 * base-10000 groups aligned on the decimal point. `normalize` strips zero
 * groups at both ends as the server does; the decoder must not depend on it.
 */
function numericBinary(text: string, normalize = true): Buffer {
  const special = { NaN: 0xc000, Infinity: 0xd000, '-Infinity': 0xf000 }[text]
  if (special !== undefined) return header(0, 0, special, 0, [])
  const neg = text.startsWith('-')
  const [ip = '', fp = ''] = (neg ? text.slice(1) : text).split('.')
  const ipPadded = ip.padStart(Math.ceil(ip.length / 4) * 4, '0')
  const fpPadded = fp.padEnd(Math.ceil(fp.length / 4) * 4, '0')
  const groups = (ipPadded + fpPadded).match(/\d{4}/g)?.map(Number) ?? []
  let weight = ipPadded.length / 4 - 1
  if (normalize) {
    while (groups.length > 0 && groups[0] === 0) {
      groups.shift()
      weight--
    }
    while (groups.length > 0 && groups[groups.length - 1] === 0) groups.pop()
    if (groups.length === 0) weight = 0
  }
  const zero = groups.every((g) => g === 0)
  return header(groups.length, weight, neg && !zero ? 0x4000 : 0, fp.length, groups)
}

function header(ndigits: number, weight: number, sign: number, dscale: number, groups: number[]): Buffer {
  const b = Buffer.alloc(8 + 2 * groups.length)
  b.writeInt16BE(ndigits, 0)
  b.writeInt16BE(weight, 2)
  b.writeUInt16BE(sign, 4)
  b.writeInt16BE(dscale, 6)
  groups.forEach((g, i) => b.writeInt16BE(g, 8 + 2 * i))
  return b
}

/** Decimal strings as the server prints them: no leading zeros, scale kept, no '-0'. */
const decimalText = fc
  .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 45n }), fc.stringMatching(/^[0-9]{0,40}$/))
  .map(([neg, ip, fp]) => {
    const zero = ip === 0n && /^0*$/.test(fp)
    return (neg && !zero ? '-' : '') + String(ip) + (fp === '' ? '' : '.' + fp)
  })

describe('numeric', () => {
  it('binary decodes to exactly the text the server prints', () => {
    fc.assert(
      fc.property(decimalText, (text) => {
        expect(decode(NUMERIC, 0, text)).toBe(text)
        expect(decode(NUMERIC, 1, numericBinary(text))).toBe(text)
        expect(decode(NUMERIC, 1, numericBinary(text, false))).toBe(text)
      }),
      { numRuns: 500 },
    )
  })

  it.each([
    '0', '0.0', '0.000100', '0.00000000000000000001', '10000', '9999.9999', '-0.5',
    '100000000.00000000', '123456789012345678901234567890.000000000000000000001', 'NaN', 'Infinity', '-Infinity',
  ])('%s', (text) => {
    expect(decode(NUMERIC, 1, numericBinary(text))).toBe(text)
  })

  it('dscale past the last stored digit prints zeros', () => {
    // 1.5 stored as one fractional group 5000 with dscale 6 -> '1.500000'.
    expect(decode(NUMERIC, 1, header(2, 0, 0, 6, [1, 5000]))).toBe('1.500000')
    // weight -2: the first group is 10000^-2, so four zeros follow the point.
    expect(decode(NUMERIC, 1, header(1, -2, 0x4000, 8, [12]))).toBe('-0.00000012')
  })
})
