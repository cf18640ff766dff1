// interval -> PgInterval { months, days, microseconds }: the three fields the
// server keeps, which do not convert into each other (a month is not a fixed
// number of days, nor a day of hours across DST). 'infinity' and '-infinity'
// (PostgreSQL 17+) read as the numbers Infinity and -Infinity, as timestamps do.
// Text is parsed in every IntervalStyle; parameters go as ISO 8601 text.
import type { TypeMap } from './type-map.js'
import { makeEncoder, hasNul, NUL_REFUSAL, isPlainObject } from './param.js'
import * as O from './oids.js'

export class PgInterval {
  /**
   * `microseconds` is exact up to ±2^53 (about 285 years of hours); the
   * server allows ±2^63, which a number holds only approximately.
   */
  constructor(
    readonly months: number = 0,
    readonly days: number = 0,
    readonly microseconds: number = 0,
  ) {}

  /** ISO 8601 with a sign per field, as IntervalStyle iso_8601 prints: 'P1Y2M3DT4H5M6.5S', 'P-1DT2H', 'PT0S'. */
  toPostgres(): string {
    const y = Math.trunc(this.months / 12)
    const mo = this.months - y * 12
    let us = BigInt(Math.trunc(this.microseconds))
    const h = us / 3_600_000_000n
    us -= h * 3_600_000_000n
    const mi = us / 60_000_000n
    us -= mi * 60_000_000n
    let s = ''
    if (us !== 0n) {
      const neg = us < 0n
      const a = neg ? -us : us
      const frac = String(a % 1_000_000n).padStart(6, '0').replace(/0+$/, '')
      s = `${neg ? '-' : ''}${a / 1_000_000n}${frac === '' ? '' : '.' + frac}S`
    }
    const date = part(y, 'Y') + part(mo, 'M') + part(this.days, 'D')
    const time = part(h, 'H') + part(mi, 'M') + s
    if (date === '' && time === '') return 'PT0S'
    return 'P' + date + (time === '' ? '' : 'T' + time)
  }

  toString(): string {
    return this.toPostgres()
  }
}

const part = (n: number | bigint, unit: string): string => (n == 0 ? '' : `${n}${unit}`)

const INT32_MAX = 0x7fffffff
const INT32_MIN = -0x80000000

/** Binary: int64 microseconds, int32 days, int32 months; all at their maximum (minimum) is ±infinity. */
export function decodeIntervalBinary(buf: Buffer, start: number): PgInterval | number {
  const us = buf.readBigInt64BE(start)
  const days = buf.readInt32BE(start + 8)
  const months = buf.readInt32BE(start + 12)
  if (months === INT32_MAX && days === INT32_MAX && us === 2n ** 63n - 1n) return Infinity
  if (months === INT32_MIN && days === INT32_MIN && us === -(2n ** 63n)) return -Infinity
  return new PgInterval(months, days, Number(us))
}

export function decodeIntervalText(buf: Buffer, start: number, end: number): PgInterval | number {
  return parseInterval(buf.toString('latin1', start, end))
}

const UNITS: Record<string, readonly [kind: 'months' | 'days' | 'us', scale: bigint]> = {
  year: ['months', 12n],
  mon: ['months', 1n],
  day: ['days', 1n],
  hour: ['us', 3_600_000_000n],
  min: ['us', 60_000_000n],
  sec: ['us', 1_000_000n],
}

/** '[-]digits[.digits]' times `scale`, exactly; fractions are only ever printed for seconds. */
function scaled(token: string, scale: bigint): bigint {
  const neg = token.startsWith('-')
  const [int = '0', frac = ''] = token.replace(/^[+-]/, '').split('.')
  let v = BigInt(int) * scale
  if (frac !== '') v += (BigInt(frac.slice(0, 6).padEnd(6, '0')) * scale) / 1_000_000n
  return neg ? -v : v
}

/**
 * Any IntervalStyle: postgres ('1 year 2 mons -3 days +04:05:06.5'),
 * postgres_verbose ('@ 1 year 2 mons 3 days ago'), sql_standard
 * ('+1-2 -3 +4:05:06', or one leading '-' for all fields) and iso_8601.
 */
export function parseInterval(text: string): PgInterval | number {
  const s = text.trim()
  if (s === 'infinity') return Infinity
  if (s === '-infinity') return -Infinity
  const acc = { months: 0n, days: 0n, us: 0n }
  let negateAll = false
  if (s.startsWith('P')) {
    parseIso(s, acc)
  } else {
    const tokens = s.split(/\s+/).filter((t) => t !== '@')
    // sql_standard writes one leading '-' for an all-negative value; otherwise every later field is signed.
    if (tokens[0]?.startsWith('-') && tokens.slice(1).every((t) => !/^[+-]/.test(t))) {
      negateAll = true
      tokens[0] = tokens[0].slice(1)
    }
    for (let k = 0; k < tokens.length; k++) {
      const t = tokens[k]!
      if (t === 'ago') negateAll = !negateAll
      else if (t.includes(':')) {
        const neg = t.startsWith('-')
        const [h = '0', m = '0', sec = '0'] = t.replace(/^[+-]/, '').split(':')
        const v = BigInt(h) * 3_600_000_000n + BigInt(m) * 60_000_000n + scaled(sec, 1_000_000n)
        acc.us += neg ? -v : v
      } else if (/^[+-]?\d+-\d+$/.test(t)) {
        const neg = t.startsWith('-')
        const [y = '0', m = '0'] = t.replace(/^[+-]/, '').split('-')
        const v = BigInt(y) * 12n + BigInt(m)
        acc.months += neg ? -v : v
      } else {
        const unit = UNITS[(tokens[k + 1] ?? '').replace(/s$/, '')]
        if (unit === undefined) {
          acc.days += BigInt(t) // sql_standard's bare day count
        } else {
          acc[unit[0]] += scaled(t, unit[1])
          k++
        }
      }
    }
  }
  const sign = negateAll ? -1n : 1n
  return new PgInterval(Number(acc.months * sign), Number(acc.days * sign), Number(acc.us * sign))
}

const ISO_PART = /(-?\d+(?:\.\d+)?)([YMWDHS])/g

function parseIso(s: string, acc: { months: bigint; days: bigint; us: bigint }): void {
  const t = s.indexOf('T')
  for (const [, n, unit] of s.slice(1, t < 0 ? undefined : t).matchAll(ISO_PART)) {
    if (unit === 'Y') acc.months += scaled(n!, 12n)
    else if (unit === 'M') acc.months += scaled(n!, 1n)
    else if (unit === 'W') acc.days += scaled(n!, 7n)
    else if (unit === 'D') acc.days += scaled(n!, 1n)
  }
  if (t < 0) return
  for (const [, n, unit] of s.slice(t + 1).matchAll(ISO_PART)) {
    acc.us += scaled(n!, unit === 'H' ? 3_600_000_000n : unit === 'M' ? 60_000_000n : 1_000_000n)
  }
}

function isIntervalLike(v: Record<string, unknown>): boolean {
  const keys = Object.keys(v)
  return keys.length > 0 && keys.every((k) => (k === 'months' || k === 'days' || k === 'microseconds') && Number.isInteger(v[k]))
}

const intervalEncoder = makeEncoder(O.INTERVAL, 'interval', 0, (value) => {
  if (typeof value === 'string') return hasNul(value) ? NUL_REFUSAL : value
  if (value instanceof PgInterval) return value.toPostgres()
  if (value === Infinity) return 'infinity'
  if (value === -Infinity) return '-infinity'
  if (isPlainObject(value) && isIntervalLike(value)) {
    const { months = 0, days = 0, microseconds = 0 } = value as { months?: number; days?: number; microseconds?: number }
    return new PgInterval(months, days, microseconds).toPostgres()
  }
  return undefined
})

export function register(map: TypeMap): void {
  map.registerDecoder(O.INTERVAL, 0, decodeIntervalText)
  map.registerDecoder(O.INTERVAL, 1, decodeIntervalBinary)
  map.registerEncoder(O.INTERVAL, intervalEncoder)
  map.registerArray(O.INTERVAL, O.INTERVAL_ARRAY)
}
