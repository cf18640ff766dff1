// float4, float8 -> number. The server spells the specials NaN, Infinity and
// -Infinity, which Number() parses as-is; "-0" keeps its sign. Parameters go
// binary: numbers, bigints and decimal strings, rounded once, as the server would.
import type { TypeMap } from './type-map.js'
import { makeEncoder, refuse, Refusal } from './param.js'
import * as O from './oids.js'

export function decodeFloatText(buf: Buffer, start: number, end: number): number {
  return Number(buf.toString('latin1', start, end))
}

const decodeFloat8Binary = (buf: Buffer, start: number): number => buf.readDoubleBE(start)

/**
 * Binary float4 widened to a double shows float noise (1.1 -> 1.100000023841858),
 * while the server's text output (PostgreSQL 12+, extra_float_digits >= 1) is
 * the shortest decimal that reads back as the same float4. Produce that decimal
 * so both formats decode alike: like the server, a candidate must lie strictly
 * inside the float4's rounding interval, and an exact tie between two
 * candidates goes to the even last digit.
 */
export function decodeFloat4Binary(buf: Buffer, start: number): number {
  const f = buf.readFloatBE(start)
  if (f === 0 || !Number.isFinite(f)) return f
  const bits = buf.readInt32BE(start)
  // Rounding interval ends: halfway to the neighbouring float4s (exact in a double).
  const lower = (f + float4FromBits(bits - 1)) / 2
  const upper = (f + float4FromBits(bits + 1)) / 2
  for (let p = 1; p <= 9; p++) {
    const s = f.toPrecision(p)
    const x = Number(s)
    if (Math.fround(x) !== f || x === lower || x === upper) continue
    // toPrecision breaks ties away from zero; the server breaks them to even.
    const next = f.toPrecision(p + 1)
    if (Number(next) !== f || lastDigit(next) !== 5 || lastDigit(s) % 2 === 0) return x
    const e = s.indexOf('e')
    const k = (e < 0 ? s.length : e) - 1
    const even = Number(s.slice(0, k) + String(lastDigit(s) - 1) + s.slice(k + 1))
    return Math.fround(even) === f && even !== lower && even !== upper ? even : x
  }
  return f // unreachable: 9 significant digits always identify a float4
}

const scratch = new DataView(new ArrayBuffer(4))

function float4FromBits(bits: number): number {
  scratch.setInt32(0, bits)
  return scratch.getFloat32(0)
}

/** The last significant digit of a toPrecision() result. */
function lastDigit(s: string): number {
  const e = s.indexOf('e')
  return s.charCodeAt((e < 0 ? s.length : e) - 1) - 0x30
}

const FLOAT_LITERAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i
const SPECIAL_LITERAL = /^\s*(nan|[+-]?inf(?:inity)?)\s*$/i
const OUT_OF_RANGE = refuse('out of range')

/** A float8in-style literal as a double (Number() rounds decimals correctly, as strtod does). */
function parseFloatLiteral(s: string): number | Refusal | undefined {
  const special = SPECIAL_LITERAL.exec(s)
  if (special !== null) {
    const word = special[1]!.toLowerCase()
    return word === 'nan' ? NaN : word.startsWith('-') ? -Infinity : Infinity
  }
  if (!FLOAT_LITERAL.test(s)) return undefined
  const n = Number(s)
  // Like the server: overflow, and underflow of a non-zero literal to zero, are errors.
  if (!Number.isFinite(n) || (n === 0 && /[1-9]/.test(s.replace(/e.*$/i, '')))) return OUT_OF_RANGE
  return n
}

function toDouble(value: unknown): number | Refusal | undefined {
  if (typeof value === 'number') return value
  if (typeof value === 'bigint') return Number.isFinite(Number(value)) ? Number(value) : OUT_OF_RANGE
  if (typeof value === 'string') return parseFloatLiteral(value)
  return undefined
}

const float8Encoder = makeEncoder(O.FLOAT8, 'float8', 1, (value) => {
  const n = toDouble(value)
  if (n === undefined || n instanceof Refusal) return n
  const out = Buffer.allocUnsafe(8)
  out.writeDoubleBE(n)
  return out
})

const float4Encoder = makeEncoder(O.FLOAT4, 'float4', 1, (value) => {
  const d = toDouble(value)
  if (d === undefined || d instanceof Refusal) return d
  let f = Math.fround(d)
  if (Number.isFinite(d) && (!Number.isFinite(f) || (f === 0 && d !== 0))) return refuse('out of range for float4')
  if (typeof value === 'string' && f !== d) f = fixDoubleRounding(value, d, f)
  const out = Buffer.allocUnsafe(4)
  out.writeFloatBE(f)
  return out
})

/**
 * A decimal rounded to a double and then to a float4 can land on the wrong
 * float4 when the double is exactly halfway between two float4s (the decimal
 * itself was not). The server rounds the decimal once; so must we: compare
 * the decimal with that midpoint exactly and take the float4 on its side.
 */
function fixDoubleRounding(literal: string, d: number, f: number): number {
  // Adding 1 to a float's bits steps away from zero, for either sign.
  const g = float4FromBits(float4Bits(f) + (Math.abs(d) > Math.abs(f) ? 1 : -1))
  if ((f + g) / 2 !== d) return f
  const m = /^\s*([+-]?)(\d*)\.?(\d*)(?:e([+-]?\d+))?\s*$/i.exec(literal)!
  const digits = BigInt((m[2]! + m[3]!) || '0')
  const exp10 = Number(m[4] ?? 0) - m[3]!.length
  const cmp = compareExact(digits, exp10, Math.abs(d))
  if (cmp === 0) return f // a true tie: fround already rounded it to even
  const beyond = cmp > 0 // the decimal's magnitude is past the midpoint
  return beyond === Math.abs(g) > Math.abs(f) ? g : f
}

/** Sign of digits * 10^exp10 - x, for a positive double x, in exact integer arithmetic. */
function compareExact(digits: bigint, exp10: number, x: number): number {
  scratch64.setFloat64(0, x)
  const hi = scratch64.getUint32(0)
  const bits = hi >>> 20
  const mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(scratch64.getUint32(4))
  const mantissa = bits === 0 ? mant : mant | (1n << 52n)
  const exp2 = (bits === 0 ? 1 : bits) - 1075
  let a = digits
  let b = mantissa
  if (exp10 >= 0) a *= 10n ** BigInt(exp10)
  else b *= 10n ** BigInt(-exp10)
  if (exp2 >= 0) b <<= BigInt(exp2)
  else a <<= BigInt(-exp2)
  return a === b ? 0 : a > b ? 1 : -1
}

const scratch64 = new DataView(new ArrayBuffer(8))

function float4Bits(f: number): number {
  scratch.setFloat32(0, f)
  return scratch.getInt32(0)
}

export function register(map: TypeMap): void {
  map.registerEncoder(O.FLOAT4, float4Encoder)
  map.registerEncoder(O.FLOAT8, float8Encoder)
  map.registerDecoder(O.FLOAT4, 0, decodeFloatText)
  map.registerDecoder(O.FLOAT8, 0, decodeFloatText)
  map.registerDecoder(O.FLOAT4, 1, decodeFloat4Binary)
  map.registerDecoder(O.FLOAT8, 1, decodeFloat8Binary)
  map.registerArray(O.FLOAT4, O.FLOAT4_ARRAY)
  map.registerArray(O.FLOAT8, O.FLOAT8_ARRAY)
}
