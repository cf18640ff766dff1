// int2, int4, oid -> number; int8 -> bigint (exact: a number would silently
// lose precision past 2^53, and a string would push parsing onto every caller;
// TypeOptions.int8 offers 'number' and 'string'). Parameters go binary.
import type { TypeMap } from './type-map.js'
import { makeEncoder, refuse, Refusal } from './param.js'
import * as O from './oids.js'

const MINUS = 0x2d
const ZERO = 0x30

/** Text int2/int4/oid: digits straight from the bytes, no intermediate string. */
export function decodeIntText(buf: Buffer, start: number, end: number): number {
  let i = start
  const neg = buf[i] === MINUS
  if (neg) i++
  let n = 0
  for (; i < end; i++) n = n * 10 + (buf[i]! - ZERO)
  // `0 - n` rather than `-n` so "-0" (never sent, but legal input) gives +0.
  return neg ? 0 - n : n
}

/** Text int8. Up to 15 digits fit a double exactly, so only longer values pay for a string. */
export function decodeInt8Text(buf: Buffer, start: number, end: number): bigint {
  if (end - start <= 15) return BigInt(decodeIntText(buf, start, end))
  return BigInt(buf.toString('latin1', start, end))
}

const decodeInt2Binary = (buf: Buffer, start: number): number => buf.readInt16BE(start)
const decodeInt4Binary = (buf: Buffer, start: number): number => buf.readInt32BE(start)
const decodeOidBinary = (buf: Buffer, start: number): number => buf.readUInt32BE(start)


function unsafe(text: string): never {
  throw new RangeError(`int8 value ${text} does not fit a JS number exactly (beyond ±(2^53 - 1)); use the int8 'bigint' or 'string' option`)
}

/** int8 as a number (TypeOptions.int8 'number'); values a double cannot hold exactly throw. */
export function decodeInt8TextNumber(buf: Buffer, start: number, end: number): number {
  if (end - start <= 15) return decodeIntText(buf, start, end)
  const n = Number(buf.toString('latin1', start, end))
  return Number.isSafeInteger(n) ? n : unsafe(buf.toString('latin1', start, end))
}

export function decodeInt8BinaryNumber(buf: Buffer, start: number): number {
  // hi * 2^32 + lo is exact whenever the result is within ±2^53.
  const hi = buf.readInt32BE(start)
  const n = hi * 4_294_967_296 + buf.readUInt32BE(start + 4)
  return hi >= -0x200000 && hi < 0x200000 && Number.isSafeInteger(n) ? n : unsafe(buf.readBigInt64BE(start).toString())
}

export const decodeInt8TextString = (buf: Buffer, start: number, end: number): string => buf.toString('latin1', start, end)
export const decodeInt8Binary = (buf: Buffer, start: number): bigint => buf.readBigInt64BE(start)
export const decodeInt8BinaryString = (buf: Buffer, start: number): string => buf.readBigInt64BE(start).toString()

/**
 * Integer literals as PostgreSQL 16+ reads them: optional sign and
 * whitespace, decimal, 0x/0o/0b, '_' between digits. Older servers accept
 * fewer forms, but parameters go binary, so the server never sees the text.
 */
const INT_LITERAL = /^\s*([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|\d(?:_?\d)*)\s*$/

export function parseIntLiteral(s: string): bigint | undefined {
  const m = INT_LITERAL.exec(s)
  if (m === null) return undefined
  const n = BigInt(m[2]!.replace(/_/g, ''))
  return m[1] === '-' ? -n : n
}

/** A JS value as an integer, or why it is not one. */
function integer(value: unknown): number | bigint | Refusal | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) ? value : refuse('not an integer')
    case 'bigint':
      return value
    case 'string':
      return parseIntLiteral(value)
  }
  return undefined
}

function intEncoder(oid: number, type: string, min: number, max: number, size: 2 | 4) {
  return makeEncoder(oid, type, 1, (value) => {
    const n = integer(value)
    if (n === undefined || n instanceof Refusal) return n
    if (n < min || n > max) return refuse(`out of range for ${type}`)
    const out = Buffer.allocUnsafe(size)
    if (size === 2) out.writeInt16BE(Number(n))
    else if (max > 0x7fffffff) out.writeUInt32BE(Number(n) >>> 0)
    else out.writeInt32BE(Number(n))
    return out
  })
}

const INT8_MIN = -(2n ** 63n)
const INT8_MAX = 2n ** 63n - 1n

const int8Encoder = makeEncoder(O.INT8, 'int8', 1, (value) => {
  const n = integer(value)
  if (n === undefined || n instanceof Refusal) return n
  const b = BigInt(n)
  if (b < INT8_MIN || b > INT8_MAX) return refuse('out of range for int8')
  const out = Buffer.allocUnsafe(8)
  out.writeBigInt64BE(b)
  return out
})

export function register(map: TypeMap): void {
  map.registerDecoder(O.INT2, 0, decodeIntText)
  map.registerDecoder(O.INT4, 0, decodeIntText)
  map.registerDecoder(O.OID, 0, decodeIntText)
  map.registerDecoder(O.INT8, 0, decodeInt8Text)
  map.registerDecoder(O.INT2, 1, decodeInt2Binary)
  map.registerDecoder(O.INT4, 1, decodeInt4Binary)
  map.registerDecoder(O.OID, 1, decodeOidBinary)
  map.registerDecoder(O.INT8, 1, decodeInt8Binary)
  map.registerEncoder(O.INT2, intEncoder(O.INT2, 'int2', -0x8000, 0x7fff, 2))
  map.registerEncoder(O.INT4, intEncoder(O.INT4, 'int4', -0x80000000, 0x7fffffff, 4))
  // oidin also takes negative int4 values, as the unsigned value with the same bits.
  map.registerEncoder(O.OID, intEncoder(O.OID, 'oid', -0x80000000, 0xffffffff, 4))
  map.registerEncoder(O.INT8, int8Encoder)
  map.registerArray(O.INT2, O.INT2_ARRAY)
  map.registerArray(O.INT4, O.INT4_ARRAY)
  map.registerArray(O.OID, O.OID_ARRAY)
  map.registerArray(O.INT8, O.INT8_ARRAY)
}
