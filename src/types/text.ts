// Character types -> string. Text and binary send the same bytes (in the
// client encoding, which the session pins to UTF8).
import type { TypeMap } from './type-map.js'
import * as O from './oids.js'

export function decodeUtf8(buf: Buffer, start: number, end: number): string {
  return buf.toString('utf8', start, end)
}

const TYPES: ReadonlyArray<readonly [number, number]> = [
  [O.TEXT, O.TEXT_ARRAY],
  [O.VARCHAR, O.VARCHAR_ARRAY],
  [O.BPCHAR, O.BPCHAR_ARRAY],
  [O.NAME, O.NAME_ARRAY],
  [O.CHAR, O.CHAR_ARRAY],
]

export function register(map: TypeMap): void {
  for (const [oid, arrayOid] of TYPES) {
    map.registerDecoder(oid, 0, decodeUtf8)
    map.registerDecoder(oid, 1, decodeUtf8)
    map.registerArray(oid, arrayOid)
  }
  // `unknown` (an untyped literal such as SELECT 'x') has no array type.
  map.registerDecoder(O.UNKNOWN, 0, decodeUtf8)
  map.registerDecoder(O.UNKNOWN, 1, decodeUtf8)
}
