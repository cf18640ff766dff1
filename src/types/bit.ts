// bit, varbit -> string of '0' and '1', as the server prints them. Parameters
// go as text: a string of 0s and 1s, or the B'...'/X'...' bodies bit_in reads
// ('b0101', 'x1f').
import type { TypeMap } from './type-map.js'
import { makeEncoder, type TypedEncoder } from './param.js'
import { decodeUtf8 } from './text.js'
import * as O from './oids.js'

/** Binary: int32 bit count, then the bits packed high-bit first, the last byte zero-padded. */
export function decodeBitBinary(buf: Buffer, start: number): string {
  const n = buf.readInt32BE(start)
  let s = ''
  for (let i = 0; i < n; i++) s += (buf[start + 4 + (i >> 3)]! >> (7 - (i & 7))) & 1 ? '1' : '0'
  return s
}

const BIT_LITERAL = /^(?:[bB]?[01]*|[xX][0-9a-fA-F]*)$/

function bitEncoder(oid: number, type: string): TypedEncoder {
  return makeEncoder(oid, type, 0, (value) => (typeof value === 'string' && BIT_LITERAL.test(value) ? value : undefined))
}

export function register(map: TypeMap): void {
  for (const [oid, arrayOid, name] of [
    [O.BIT, O.BIT_ARRAY, 'bit'],
    [O.VARBIT, O.VARBIT_ARRAY, 'varbit'],
  ] as const) {
    map.registerDecoder(oid, 0, decodeUtf8)
    map.registerDecoder(oid, 1, decodeBitBinary)
    map.registerEncoder(oid, bitEncoder(oid, name))
    map.registerArray(oid, arrayOid)
  }
}
