// timestamptz -> Date; timestamp -> Date read as UTC wall-clock time (a
// timestamp has no zone, and using the process's local zone would make results
// depend on where the client runs); date -> 'YYYY-MM-DD' string (' BC' suffix
// for BC years) for now. 'infinity'/'-infinity' become the numbers
// Infinity/-Infinity, which no Date can hold. Date has millisecond precision,
// so microseconds are truncated (floored, so ordering is kept). Instants outside
// the Date range (about 271821 BC..275760 AD) decode to an Invalid Date.
// Text parsing assumes DateStyle ISO, which the session sets. TypeOptions
// offer date -> Date and lossless timestamp strings (timestamp-string.ts).
// Parameters go as text, so strings reach the server's own parser ('now',
// zone names, offsets relative to the session TimeZone); Dates are written
// out in full with a UTC offset.
import type { TypeMap } from './type-map.js'
import { makeEncoder, refuse, hasNul, NUL_REFUSAL, type TypedEncoder } from './param.js'
import * as O from './oids.js'

const MS_PER_DAY = 86_400_000
/** Days from 1970-01-01 to 2000-01-01, the epoch of the binary formats. */
export const PG_EPOCH_DAYS = 10_957
const PG_EPOCH_MS = PG_EPOCH_DAYS * MS_PER_DAY
const INT32_MAX = 0x7fffffff
const INT32_MIN = -0x80000000

const PLUS = 0x2b
const MINUS = 0x2d
const DOT = 0x2e
const COLON = 0x3a
const SPACE = 0x20
const LOWER_I = 0x69

/** Days since 1970-01-01 of a proleptic Gregorian date (year 0 = 1 BC). */
export function daysFromCivil(year: number, month: number, day: number): number {
  // Count years from March so the leap day is the last day of a "year".
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146_097 + doe - 719_468
}

/** 'YYYY-MM-DD' (with ' BC' for years <= 0) of days since 1970-01-01; inverse of daysFromCivil. */
export function formatDays(days: number): string {
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const doe = z - era * 146_097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0)
  const bc = year <= 0
  return `${pad(bc ? 1 - year : year, 4)}-${pad(month, 2)}-${pad(day, 2)}${bc ? ' BC' : ''}`
}

export function pad(n: number, width: number): string {
  const s = String(n)
  return s.length >= width ? s : '0'.repeat(width - s.length) + s
}

function two(buf: Buffer, i: number): number {
  return (buf[i]! - 0x30) * 10 + (buf[i + 1]! - 0x30)
}

/**
 * Milliseconds since 1970 of `YYYY-MM-DD HH:MM:SS[.ffffff][±HH[:MM[:SS]]][ BC]`.
 * The year may have more than 4 digits. Without an offset the time is UTC.
 */
export function parseTimestampMs(buf: Buffer, start: number, end: number): number {
  let i = start
  let year = 0
  for (let c = buf[i]!; c !== MINUS && i < end; c = buf[++i]!) year = year * 10 + (c - 0x30)
  const month = two(buf, i + 1)
  const day = two(buf, i + 4)
  const hour = two(buf, i + 7)
  const minute = two(buf, i + 10)
  const second = two(buf, i + 13)
  i += 15
  let ms = 0
  if (buf[i] === DOT) {
    // Keep the first three fraction digits; the rest are below Date's precision.
    let k = 0
    for (i++; i < end; i++, k++) {
      const d = buf[i]! - 0x30
      if (d < 0 || d > 9) break
      if (k < 3) ms += d * (k === 0 ? 100 : k === 1 ? 10 : 1)
    }
  }
  let offset = 0 // seconds east of UTC
  const c = buf[i]
  if (i < end && (c === PLUS || c === MINUS)) {
    offset = two(buf, i + 1) * 3600
    i += 3
    if (buf[i] === COLON && i < end) {
      offset += two(buf, i + 1) * 60
      i += 3
      if (buf[i] === COLON && i < end) {
        offset += two(buf, i + 1)
        i += 3
      }
    }
    if (c === MINUS) offset = -offset
  }
  if (i < end && buf[i] === SPACE) year = 1 - year // " BC": 1 BC is astronomical year 0
  const days = daysFromCivil(year, month, day)
  return days * MS_PER_DAY + ((hour * 60 + minute) * 60 + second - offset) * 1000 + ms
}

/** Text timestamptz/timestamp: 'infinity' and '-infinity' are the only values not starting with a digit. */
export function decodeTimestampText(buf: Buffer, start: number, end: number): Date | number {
  const c = buf[start]
  if (c === LOWER_I) return Infinity
  if (c === MINUS) return -Infinity
  return new Date(parseTimestampMs(buf, start, end))
}

/**
 * Binary timestamptz/timestamp: int64 microseconds since 2000-01-01 UTC, with
 * int64 max/min meaning ±infinity. Read as two int32 halves so no BigInt is
 * needed: hi * 2^32 = 1000 * (hi * 4294967) + hi * 296, and both parts are
 * exact in a double, so the floored millisecond count is exact.
 */
export function decodeTimestampBinary(buf: Buffer, start: number): Date | number {
  const hi = buf.readInt32BE(start)
  const lo = buf.readUInt32BE(start + 4)
  if (hi === INT32_MAX && lo === 0xffffffff) return Infinity
  if (hi === INT32_MIN && lo === 0) return -Infinity
  const ms = hi * 4_294_967 + Math.floor((hi * 296 + lo) / 1000)
  return new Date(ms + PG_EPOCH_MS)
}

export function decodeDateText(buf: Buffer, start: number, end: number): string {
  return buf.toString('latin1', start, end)
}

/** Binary date: int32 days since 2000-01-01, int32 max/min meaning ±infinity. */
export function decodeDateBinary(buf: Buffer, start: number): string {
  const days = buf.readInt32BE(start)
  if (days === INT32_MAX) return 'infinity'
  if (days === INT32_MIN) return '-infinity'
  return formatDays(days + PG_EPOCH_DAYS)
}

/** Text date as a Date at midnight UTC (TypeOptions.date 'Date'). */
export function decodeDateTextAsDate(buf: Buffer, start: number, end: number): Date | number {
  const c = buf[start]
  if (c === LOWER_I) return Infinity
  if (c === MINUS) return -Infinity
  let i = start
  let year = 0
  for (let d = buf[i]!; d !== MINUS && i < end; d = buf[++i]!) year = year * 10 + (d - 0x30)
  if (end - i > 6 && buf[end - 1] === 0x43) year = 1 - year // ' BC'
  return new Date(daysFromCivil(year, two(buf, i + 1), two(buf, i + 4)) * MS_PER_DAY)
}

export function decodeDateBinaryAsDate(buf: Buffer, start: number): Date | number {
  const days = buf.readInt32BE(start)
  if (days === INT32_MAX) return Infinity
  if (days === INT32_MIN) return -Infinity
  return new Date((days + PG_EPOCH_DAYS) * MS_PER_DAY)
}

/**
 * ISO 8601 with an explicit UTC offset, written by hand because toISOString()
 * prints years outside 0..9999 as ±YYYYYY, which PostgreSQL rejects; BC years
 * use PostgreSQL's ' BC' suffix (JS year 0 is 1 BC).
 */
export function isoTimestamptz(d: Date): string {
  const y = d.getUTCFullYear()
  const bc = y <= 0
  return (
    `${pad(bc ? 1 - y : y, 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
    `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}` +
    `.${pad(d.getUTCMilliseconds(), 3)}+00:00${bc ? ' BC' : ''}`
  )
}

/** 'YYYY-MM-DD' of a Date's UTC day, ' BC' for years <= 0. */
function utcDay(d: Date): string {
  return formatDays(Math.floor(d.getTime() / MS_PER_DAY))
}

/** A Date's UTC wall-clock time, for timestamp (without time zone), matching how timestamps are read. */
function utcWallClock(d: Date): string {
  const day = utcDay(d)
  const bc = day.endsWith(' BC')
  const time = `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}`
  return bc ? `${day.slice(0, -3)} ${time} BC` : `${day} ${time}`
}

const INVALID_DATE = refuse('invalid Date')

/** Strings as they are, ±Infinity as infinity, Dates by `fromDate`. */
function datetimeEncoder(oid: number, type: string, fromDate: (d: Date) => string): TypedEncoder {
  return makeEncoder(oid, type, 0, (value) => {
    if (typeof value === 'string') return hasNul(value) ? NUL_REFUSAL : value
    if (value === Infinity) return 'infinity'
    if (value === -Infinity) return '-infinity'
    if (!(value instanceof Date)) return undefined
    return Number.isNaN(value.getTime()) ? INVALID_DATE : fromDate(value)
  })
}

export function register(map: TypeMap): void {
  map.registerEncoder(O.TIMESTAMPTZ, datetimeEncoder(O.TIMESTAMPTZ, 'timestamptz', isoTimestamptz))
  map.registerEncoder(O.TIMESTAMP, datetimeEncoder(O.TIMESTAMP, 'timestamp', utcWallClock))
  map.registerEncoder(O.DATE, datetimeEncoder(O.DATE, 'date', utcDay))
  map.registerDecoder(O.TIMESTAMPTZ, 0, decodeTimestampText)
  map.registerDecoder(O.TIMESTAMPTZ, 1, decodeTimestampBinary)
  map.registerDecoder(O.TIMESTAMP, 0, decodeTimestampText)
  map.registerDecoder(O.TIMESTAMP, 1, decodeTimestampBinary)
  map.registerDecoder(O.DATE, 0, decodeDateText)
  map.registerDecoder(O.DATE, 1, decodeDateBinary)
  map.registerArray(O.TIMESTAMPTZ, O.TIMESTAMPTZ_ARRAY)
  map.registerArray(O.TIMESTAMP, O.TIMESTAMP_ARRAY)
  map.registerArray(O.DATE, O.DATE_ARRAY)
}
