// TypeOptions -> decoder registrations in one map. Every option registers
// both formats, so binary results stay on; arrays and ranges of the type
// follow, since they are built from the element decoders of the map asking.
import type { Decoder, TypeOptions } from './codec.js'
import type { TypeMap } from './type-map.js'
import * as O from './oids.js'
import {
  decodeInt8Binary,
  decodeInt8Text,
  decodeInt8TextNumber,
  decodeInt8BinaryNumber,
  decodeInt8TextString,
  decodeInt8BinaryString,
} from './int.js'
import { decodeNumericBinary, decodeNumericBinaryNumber, decodeNumericText, decodeNumericTextNumber } from './numeric.js'
import { decodeDateBinary, decodeDateBinaryAsDate, decodeDateText, decodeDateTextAsDate, decodeTimestampBinary, decodeTimestampText } from './datetime.js'
import {
  decodeTimestampBinaryString,
  decodeTimestampTextString,
  decodeTimestamptzBinaryString,
  decodeTimestamptzTextString,
} from './timestamp-string.js'
import { decodeJsonbBinary, decodeJsonbBinaryString, decodeJsonString, decodeJsonText } from './json.js'

type Pair = readonly [text: Decoder, binary: Decoder]

const INT8: Record<NonNullable<TypeOptions['int8']>, Pair> = {
  bigint: [decodeInt8Text, decodeInt8Binary],
  number: [decodeInt8TextNumber, decodeInt8BinaryNumber],
  string: [decodeInt8TextString, decodeInt8BinaryString],
}
const NUMERIC: Record<NonNullable<TypeOptions['numeric']>, Pair> = {
  string: [decodeNumericText, decodeNumericBinary],
  number: [decodeNumericTextNumber, decodeNumericBinaryNumber],
}
const DATE: Record<NonNullable<TypeOptions['date']>, Pair> = {
  string: [decodeDateText, decodeDateBinary],
  Date: [decodeDateTextAsDate, decodeDateBinaryAsDate],
}
const TIMESTAMP: Record<NonNullable<TypeOptions['timestamp']>, readonly [timestamp: Pair, timestamptz: Pair]> = {
  Date: [
    [decodeTimestampText, decodeTimestampBinary],
    [decodeTimestampText, decodeTimestampBinary],
  ],
  string: [
    [decodeTimestampTextString, decodeTimestampBinaryString],
    [decodeTimestamptzTextString, decodeTimestamptzBinaryString],
  ],
}
const JSON_DECODERS: Record<NonNullable<TypeOptions['json']>, readonly [json: Pair, jsonb: Pair]> = {
  parse: [
    [decodeJsonText, decodeJsonText],
    [decodeJsonText, decodeJsonbBinary],
  ],
  string: [
    [decodeJsonString, decodeJsonString],
    [decodeJsonString, decodeJsonbBinaryString],
  ],
}

function set(map: TypeMap, oid: number, [text, binary]: Pair): void {
  map.registerDecoder(oid, 0, text)
  map.registerDecoder(oid, 1, binary)
}

function pick<K extends string, V>(table: Record<K, V>, key: K, option: string): V {
  const v = Object.hasOwn(table, key) ? table[key] : undefined
  if (v === undefined) {
    const allowed = Object.keys(table).map((k) => `'${k}'`).join(', ')
    throw new TypeError(`TypeOptions.${option} must be one of ${allowed}, got ${JSON.stringify(key)}`)
  }
  return v
}

export function applyOptions(map: TypeMap, options: TypeOptions): void {
  if (options.int8 !== undefined) set(map, O.INT8, pick(INT8, options.int8, 'int8'))
  if (options.numeric !== undefined) set(map, O.NUMERIC, pick(NUMERIC, options.numeric, 'numeric'))
  if (options.date !== undefined) set(map, O.DATE, pick(DATE, options.date, 'date'))
  if (options.timestamp !== undefined) {
    const [ts, tstz] = pick(TIMESTAMP, options.timestamp, 'timestamp')
    set(map, O.TIMESTAMP, ts)
    set(map, O.TIMESTAMPTZ, tstz)
  }
  if (options.json !== undefined) {
    const [json, jsonb] = pick(JSON_DECODERS, options.json, 'json')
    set(map, O.JSON_TYPE, json)
    set(map, O.JSONB, jsonb)
  }
}
