// float4, float8 -> number. The server spells the specials NaN, Infinity and
// -Infinity, which Number() parses as-is; "-0" keeps its sign.
import type { TypeMap } from './type-map.js'
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

export function register(map: TypeMap): void {
  map.registerDecoder(O.FLOAT4, 0, decodeFloatText)
  map.registerDecoder(O.FLOAT8, 0, decodeFloatText)
  map.registerDecoder(O.FLOAT4, 1, decodeFloat4Binary)
  map.registerDecoder(O.FLOAT8, 1, decodeFloat8Binary)
  map.registerArray(O.FLOAT4, O.FLOAT4_ARRAY)
  map.registerArray(O.FLOAT8, O.FLOAT8_ARRAY)
}
