// json, jsonb -> JSON.parse result. Numbers beyond double precision lose
// digits, exactly as JSON.parse does anywhere else; TypeOptions.json 'string'
// gives the text instead. jsonpath -> string. Parameters go as text: strings
// are taken to be JSON text already, anything else is JSON.stringify'd.
import type { TypeMap } from './type-map.js'
import { makeEncoder, refuse, hasNul, NUL_REFUSAL, type TypedEncoder } from './param.js'
import { decodeUtf8, stringEncoder } from './text.js'
import * as O from './oids.js'

export function decodeJsonText(buf: Buffer, start: number, end: number): unknown {
  return JSON.parse(decodeUtf8(buf, start, end))
}

function checkVersion(buf: Buffer, start: number, type: string): void {
  const version = buf[start]
  if (version !== 1) throw new RangeError(`unsupported binary ${type} version ${String(version)}`)
}

/** Binary jsonb is a version byte (only 1 exists) followed by the JSON text. */
export function decodeJsonbBinary(buf: Buffer, start: number, end: number): unknown {
  checkVersion(buf, start, 'jsonb')
  return JSON.parse(decodeUtf8(buf, start + 1, end))
}

export const decodeJsonString = decodeUtf8

export function decodeJsonbBinaryString(buf: Buffer, start: number, end: number): string {
  checkVersion(buf, start, 'jsonb')
  return decodeUtf8(buf, start + 1, end)
}

/** Binary jsonpath is, like jsonb, a version byte and then the text. */
export function decodeJsonpathBinary(buf: Buffer, start: number, end: number): string {
  checkVersion(buf, start, 'jsonpath')
  return buf.toString('utf8', start + 1, end)
}

/**
 * A JS array is one JSON value here, so in json[] and jsonb[] parameters
 * nested JS arrays are JSON arrays, not further dimensions.
 */
function jsonEncoder(oid: number, type: string): TypedEncoder {
  return makeEncoder(
    oid,
    type,
    0,
    (value) => {
    if (typeof value === 'string') return hasNul(value) ? NUL_REFUSAL : value
    let json: string | undefined
    try {
      json = JSON.stringify(value)
    } catch (err) {
      // Cycles and BigInt members make JSON.stringify throw.
      return refuse(err instanceof Error ? err.message : String(err))
    }
      // undefined for functions, symbols, and toJSON() returning undefined.
      return json === undefined ? undefined : json
    },
    true,
  )
}

export function register(map: TypeMap): void {
  map.registerDecoder(O.JSON_TYPE, 0, decodeJsonText)
  map.registerDecoder(O.JSON_TYPE, 1, decodeJsonText) // binary json is the text too
  map.registerDecoder(O.JSONB, 0, decodeJsonText)
  map.registerDecoder(O.JSONB, 1, decodeJsonbBinary)
  map.registerEncoder(O.JSON_TYPE, jsonEncoder(O.JSON_TYPE, 'json'))
  map.registerEncoder(O.JSONB, jsonEncoder(O.JSONB, 'jsonb'))
  map.registerArray(O.JSON_TYPE, O.JSON_ARRAY)
  map.registerArray(O.JSONB, O.JSONB_ARRAY)
  map.registerDecoder(O.JSONPATH, 0, decodeJsonString)
  map.registerDecoder(O.JSONPATH, 1, decodeJsonpathBinary)
  map.registerEncoder(O.JSONPATH, stringEncoder(O.JSONPATH, 'jsonpath'))
  map.registerArray(O.JSONPATH, O.JSONPATH_ARRAY)
}
