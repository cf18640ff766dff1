// Binary COPY forms of the types whose parameter encoders are text: time,
// timetz, interval, network addresses, geometry, bit strings, jsonpath,
// "char", ranges and multiranges. Each takes the JS shape the decoders give.

import { ParameterError } from '../errors/base.js'
import {
  BIT,
  BOX,
  CHAR,
  CIDR,
  CIRCLE,
  DATE,
  DATEMULTIRANGE,
  DATERANGE,
  INET,
  INT4,
  INT4MULTIRANGE,
  INT4RANGE,
  INT8,
  INT8MULTIRANGE,
  INT8RANGE,
  INTERVAL,
  JSONPATH,
  LINE,
  LSEG,
  MACADDR,
  MACADDR8,
  NUMERIC,
  NUMMULTIRANGE,
  NUMRANGE,
  PATH,
  POINT,
  POLYGON,
  TIME,
  TIMESTAMP,
  TIMESTAMPTZ,
  TIMETZ,
  TSMULTIRANGE,
  TSRANGE,
  TSTZMULTIRANGE,
  TSTZRANGE,
  VARBIT,
} from './oids.js'
import { isWellFormed, LONE_SURROGATE, valueType } from './param.js'
import type { BinaryEncode } from './copy-binary.js'

function refuse(column: number, value: unknown, what: string): never {
  const type = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
  throw new ParameterError(`column ${column + 1}: cannot write ${type} as ${what} in binary COPY`, { index: column, valueType: typeof value })
}

/** A text value's UTF-8 bytes; a lone surrogate is refused, since Buffer.from would send U+FFFD for it. */
export function utf8(text: string, column: number, value: unknown = text): Buffer {
  if (!isWellFormed(text)) {
    const what = typeof value === 'string' ? 'the string' : 'its text form'
    throw new ParameterError(`column ${column + 1}: ${what} contains ${LONE_SURROGATE}`, { index: column, valueType: valueType(value) })
  }
  return Buffer.from(text)
}

function f8(values: number[]): Buffer {
  const b = Buffer.allocUnsafe(8 * values.length)
  values.forEach((v, i) => b.writeDoubleBE(v, 8 * i))
  return b
}

const num = (v: unknown): v is number => typeof v === 'number'
const isPoint = (p: unknown): p is { x: number; y: number } => typeof p === 'object' && p !== null && num((p as { x: unknown }).x) && num((p as { y: unknown }).y)

function timeMicros(s: string): bigint | undefined {
  const m = /^(\d{1,2}):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?$/.exec(s.trim())
  if (m === null) return undefined
  return ((BigInt(m[1]!) * 60n + BigInt(m[2]!)) * 60n + BigInt(m[3] ?? 0)) * 1_000_000n + BigInt((m[4] ?? '').padEnd(6, '0'))
}

const time: BinaryEncode = (v, col) => {
  const us = typeof v === 'string' ? timeMicros(v) : undefined
  if (us === undefined) return refuse(col, v, "time ('HH:MM:SS[.ffffff]')")
  const b = Buffer.allocUnsafe(8)
  b.writeBigInt64BE(us)
  return b
}

const timetz: BinaryEncode = (v, col) => {
  const m = typeof v === 'string' ? /^(.*?)([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?$/.exec(v) : null
  const us = m ? timeMicros(m[1]!) : undefined
  if (m === null || us === undefined) return refuse(col, v, "timetz ('HH:MM:SS+HH[:MM]')")
  const east = (Number(m[3]) * 3600 + Number(m[4] ?? 0) * 60 + Number(m[5] ?? 0)) * (m[2] === '-' ? -1 : 1)
  const b = Buffer.allocUnsafe(12)
  b.writeBigInt64BE(us)
  b.writeInt32BE(-east, 8) // the server keeps seconds west of UTC
  return b
}

const interval: BinaryEncode = (v, col) => {
  const o = v as { months?: unknown; days?: unknown; microseconds?: unknown }
  if (typeof v !== 'object' || v === null || !num(o.months) || !num(o.days) || !num(o.microseconds)) {
    return refuse(col, v, 'interval (a PgInterval)')
  }
  const b = Buffer.allocUnsafe(16)
  b.writeBigInt64BE(BigInt(Math.round(o.microseconds)))
  b.writeInt32BE(o.days, 8)
  b.writeInt32BE(o.months, 12)
  return b
}

function ipv4(addr: string): Buffer | undefined {
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(addr)) return undefined
  const parts = addr.split('.').map(Number)
  return parts.every((p) => p <= 255) ? Buffer.from(parts) : undefined
}

function ipv6(addr: string): Buffer | undefined {
  let s = addr
  // A trailing dotted quad is the last two 16-bit groups.
  const tail = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s)
  if (tail) {
    const b = ipv4(tail[2]!)
    if (b === undefined) return undefined
    s = `${tail[1]}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`
  }
  const halves = s.split('::')
  if (halves.length > 2) return undefined
  const words = (x: string | undefined): number[] => (x ? x.split(':').map((w) => (/^[0-9a-fA-F]{1,4}$/.test(w) ? parseInt(w, 16) : NaN)) : [])
  const head = words(halves[0])
  const rest = halves.length === 2 ? words(halves[1]) : []
  const all = halves.length === 2 ? [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest] : head
  if (all.length !== 8 || all.some((w) => Number.isNaN(w))) return undefined
  const out = Buffer.allocUnsafe(16)
  all.forEach((w, i) => out.writeUInt16BE(w, 2 * i))
  return out
}

function ipBytes(addr: string): Buffer | undefined {
  return addr.includes(':') ? ipv6(addr) : ipv4(addr)
}

function inet(cidr: boolean): BinaryEncode {
  return (v, col) => {
    if (typeof v !== 'string') return refuse(col, v, cidr ? 'cidr' : 'inet')
    const [addr, bitsText] = v.split('/')
    const bytes = ipBytes(addr!)
    if (bytes === undefined) return refuse(col, v, cidr ? 'cidr' : 'inet')
    const bits = bitsText === undefined ? bytes.length * 8 : Number(bitsText)
    const b = Buffer.allocUnsafe(4 + bytes.length)
    b[0] = bytes.length === 4 ? 2 : 3 // PGSQL_AF_INET / PGSQL_AF_INET6
    b[1] = bits
    b[2] = cidr ? 1 : 0
    b[3] = bytes.length
    bytes.copy(b, 4)
    return b
  }
}

function mac(size: 6 | 8): BinaryEncode {
  return (v, col) => {
    const hex = typeof v === 'string' ? v.replace(/[:.-]/g, '') : ''
    if (!new RegExp(`^[0-9a-fA-F]{${size * 2}}$`).test(hex)) return refuse(col, v, size === 6 ? 'macaddr' : 'macaddr8')
    return Buffer.from(hex, 'hex')
  }
}

const point: BinaryEncode = (v, col) => (isPoint(v) ? f8([v.x, v.y]) : refuse(col, v, 'point ({ x, y })'))
const line: BinaryEncode = (v, col) => {
  const l = v as { a: unknown; b: unknown; c: unknown }
  return typeof v === 'object' && v !== null && num(l.a) && num(l.b) && num(l.c) ? f8([l.a, l.b, l.c]) : refuse(col, v, 'line ({ a, b, c })')
}
function twoPoints(first: string, second: string, what: string): BinaryEncode {
  return (v, col) => {
    const o = v as Record<string, unknown>
    const p = o?.[first]
    const q = o?.[second]
    return isPoint(p) && isPoint(q) ? f8([p.x, p.y, q.x, q.y]) : refuse(col, v, what)
  }
}
const circle: BinaryEncode = (v, col) => {
  const c = v as { x: unknown; y: unknown; radius: unknown }
  return typeof v === 'object' && v !== null && num(c.x) && num(c.y) && num(c.radius) ? f8([c.x, c.y, c.radius]) : refuse(col, v, 'circle')
}
function points(list: unknown, col: number, what: string): Buffer {
  if (!Array.isArray(list) || !list.every(isPoint)) return refuse(col, list, what)
  const n = Buffer.allocUnsafe(4)
  n.writeInt32BE(list.length)
  return Buffer.concat([n, f8(list.flatMap((p) => [p.x, p.y]))])
}
const path: BinaryEncode = (v, col) => Buffer.concat([Buffer.from([(v as { closed?: unknown })?.closed ? 1 : 0]), points((v as { points?: unknown })?.points, col, 'path')])
const polygon: BinaryEncode = (v, col) => points((v as { points?: unknown })?.points, col, 'polygon')

const bits: BinaryEncode = (v, col) => {
  if (typeof v !== 'string' || !/^[01]*$/.test(v)) return refuse(col, v, "bit string ('0101')")
  const b = Buffer.alloc(4 + Math.ceil(v.length / 8))
  b.writeInt32BE(v.length)
  for (let i = 0; i < v.length; i++) if (v[i] === '1') b[4 + (i >> 3)]! |= 0x80 >> (i & 7)
  return b
}

const jsonpath: BinaryEncode = (v, col) => (typeof v === 'string' ? Buffer.concat([Buffer.from([1]), utf8(v, col)]) : refuse(col, v, 'jsonpath'))
const char: BinaryEncode = (v, col) => (typeof v === 'string' && Buffer.byteLength(v) <= 1 ? Buffer.from(v) : refuse(col, v, '"char"'))

/** A range of an element type: flags, then each finite bound as length + bytes. */
export function range(element: BinaryEncode): BinaryEncode {
  return (v, col) => {
    const r = v as { lower?: unknown; upper?: unknown; lowerInclusive?: boolean; upperInclusive?: boolean; empty?: boolean }
    if (typeof v !== 'object' || v === null) return refuse(col, v, 'range (a PgRange)')
    if (r.empty) return Buffer.from([0x01])
    const lower = r.lower === null || r.lower === undefined ? undefined : element(r.lower, col)
    const upper = r.upper === null || r.upper === undefined ? undefined : element(r.upper, col)
    const flags = (r.lowerInclusive && lower ? 0x02 : 0) | (r.upperInclusive && upper ? 0x04 : 0) | (lower ? 0 : 0x08) | (upper ? 0 : 0x10)
    const parts: Buffer[] = [Buffer.from([flags])]
    for (const bound of [lower, upper]) {
      if (bound === undefined) continue
      const len = Buffer.allocUnsafe(4)
      len.writeInt32BE(bound.length)
      parts.push(len, bound)
    }
    return Buffer.concat(parts)
  }
}

/** A multirange: a count, then each range as length + bytes. */
export function multirange(rangeEncode: BinaryEncode): BinaryEncode {
  return (v, col) => {
    if (!Array.isArray(v)) return refuse(col, v, 'multirange (an array of PgRange)')
    const parts: Buffer[] = []
    const count = Buffer.allocUnsafe(4)
    count.writeInt32BE(v.length)
    parts.push(count)
    for (const r of v) {
      const b = rangeEncode(r, col)
      const len = Buffer.allocUnsafe(4)
      len.writeInt32BE(b.length)
      parts.push(len, b)
    }
    return Buffer.concat(parts)
  }
}

/** Encoders by type OID for the types above (ranges are added by the caller, which knows their element encoders). */
export const MORE_BINARY: ReadonlyMap<number, BinaryEncode> = new Map<number, BinaryEncode>([
  [TIME, time],
  [TIMETZ, timetz],
  [INTERVAL, interval],
  [INET, inet(false)],
  [CIDR, inet(true)],
  [MACADDR, mac(6)],
  [MACADDR8, mac(8)],
  [POINT, point],
  [LINE, line],
  [LSEG, twoPoints('start', 'end', 'lseg ({ start, end })')],
  [BOX, twoPoints('high', 'low', 'box ({ high, low })')],
  [CIRCLE, circle],
  [PATH, path],
  [POLYGON, polygon],
  [BIT, bits],
  [VARBIT, bits],
  [JSONPATH, jsonpath],
  [CHAR, char],
])

/** Built-in ranges and multiranges: their element types. */
export const RANGE_ELEMENT: ReadonlyMap<number, number> = new Map([
  [INT4RANGE, INT4],
  [INT8RANGE, INT8],
  [NUMRANGE, NUMERIC],
  [TSRANGE, TIMESTAMP],
  [TSTZRANGE, TIMESTAMPTZ],
  [DATERANGE, DATE],
])
export const MULTIRANGE_RANGE: ReadonlyMap<number, number> = new Map([
  [INT4MULTIRANGE, INT4RANGE],
  [INT8MULTIRANGE, INT8RANGE],
  [NUMMULTIRANGE, NUMRANGE],
  [TSMULTIRANGE, TSRANGE],
  [TSTZMULTIRANGE, TSTZRANGE],
  [DATEMULTIRANGE, DATERANGE],
])
