// json, jsonb -> JSON.parse result. Numbers beyond double precision lose
// digits, exactly as JSON.parse does anywhere else; register a custom
// decoder for these OIDs if that matters.
import type { TypeMap } from './type-map.js'
import * as O from './oids.js'

export function decodeJsonText(buf: Buffer, start: number, end: number): unknown {
  return JSON.parse(buf.toString('utf8', start, end))
}

/** Binary jsonb is a version byte (only 1 exists) followed by the JSON text. */
export function decodeJsonbBinary(buf: Buffer, start: number, end: number): unknown {
  const version = buf[start]
  if (version !== 1) throw new RangeError(`unsupported binary jsonb version ${String(version)}`)
  return JSON.parse(buf.toString('utf8', start + 1, end))
}

export function register(map: TypeMap): void {
  map.registerDecoder(O.JSON_TYPE, 0, decodeJsonText)
  map.registerDecoder(O.JSON_TYPE, 1, decodeJsonText) // binary json is the text too
  map.registerDecoder(O.JSONB, 0, decodeJsonText)
  map.registerDecoder(O.JSONB, 1, decodeJsonbBinary)
  map.registerArray(O.JSON_TYPE, O.JSON_ARRAY)
  map.registerArray(O.JSONB, O.JSONB_ARRAY)
}
