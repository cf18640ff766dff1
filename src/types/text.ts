// Character types -> string. Text and binary send the same bytes (in the
// client encoding, which the session pins to UTF8), except "char", whose
// text form spells bytes >= 0x80 as octal escapes. Also here: the types read
// and written as plain text (xml, money, tsvector, tsquery).
import type { TypeMap } from './type-map.js'
import { isoTimestamptz } from './datetime.js'
import { makeEncoder, hasNul, NUL_REFUSAL, type TypedEncoder } from './param.js'
import * as O from './oids.js'

type Utf8Sliceable = Buffer & { utf8Slice?: (start: number, end: number) => string }

// Buffer's own utf8Slice skips toString's argument handling (about 15% per
// text value); it is not in the typings, so fall back when it is missing.
export const decodeUtf8: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as Utf8Sliceable).utf8Slice === 'function'
    ? (buf, start, end) => (buf as Utf8Sliceable).utf8Slice!(start, end)
    : (buf, start, end) => buf.toString('utf8', start, end)

/** Binary "char": one byte, spelled as charout does: '' for 0, `\ooo` for bytes >= 0x80. */
export function decodeCharBinary(buf: Buffer, start: number, end: number): string {
  if (end === start) return ''
  const c = buf[start]!
  if (c === 0) return ''
  return c < 0x80 ? String.fromCharCode(c) : '\\' + c.toString(8).padStart(3, '0')
}

/** Text parameters: strings as they are; numbers, bigints and booleans as String() spells them; Dates as ISO 8601. */
export function textEncoder(oid: number, type: string): TypedEncoder {
  return makeEncoder(oid, type, 0, (value) => {
    switch (typeof value) {
      case 'string':
        return hasNul(value) ? NUL_REFUSAL : value
      case 'number':
      case 'bigint':
      case 'boolean':
        return String(value)
      case 'object':
        return value instanceof Date && !Number.isNaN(value.getTime()) ? isoTimestamptz(value) : undefined
    }
    return undefined
  })
}

/** Types whose parameters are only ever literals the server parses (xml, tsquery...): strings only. */
export function stringEncoder(oid: number, type: string): TypedEncoder {
  return makeEncoder(oid, type, 0, (value) => (typeof value !== 'string' ? undefined : hasNul(value) ? NUL_REFUSAL : value))
}

const TYPES: ReadonlyArray<readonly [number, number, string]> = [
  [O.TEXT, O.TEXT_ARRAY, 'text'],
  [O.VARCHAR, O.VARCHAR_ARRAY, 'varchar'],
  [O.BPCHAR, O.BPCHAR_ARRAY, 'bpchar'],
  [O.NAME, O.NAME_ARRAY, 'name'],
  [O.CHAR, O.CHAR_ARRAY, '"char"'],
]

const moneyEncoder = makeEncoder(O.MONEY, 'money', 0, (value) => {
  if (typeof value === 'string') return hasNul(value) ? NUL_REFUSAL : value
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint') return String(value)
  return undefined
})

export function register(map: TypeMap): void {
  for (const [oid, arrayOid, name] of TYPES) {
    map.registerDecoder(oid, 0, decodeUtf8)
    map.registerDecoder(oid, 1, oid === O.CHAR ? decodeCharBinary : decodeUtf8)
    map.registerEncoder(oid, textEncoder(oid, name))
    map.registerArray(oid, arrayOid)
  }
  // `unknown` (an untyped literal such as SELECT 'x') has no array type.
  map.registerDecoder(O.UNKNOWN, 0, decodeUtf8)
  map.registerDecoder(O.UNKNOWN, 1, decodeUtf8)
  map.registerEncoder(O.UNKNOWN, textEncoder(O.UNKNOWN, 'unknown'))

  // xml_send is the text in the client encoding (UTF8 here), so both formats read alike.
  map.registerDecoder(O.XML, 0, decodeUtf8)
  map.registerDecoder(O.XML, 1, decodeUtf8)
  map.registerEncoder(O.XML, stringEncoder(O.XML, 'xml'))
  map.registerArray(O.XML, O.XML_ARRAY)
  // Text only: binary money is an integer in the locale's minor unit, which
  // only lc_monetary can spell; binary tsvector/tsquery are internal layouts.
  map.registerDecoder(O.MONEY, 0, decodeUtf8)
  map.registerEncoder(O.MONEY, moneyEncoder)
  map.registerArray(O.MONEY, O.MONEY_ARRAY)
  for (const [oid, arrayOid, name] of [
    [O.TSVECTOR, O.TSVECTOR_ARRAY, 'tsvector'],
    [O.TSQUERY, O.TSQUERY_ARRAY, 'tsquery'],
  ] as const) {
    map.registerDecoder(oid, 0, decodeUtf8)
    map.registerEncoder(oid, stringEncoder(oid, name))
    map.registerArray(oid, arrayOid)
  }
}
