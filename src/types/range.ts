// Range types -> PgRange, with bounds decoded (and encoded) by the subtype's
// codec, so a tstzrange holds Dates and an int8range bigints. The six
// built-in ranges are registered here; any other range type can be declared
// with TypeMap.registerRange once its OIDs are known.
import type { Decoder, ParamEncoder } from './codec.js'
import { makeEncoder, quote, refuse, hasNul, NUL_REFUSAL, isPlainObject, isWellFormed, LONE_SURROGATE_REFUSAL, type TypedEncoder } from './param.js'
import type { TypeMap } from './type-map.js'
import * as O from './oids.js'

export type RangeBounds = '[)' | '[]' | '(]' | '()'

/**
 * A range value. An unbounded side has a null bound and is never inclusive;
 * an empty range has both bounds null. Discrete ranges come back from the
 * server in canonical '[)' form: int4range [1,3] reads as [1,4).
 */
export class PgRange<T = unknown> {
  readonly lower: T | null
  readonly upper: T | null
  readonly lowerInclusive: boolean
  readonly upperInclusive: boolean
  readonly empty: boolean

  /** `new PgRange(1, 5)` is [1,5); pass null for an unbounded side. */
  constructor(lower: T | null, upper: T | null, bounds: RangeBounds = '[)') {
    this.lower = lower
    this.upper = upper
    this.lowerInclusive = lower !== null && bounds[0] === '['
    this.upperInclusive = upper !== null && bounds[1] === ']'
    this.empty = false
  }

  /** The empty range (no bounds at all). */
  static empty<T = unknown>(): PgRange<T> {
    // The constructor only builds non-empty ranges; flip the flag on a fresh one.
    return Object.assign(new PgRange<T>(null, null), { empty: true })
  }
}

// Flag bits of the binary format (and of the server's own storage).
const EMPTY = 0x01
const LB_INC = 0x02
const UB_INC = 0x04
const LB_INF = 0x08
const UB_INF = 0x10

const makeRange = (lower: unknown, upper: unknown, flags: number): PgRange => {
  if (flags & EMPTY) return PgRange.empty()
  const bounds = `${flags & LB_INC ? '[' : '('}${flags & UB_INC ? ']' : ')'}` as RangeBounds
  return new PgRange(flags & LB_INF ? null : lower, flags & UB_INF ? null : upper, bounds)
}

/** Binary: a flags byte, then each finite bound as int32 length + the subtype's binary value. */
export function makeBinaryRangeDecoder(element: Decoder): Decoder {
  return (buf, start, end) => {
    const flags = buf[start]!
    let i = start + 1
    let lower: unknown = null
    let upper: unknown = null
    if (!(flags & (EMPTY | LB_INF))) {
      const len = buf.readInt32BE(i)
      if (i + 4 + len > end) throw new RangeError('malformed range value (truncated bound)')
      lower = element(buf, i + 4, i + 4 + len)
      i += 4 + len
    }
    if (!(flags & (EMPTY | UB_INF))) {
      const len = buf.readInt32BE(i)
      if (i + 4 + len > end) throw new RangeError('malformed range value (truncated bound)')
      upper = element(buf, i + 4, i + 4 + len)
    }
    return makeRange(lower, upper, flags)
  }
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c

// Where the last bound scan stopped (see array.ts for why module state).
let pos = 0

/**
 * Text: `empty`, or `[` or `(`, the lower bound, `,`, the upper bound, `]` or
 * `)`. A missing bound is unbounded. Bounds may be double-quoted, with `\x`
 * escapes and `""` for a quote, as range_in reads them.
 */
export function makeTextRangeDecoder(element: Decoder): Decoder {
  return (buf, start, end) => {
    let i = start
    while (i < end && isSpace(buf[i]!)) i++
    const open = buf[i]
    if (open !== 0x5b && open !== 0x28) {
      if (buf.toString('latin1', i, Math.min(end, i + 5)).toLowerCase() === 'empty') return PgRange.empty()
      throw new RangeError(`malformed range value: ${buf.toString('utf8', start, Math.min(end, start + 100))}`)
    }
    let flags = open === 0x5b ? LB_INC : 0
    const lower = bound(buf, i + 1, end, false, element)
    if (lower === NONE) flags |= LB_INF
    i = pos
    if (buf[i] !== COMMA) throw new RangeError('malformed range value (expected ",")')
    const upper = bound(buf, i + 1, end, true, element)
    if (upper === NONE) flags |= UB_INF
    i = pos
    if (buf[i] === 0x5d) flags |= UB_INC
    else if (buf[i] !== 0x29) throw new RangeError('malformed range value (expected "]" or ")")')
    return makeRange(lower, upper, flags)
  }
}

const NONE = Symbol('unbounded')

function bound(buf: Buffer, i: number, end: number, upper: boolean, element: Decoder): unknown {
  const s = i
  let plain = true
  let inQuote = false
  for (; i < end; i++) {
    const c = buf[i]!
    if (!inQuote && (upper ? c === 0x29 || c === 0x5d : c === COMMA)) break
    if (c === BACKSLASH) {
      plain = false
      i++
    } else if (c === QUOTE) {
      plain = false
      if (inQuote && buf[i + 1] === QUOTE) i++
      else inQuote = !inQuote
    }
  }
  if (i >= end) throw new RangeError('malformed range value (unexpected end)')
  pos = i
  if (i === s) return NONE
  if (plain) return element(buf, s, i)
  const tmp = Buffer.allocUnsafe(i - s)
  let n = 0
  inQuote = false
  for (let k = s; k < i; k++) {
    const c = buf[k]!
    if (c === BACKSLASH) tmp[n++] = buf[++k]!
    else if (c !== QUOTE) tmp[n++] = c
    else if (inQuote && buf[k + 1] === QUOTE) tmp[n++] = buf[++k]!
    else inQuote = !inQuote
  }
  return element(tmp, 0, n)
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d)
}

/** `[lower,upper)` with every bound quoted, or `empty`. */
export function rangeLiteral(r: RangeLike, text: (bound: unknown) => string): string {
  if (r.empty === true) return 'empty'
  const lower = r.lower ?? null
  const upper = r.upper ?? null
  const lo = lower === null ? '(' : r.lowerInclusive === false ? '(' : '['
  const hi = upper === null ? ')' : r.upperInclusive === true ? ']' : ')'
  return `${lo}${lower === null ? '' : quote(text(lower))},${upper === null ? '' : quote(text(upper))}${hi}`
}

/** What a range parameter may be: a PgRange or a plain object of the same shape (bounds default to '[)'). */
interface RangeLike {
  lower?: unknown
  upper?: unknown
  lowerInclusive?: boolean
  upperInclusive?: boolean
  empty?: boolean
}

export function isRangeLike(v: unknown): v is RangeLike {
  return v instanceof PgRange || (isPlainObject(v) && ('lower' in v || 'upper' in v || v.empty === true))
}

export function makeRangeEncoder(element: ParamEncoder, oid: number, type: string, parseText: Decoder): TypedEncoder {
  const binary = element.format === 1
  return makeEncoder(oid, type, element.format, (value, index) => {
    if (typeof value === 'string') {
      if (hasNul(value)) return NUL_REFUSAL
      if (!binary) return value
      // Parsed back from UTF-8 bytes, which would hold U+FFFD for a lone surrogate.
      if (!isWellFormed(value)) return LONE_SURROGATE_REFUSAL
      const bytes = Buffer.from(value, 'utf8')
      try {
        value = parseText(bytes, 0, bytes.length)
      } catch (err) {
        return refuse(err instanceof Error ? err.message : String(err))
      }
    }
    if (!isRangeLike(value)) return undefined
    if (!binary) return rangeLiteral(value, (b) => element.encode(b, index) as string)
    return encodeBinaryRange(value, element, index)
  })
}

function encodeBinaryRange(r: RangeLike, element: ParamEncoder, index: number): Buffer {
  if (r.empty === true) return Buffer.from([EMPTY])
  const lower = r.lower ?? null
  const upper = r.upper ?? null
  let flags = 0
  if (lower === null) flags |= LB_INF
  else if (r.lowerInclusive !== false) flags |= LB_INC
  if (upper === null) flags |= UB_INF
  else if (r.upperInclusive === true) flags |= UB_INC
  const parts: Buffer[] = [Buffer.from([flags])]
  for (const b of [lower, upper]) {
    if (b === null) continue
    const bytes = element.encode(b, index) as Buffer
    const len = Buffer.allocUnsafe(4)
    len.writeInt32BE(bytes.length)
    parts.push(len, bytes)
  }
  return Buffer.concat(parts)
}

const RANGES: ReadonlyArray<readonly [number, number, number, number, number, string]> = [
  // subtype, range, range[], multirange, multirange[], name
  [O.INT4, O.INT4RANGE, O.INT4RANGE_ARRAY, O.INT4MULTIRANGE, O.INT4MULTIRANGE_ARRAY, 'int4range'],
  [O.INT8, O.INT8RANGE, O.INT8RANGE_ARRAY, O.INT8MULTIRANGE, O.INT8MULTIRANGE_ARRAY, 'int8range'],
  [O.NUMERIC, O.NUMRANGE, O.NUMRANGE_ARRAY, O.NUMMULTIRANGE, O.NUMMULTIRANGE_ARRAY, 'numrange'],
  [O.TIMESTAMP, O.TSRANGE, O.TSRANGE_ARRAY, O.TSMULTIRANGE, O.TSMULTIRANGE_ARRAY, 'tsrange'],
  [O.TIMESTAMPTZ, O.TSTZRANGE, O.TSTZRANGE_ARRAY, O.TSTZMULTIRANGE, O.TSTZMULTIRANGE_ARRAY, 'tstzrange'],
  [O.DATE, O.DATERANGE, O.DATERANGE_ARRAY, O.DATEMULTIRANGE, O.DATEMULTIRANGE_ARRAY, 'daterange'],
]

export function register(map: TypeMap): void {
  for (const [subtype, range, rangeArray, multi, multiArray, name] of RANGES) {
    map.registerRange(subtype, range, name, multi)
    map.registerArray(range, rangeArray)
    map.registerArray(multi, multiArray)
  }
}
