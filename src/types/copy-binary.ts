// Binary encoders for COPY ... FROM STDIN (FORMAT binary). Parameters can
// always fall back to text, but a binary COPY row has no such escape, so
// the types whose parameter encoders are text get binary forms here: text
// types (their bytes), jsonb (version byte + text), timestamps and dates
// from Dates, numeric from decimal strings, and arrays of any of these.

import { ParameterError } from '../errors/base.js'
import { BPCHAR, DATE, JSON_TYPE, JSONB, NAME, NUMERIC, TEXT, TIMESTAMP, TIMESTAMPTZ, UNKNOWN, VARCHAR, XML } from './oids.js'
import type { TypeMap } from './type-map.js'
import { MORE_BINARY, MULTIRANGE_RANGE, RANGE_ELEMENT, multirange, range, utf8 } from './copy-binary-more.js'

export type BinaryEncode = (value: unknown, column: number) => Buffer

const TEXT_LIKE = new Set([TEXT, VARCHAR, BPCHAR, NAME, JSON_TYPE, XML, UNKNOWN])
const PG_EPOCH_MS = 946_684_800_000

function refuse(column: number, value: unknown, what: string, oid: number): never {
  const type = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
  throw new ParameterError(`column ${column + 1}: cannot write ${type} as ${what} in binary COPY`, { index: column, valueType: typeof value, typeOid: oid })
}

function int64(n: bigint): Buffer {
  const b = Buffer.allocUnsafe(8)
  b.writeBigInt64BE(n)
  return b
}

function timestamp(oid: number): BinaryEncode {
  return (v, col) => {
    if (v === Infinity) return int64(0x7fffffffffffffffn)
    if (v === -Infinity) return int64(-0x8000000000000000n)
    const d = v instanceof Date ? v : typeof v === 'string' && /^\d{4}-\d\d-\d\d[T ]/.test(v) ? new Date(v) : undefined
    if (d === undefined || Number.isNaN(d.getTime())) refuse(col, v, oid === TIMESTAMPTZ ? 'timestamptz (give a Date)' : 'timestamp (give a Date)', oid)
    return int64(BigInt(d.getTime() - PG_EPOCH_MS) * 1000n)
  }
}

const date: BinaryEncode = (v, col) => {
  let ms: number
  if (v instanceof Date) ms = Date.UTC(v.getUTCFullYear(), v.getUTCMonth(), v.getUTCDate())
  else if (typeof v === 'string' && /^\d{4}-\d\d-\d\d$/.test(v)) ms = Date.parse(v + 'T00:00:00Z')
  else return refuse(col, v, "date (give a Date or 'YYYY-MM-DD')", DATE)
  if (Number.isNaN(ms)) refuse(col, v, 'date', DATE)
  const b = Buffer.allocUnsafe(4)
  b.writeInt32BE(Math.round((ms - PG_EPOCH_MS) / 86_400_000))
  return b
}

/** A decimal (string, number or bigint) in PostgreSQL's base-10000 binary numeric layout. */
export function numericBinary(v: unknown, col: number): Buffer {
  const text = typeof v === 'string' ? v.trim() : typeof v === 'bigint' ? v.toString() : typeof v === 'number' ? numberText(v) : undefined
  if (text === undefined) return refuse(col, v, 'numeric', NUMERIC)
  const special = { nan: 0xc000, infinity: 0xd000, '+infinity': 0xd000, '-infinity': 0xf000 }[text.toLowerCase()]
  if (special !== undefined) {
    const b = Buffer.alloc(8)
    b.writeUInt16BE(special, 4)
    return b
  }
  const m = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text)
  if (m === null || (m[2] === '' && (m[3] ?? '') === '')) return refuse(col, v, 'numeric (not a decimal)', NUMERIC)
  let int = m[2]!
  let frac = m[3] ?? ''
  const exp = Number(m[4] ?? 0)
  if (exp > 0) {
    frac = frac.padEnd(exp, '0')
    int += frac.slice(0, exp)
    frac = frac.slice(exp)
  } else if (exp < 0) {
    int = int.padStart(-exp, '0')
    frac = int.slice(int.length + exp) + frac
    int = int.slice(0, int.length + exp)
  }
  const dscale = frac.length
  int = int.replace(/^0+/, '')
  const intPadded = int.padStart(Math.ceil(int.length / 4) * 4, '0')
  const fracPadded = frac.padEnd(Math.ceil(frac.length / 4) * 4, '0')
  const groups: number[] = []
  for (let i = 0; i < intPadded.length; i += 4) groups.push(Number(intPadded.slice(i, i + 4)))
  for (let i = 0; i < fracPadded.length; i += 4) groups.push(Number(fracPadded.slice(i, i + 4)))
  let weight = intPadded.length / 4 - 1
  let start = 0
  while (start < groups.length && groups[start] === 0) {
    start++
    weight--
  }
  let end = groups.length
  while (end > start && groups[end - 1] === 0) end--
  const digits = groups.slice(start, end)
  const negative = m[1] === '-' && digits.length > 0
  const b = Buffer.allocUnsafe(8 + 2 * digits.length)
  b.writeInt16BE(digits.length, 0)
  b.writeInt16BE(digits.length === 0 ? 0 : weight, 2)
  b.writeUInt16BE(negative ? 0x4000 : 0, 4)
  b.writeInt16BE(dscale, 6)
  digits.forEach((d, i) => b.writeInt16BE(d, 8 + 2 * i))
  return b
}

function numberText(n: number): string {
  if (Number.isNaN(n)) return 'NaN'
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity'
  return String(n)
}

/** An array column: nested JS arrays become dimensions; elements use the element encoder. */
function array(elementOid: number, element: BinaryEncode): BinaryEncode {
  return (v, col) => {
    if (!Array.isArray(v)) return refuse(col, v, 'an array', elementOid)
    const dims: number[] = []
    for (let level: unknown = v; Array.isArray(level); level = level[0]) {
      dims.push(level.length)
      if (level.length === 0) break
    }
    const items: (Buffer | null)[] = []
    const walk = (a: unknown, depth: number): void => {
      if (depth === dims.length) {
        items.push(a === null || a === undefined ? null : element(a, col))
        return
      }
      if (!Array.isArray(a) || a.length !== dims[depth]) refuse(col, a, 'a rectangular array', elementOid)
      for (const x of a) walk(x, depth + 1)
    }
    if (dims[0] === 0) dims.length = 0
    else walk(v, 0)
    const header = Buffer.allocUnsafe(12 + 8 * dims.length)
    header.writeInt32BE(dims.length, 0)
    header.writeInt32BE(items.includes(null) ? 1 : 0, 4)
    header.writeUInt32BE(elementOid, 8)
    dims.forEach((d, i) => {
      header.writeInt32BE(d, 12 + 8 * i)
      header.writeInt32BE(1, 16 + 8 * i)
    })
    const parts: Buffer[] = [header]
    for (const it of items) {
      const len = Buffer.allocUnsafe(4)
      len.writeInt32BE(it === null ? -1 : it.length)
      parts.push(len)
      if (it !== null) parts.push(it)
    }
    return Buffer.concat(parts)
  }
}

/**
 * The binary encoder of a column type, or undefined when there is none.
 * `elementOf` gives the element type of array types (from the catalog).
 */
export function copyBinaryEncoder(types: TypeMap, oid: number, elementOf: ReadonlyMap<number, number>): BinaryEncode | undefined {
  const enc = types.encoder(oid)
  if (enc !== undefined && enc.format === 1) return (v, col) => enc.encode(v, col) as Buffer
  const text = (v: unknown, col: number): string => (enc !== undefined ? (enc.encode(v, col) as string) : String(v))
  if (TEXT_LIKE.has(oid)) return (v, col) => utf8(text(v, col), col, v)
  if (oid === JSONB) return (v, col) => Buffer.concat([Buffer.from([1]), utf8(text(v, col), col, v)])
  if (oid === TIMESTAMPTZ || oid === TIMESTAMP) return timestamp(oid)
  if (oid === DATE) return date
  if (oid === NUMERIC) return numericBinary
  const more = MORE_BINARY.get(oid)
  if (more !== undefined) return more
  const rangeElement = RANGE_ELEMENT.get(oid)
  if (rangeElement !== undefined) {
    const e = copyBinaryEncoder(types, rangeElement, elementOf)
    return e === undefined ? undefined : range(e)
  }
  const rangeOfMulti = MULTIRANGE_RANGE.get(oid)
  if (rangeOfMulti !== undefined) {
    const r = copyBinaryEncoder(types, rangeOfMulti, elementOf)
    return r === undefined ? undefined : multirange(r)
  }
  const element = elementOf.get(oid)
  if (element !== undefined && element !== 0) {
    const e = copyBinaryEncoder(types, element, elementOf)
    if (e !== undefined) return array(element, e)
  }
  return undefined
}
