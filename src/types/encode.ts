// JS value -> Bind parameter when the server's type for it is not known yet
// (Parse sent OID 0). Everything but bytes goes as text with OID 0 so the
// server infers the type from context. Bytes go binary, typed bytea: the hex
// text form would double their size, and no other type takes raw bytes.
// Once the server has described a statement, TypeMap.encoder() (typed, and
// validating) is used instead; this path stays for unnamed statements.
import { ParameterError } from '../errors.js'
import type { EncodedParam } from './codec.js'
import { BYTEA } from './oids.js'
import { isoTimestamptz } from './datetime.js'
import { toBuffer } from './bytea.js'
import { typeName, valueType } from './param.js'
import { PgRange, rangeLiteral } from './range.js'

export { typeName } from './param.js'

/** PostgreSQL's MAXDIM; deeper nesting is an error there, and here it also stops cyclic arrays. */
const MAX_DIMS = 6

export function encodeParam(value: unknown, index: number): EncodedParam {
  if (value === null || value === undefined) return { oid: 0, format: 0, value: null }
  if (value instanceof Uint8Array) return { oid: BYTEA, format: 1, value: toBuffer(value) }
  const text = encodeText(value, index, 0)
  return { oid: 0, format: 0, value: text }
}

/** Text form of a non-binary value, or null when it stands for SQL NULL. */
function encodeText(value: unknown, index: number, depth: number): string | null {
  switch (typeof value) {
    case 'string':
      return checkNul(value, index)
    case 'number':
      return encodeNumber(value)
    case 'bigint':
      return value.toString()
    case 'boolean':
      return value ? 'true' : 'false'
    case 'object':
      if (value === null) return null
      if (value instanceof Date) return encodeDate(value, index)
      if (Array.isArray(value)) return encodeArray(value, index, depth + 1)
      if (value instanceof Uint8Array) return '\\x' + toBuffer(value).toString('hex')
      if (value instanceof PgRange) return rangeLiteral(value, (b) => encodeText(b, index, depth) ?? '')
      if (hasToPostgres(value)) return checkNul(spelled(value, index), index)
      if (isJsonable(value)) return encodeJson(value, index)
      break
    case 'undefined':
      return null
  }
  return unsupported(value, index)
}

/** -0 keeps its sign ('-0' is valid input for every numeric type); NaN and ±Infinity are spelled as PostgreSQL does. */
function encodeNumber(n: number): string {
  return n === 0 && 1 / n < 0 ? '-0' : String(n)
}

function checkNul(s: string, index: number): string {
  if (s.includes('\0')) {
    throw new ParameterError(`cannot encode parameter $${index + 1}: a string containing a NUL byte (\\0) cannot be stored in PostgreSQL text`, {
      index,
      valueType: 'string',
    })
  }
  return s
}

function encodeDate(d: Date, index: number): string {
  if (Number.isNaN(d.getTime())) {
    throw new ParameterError(`cannot encode parameter $${index + 1}: invalid Date`, { index, valueType: 'object Date' })
  }
  return isoTimestamptz(d)
}

/**
 * Array literal. Non-NULL elements are always double-quoted (with `"` and `\`
 * escaped) except numbers and booleans, so no element text can be mistaken
 * for NULL, a delimiter or a nested array.
 */
function encodeArray(items: readonly unknown[], index: number, depth: number): string {
  if (depth > MAX_DIMS) {
    throw new ParameterError(`cannot encode parameter $${index + 1}: arrays nested more than ${MAX_DIMS} deep`, {
      index,
      valueType: 'object Array',
    })
  }
  let s = '{'
  for (let k = 0; k < items.length; k++) {
    if (k > 0) s += ','
    const item = items[k]
    if (Array.isArray(item)) {
      s += encodeArray(item, index, depth + 1)
      continue
    }
    const t = encodeText(item, index, depth)
    if (t === null) s += 'NULL'
    else if (typeof item === 'number' || typeof item === 'bigint' || typeof item === 'boolean') s += t
    else s += quote(t)
  }
  return s + '}'
}

function quote(s: string): string {
  return '"' + (s.includes('"') || s.includes('\\') ? s.replace(/["\\]/g, '\\$&') : s) + '"'
}

/** Values that spell themselves, such as PgInterval. */
function hasToPostgres(value: object): value is { toPostgres(): unknown } {
  return typeof (value as { toPostgres?: unknown }).toPostgres === 'function'
}

/** What toPostgres() gives must already be the text form: anything else is refused, not String()ed. */
function spelled(value: { toPostgres(): unknown }, index: number): string {
  const s = value.toPostgres()
  if (typeof s === 'string') return s
  // Only the kind of what came back: even a number may be a secret.
  const what = s === null || s === undefined ? String(s) : typeof s === 'object' ? `an object (${typeName(s)})` : `a ${typeof s}`
  throw new ParameterError(`cannot encode parameter $${index + 1}: its toPostgres() returned ${what}, not a string`, {
    index,
    valueType: valueType(value),
  })
}

/** Plain objects (prototype Object.prototype or null) and anything with toJSON go as JSON. */
function isJsonable(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null || typeof (value as { toJSON?: unknown }).toJSON === 'function'
}

function encodeJson(value: object, index: number): string | null {
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch (err) {
    // Cycles and BigInt members make JSON.stringify throw.
    const why = err instanceof Error ? err.message : String(err)
    throw new ParameterError(`cannot encode parameter $${index + 1} as JSON: ${why}`, {
      index,
      valueType: valueType(value),
      cause: err,
    })
  }
  // undefined when toJSON() itself returns undefined: treat like an undefined value.
  return json ?? null
}

function unsupported(value: unknown, index: number): never {
  const type = typeName(value)
  const article = /^[aeiou]/i.test(type) ? 'an' : 'a'
  throw new ParameterError(`cannot encode parameter $${index + 1}: no codec accepts ${article} ${type}`, {
    index,
    valueType: valueType(value),
  })
}
