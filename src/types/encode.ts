// JS value -> Bind parameter when the server's type for it is not known yet
// (Parse sent OID 0). Everything but bytes goes as text with OID 0 so the
// server infers the type from context. Bytes go binary, typed bytea: the hex
// text form would double their size, and no other type takes raw bytes.
import { ParameterError } from '../errors.js'
import type { EncodedParam } from './codec.js'
import { BYTEA } from './oids.js'
import { pad } from './datetime.js'

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

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
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

/**
 * ISO 8601 with an explicit UTC offset, written by hand because toISOString()
 * prints years outside 0..9999 as ±YYYYYY, which PostgreSQL rejects; BC years
 * use PostgreSQL's ' BC' suffix (JS year 0 is 1 BC).
 */
function encodeDate(d: Date, index: number): string {
  if (Number.isNaN(d.getTime())) {
    throw new ParameterError(`cannot encode parameter $${index + 1}: invalid Date`, { index, valueType: 'object Date' })
  }
  const y = d.getUTCFullYear()
  const bc = y <= 0
  return (
    `${pad(bc ? 1 - y : y, 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
    `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}` +
    `.${pad(d.getUTCMilliseconds(), 3)}+00:00${bc ? ' BC' : ''}`
  )
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

/** ParameterError.valueType: the typeof, plus the class for objects ('object Map'). */
function valueType(value: unknown): string {
  return typeof value === 'object' && value !== null ? `object ${typeName(value)}` : typeof value
}

/** 'symbol', 'function', or the constructor name of an object ('Map', 'Promise'...). */
export function typeName(value: unknown): string {
  if (typeof value !== 'object' || value === null) return typeof value
  const proto: unknown = Object.getPrototypeOf(value)
  const ctor: unknown = proto === null ? undefined : (proto as { constructor?: unknown }).constructor
  const name = typeof ctor === 'function' ? ctor.name : ''
  return name === '' ? 'object' : name
}
