// TypeOptions.timestamp 'string': timestamps as text with every microsecond.
// timestamp reads exactly as the server prints it with DateStyle ISO,
// 'YYYY-MM-DD HH:MM:SS[.ffffff][ BC]'; timestamptz the same in UTC with a
// '+00' offset (the binary format carries no zone, so both formats are
// normalised to UTC to agree); 'infinity' and '-infinity' as text.
import { daysFromCivil, formatDays, pad, PG_EPOCH_DAYS } from './datetime.js'

const US_PER_DAY = 86_400_000_000
const US_PER_DAY_N = 86_400_000_000n
const INT64_MAX = 2n ** 63n - 1n
const INT64_MIN = -(2n ** 63n)
const MINUS = 0x2d
const PLUS = 0x2b

/** `date HH:MM:SS[.ffffff]zone[ BC]` of a day number (since 1970) and microseconds into that day. */
function format(days: number, us: number, zone: string): string {
  const date = formatDays(days)
  const bc = date.endsWith(' BC')
  const secs = Math.floor(us / 1_000_000)
  const frac = us - secs * 1_000_000
  let time = `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}:${pad(secs % 60, 2)}`
  if (frac !== 0) time += '.' + pad(frac, 6).replace(/0+$/, '')
  return bc ? `${date.slice(0, -3)} ${time}${zone} BC` : `${date} ${time}${zone}`
}

function fromBinary(buf: Buffer, start: number, zone: string): string {
  const us = buf.readBigInt64BE(start)
  if (us === INT64_MAX) return 'infinity'
  if (us === INT64_MIN) return '-infinity'
  // Floor division: times before 2000 belong to an earlier day.
  let days = us / US_PER_DAY_N
  let rem = us - days * US_PER_DAY_N
  if (rem < 0n) {
    days -= 1n
    rem += US_PER_DAY_N
  }
  return format(Number(days) + PG_EPOCH_DAYS, Number(rem), zone)
}

export const decodeTimestampTextString = (buf: Buffer, start: number, end: number): string => buf.toString('latin1', start, end)
export const decodeTimestampBinaryString = (buf: Buffer, start: number): string => fromBinary(buf, start, '')
export const decodeTimestamptzBinaryString = (buf: Buffer, start: number): string => fromBinary(buf, start, '+00')

const digits = (buf: Buffer, i: number, n: number): number => {
  let v = 0
  for (let k = 0; k < n; k++) v = v * 10 + (buf[i + k]! - 0x30)
  return v
}

/** Text timestamptz in any offset, re-spelled in UTC without losing a microsecond. */
export function decodeTimestamptzTextString(buf: Buffer, start: number, end: number): string {
  const c = buf[start]
  if (c !== undefined && (c < 0x30 || c > 0x39)) return buf.toString('latin1', start, end) // infinity, -infinity
  let i = start
  while (i < end && buf[i] !== MINUS) i++ // the year may have more than four digits
  let year = digits(buf, start, i - start)
  const month = digits(buf, i + 1, 2)
  const day = digits(buf, i + 4, 2)
  let us = ((digits(buf, i + 7, 2) * 60 + digits(buf, i + 10, 2)) * 60 + digits(buf, i + 13, 2)) * 1_000_000
  i += 15
  if (buf[i] === 0x2e) {
    let scale = 100_000
    for (i++; i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39; i++, scale /= 10) us += (buf[i]! - 0x30) * scale
  }
  const sign = buf[i]
  if (sign === PLUS || sign === MINUS) {
    let offset = digits(buf, i + 1, 2) * 3600
    i += 3
    if (buf[i] === 0x3a) {
      offset += digits(buf, i + 1, 2) * 60
      i += 3
      if (buf[i] === 0x3a) {
        offset += digits(buf, i + 1, 2)
        i += 3
      }
    }
    us -= (sign === MINUS ? -offset : offset) * 1_000_000
  }
  if (i < end && buf[i] === 0x20) year = 1 - year // ' BC'
  let days = daysFromCivil(year, month, day)
  const shift = Math.floor(us / US_PER_DAY)
  days += shift
  us -= shift * US_PER_DAY
  return format(days, us, '+00')
}
