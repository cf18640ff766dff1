// numeric -> string, exact. Text is passed through as the server printed it.
// Binary is rebuilt into the very same text, so the format choice is invisible.
// TypeOptions.numeric 'number' trades exactness for convenience. Parameters go
// as text: the server's own parser is the exact one.
import type { TypeMap } from './type-map.js'
import { makeEncoder } from './param.js'
import * as O from './oids.js'

// Binary layout: int16 ndigits, int16 weight, uint16 sign, int16 dscale, then
// ndigits base-10000 digits (int16). Digit i is worth 10000^(weight - i).
const SIGN_NEG = 0x4000
const SIGN_NAN = 0xc000
const SIGN_PINF = 0xd000 // PostgreSQL 14+
const SIGN_NINF = 0xf000

export function decodeNumericText(buf: Buffer, start: number, end: number): string {
  return buf.toString('latin1', start, end)
}

export function decodeNumericBinary(buf: Buffer, start: number): string {
  const ndigits = buf.readInt16BE(start)
  const weight = buf.readInt16BE(start + 2)
  const sign = buf.readUInt16BE(start + 4)
  const dscale = buf.readInt16BE(start + 6)
  if (sign === SIGN_NAN) return 'NaN'
  if (sign === SIGN_PINF) return 'Infinity'
  if (sign === SIGN_NINF) return '-Infinity'
  const at = start + 8

  let s = sign === SIGN_NEG ? '-' : ''
  if (weight < 0) {
    s += '0'
  } else {
    // The leading group prints without padding, later ones as 4 digits.
    s += String(group(buf, at, ndigits, 0))
    for (let i = 1; i <= weight; i++) s += pad4(group(buf, at, ndigits, i))
  }
  if (dscale > 0) {
    let frac = ''
    // Groups after the point start at index weight + 1; print whole groups
    // then cut to dscale (which can also ask for zeros past the last digit).
    for (let i = weight + 1; frac.length < dscale; i++) frac += pad4(group(buf, at, ndigits, i))
    s += '.' + frac.slice(0, dscale)
  }
  return s
}

/** Base-10000 digit i; indexes outside [0, ndigits) are implied zeros. */
function group(buf: Buffer, at: number, ndigits: number, i: number): number {
  return i >= 0 && i < ndigits ? buf.readInt16BE(at + 2 * i) : 0
}

function pad4(n: number): string {
  return n >= 1000 ? String(n) : n >= 100 ? '0' + n : n >= 10 ? '00' + n : '000' + n
}

export const decodeNumericTextNumber = (buf: Buffer, start: number, end: number): number =>
  Number(buf.toString('latin1', start, end))
export const decodeNumericBinaryNumber = (buf: Buffer, start: number): number => Number(decodeNumericBinary(buf, start))

/** numeric_in's input (PostgreSQL 16+ adds '_' separators and 0x/0o/0b integers). */
const NUMERIC_LITERAL =
  /^\s*(?:nan|[+-]?inf(?:inity)?|[+-]?(?:(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:e[+-]?\d+)?|0x(?:_?[0-9a-f])+|0o(?:_?[0-7])+|0b(?:_?[01])+))\s*$/i

const numericEncoder = makeEncoder(O.NUMERIC, 'numeric', 0, (value) => {
  switch (typeof value) {
    case 'number':
      // String() spells NaN, Infinity and exponents (1e+21) in forms numeric_in reads.
      return String(value)
    case 'bigint':
      return value.toString()
    case 'string':
      return NUMERIC_LITERAL.test(value) ? value : undefined
  }
  return undefined
})

export function register(map: TypeMap): void {
  map.registerEncoder(O.NUMERIC, numericEncoder)
  map.registerDecoder(O.NUMERIC, 0, decodeNumericText)
  map.registerDecoder(O.NUMERIC, 1, decodeNumericBinary)
  map.registerArray(O.NUMERIC, O.NUMERIC_ARRAY)
}
