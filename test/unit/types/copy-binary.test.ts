import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { numericBinary } from '../../../src/types/copy-binary.js'
import { decodeNumericBinary } from '../../../src/types/numeric.js'

// What PostgreSQL prints for a decimal literal: no leading zeros, the scale kept, no sign on zero.
function canonical(s: string): string {
  const neg = s.startsWith('-')
  const [i = '', f] = s.replace(/^[+-]/, '').split('.')
  const int = i.replace(/^0+/, '') || '0'
  const out = f === undefined || f === '' ? int : `${int}.${f}`
  return neg && /[1-9]/.test(out) ? '-' + out : out
}

describe('binary numeric for COPY', () => {
  it('encodes decimal strings the way the binary decoder reads them back', () => {
    const decimal = fc
      .tuple(fc.constantFrom('', '-', '+'), fc.stringMatching(/^[0-9]{1,30}$/), fc.option(fc.stringMatching(/^[0-9]{0,20}$/), { nil: undefined }))
      .map(([sign, i, f]) => sign + i + (f === undefined ? '' : '.' + f))
    fc.assert(
      fc.property(decimal, (s) => {
        expect(decodeNumericBinary(numericBinary(s, 0), 0)).toBe(canonical(s))
      }),
      { numRuns: 1000 },
    )
  })

  it('handles exponents, special values, numbers and bigints', () => {
    expect(decodeNumericBinary(numericBinary('1.5e3', 0), 0)).toBe('1500')
    expect(decodeNumericBinary(numericBinary('25e-4', 0), 0)).toBe('0.0025')
    expect(decodeNumericBinary(numericBinary('NaN', 0), 0)).toBe('NaN')
    expect(decodeNumericBinary(numericBinary('-Infinity', 0), 0)).toBe('-Infinity')
    expect(decodeNumericBinary(numericBinary(0.25, 0), 0)).toBe('0.25')
    expect(decodeNumericBinary(numericBinary(12345678901234567890n, 0), 0)).toBe('12345678901234567890')
    expect(() => numericBinary('1,5', 2)).toThrow(/column 3/)
  })
})
