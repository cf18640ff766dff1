// int2, int4, oid -> number; int8 -> bigint (exact: a number would silently
// lose precision past 2^53, and a string would push parsing onto every caller).
import type { TypeMap } from './type-map.js'
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
const decodeInt8Binary = (buf: Buffer, start: number): bigint => buf.readBigInt64BE(start)

export function register(map: TypeMap): void {
  map.registerDecoder(O.INT2, 0, decodeIntText)
  map.registerDecoder(O.INT4, 0, decodeIntText)
  map.registerDecoder(O.OID, 0, decodeIntText)
  map.registerDecoder(O.INT8, 0, decodeInt8Text)
  map.registerDecoder(O.INT2, 1, decodeInt2Binary)
  map.registerDecoder(O.INT4, 1, decodeInt4Binary)
  map.registerDecoder(O.OID, 1, decodeOidBinary)
  map.registerDecoder(O.INT8, 1, decodeInt8Binary)
  map.registerArray(O.INT2, O.INT2_ARRAY)
  map.registerArray(O.INT4, O.INT4_ARRAY)
  map.registerArray(O.OID, O.OID_ARRAY)
  map.registerArray(O.INT8, O.INT8_ARRAY)
}
