import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { PgInterval } from '../../../src/types/index.js'
import { parseInterval } from '../../../src/types/interval.js'
import * as O from '../../../src/types/oids.js'
import { decode, refusal, roundTrip } from './helpers.js'

function binary(months: number, days: number, us: bigint): Buffer {
  const b = Buffer.alloc(16)
  b.writeBigInt64BE(us, 0)
  b.writeInt32BE(days, 8)
  b.writeInt32BE(months, 12)
  return b
}

/** The fields EncodeInterval works from: years/months share a sign, as do hours..microseconds. */
function fields(months: number, days: number, us: bigint) {
  const trunc = (a: bigint, b: bigint): bigint => a / b // BigInt division truncates, like C
  const hour = trunc(us, 3_600_000_000n)
  const min = trunc(us - hour * 3_600_000_000n, 60_000_000n)
  const rest = us - hour * 3_600_000_000n - min * 60_000_000n
  return { year: Math.trunc(months / 12), mon: months % 12, day: days, hour, min, sec: trunc(rest, 1_000_000n), fsec: rest % 1_000_000n }
}

const abs = (n: bigint): bigint => (n < 0n ? -n : n)
const secs = (sec: bigint, fsec: bigint, pad: boolean): string => {
  const s = String(abs(sec)).padStart(pad ? 2 : 1, '0')
  return fsec === 0n ? s : `${s}.${String(abs(fsec)).padStart(6, '0').replace(/0+$/, '')}`
}

/** IntervalStyle postgres, after the rules of the server's EncodeInterval. */
function postgresStyle(months: number, days: number, us: bigint): string {
  const f = fields(months, days, us)
  let out = ''
  let before = false
  let zero = true
  for (const [v, unit] of [
    [f.year, 'year'],
    [f.mon, 'mon'],
    [f.day, 'day'],
  ] as const) {
    if (v === 0) continue
    out += `${zero ? '' : ' '}${before && v > 0 ? '+' : ''}${v} ${unit}${v !== 1 ? 's' : ''}`
    before = v < 0
    zero = false
  }
  if (zero || us !== 0n) {
    const minus = us < 0n
    out += `${zero ? '' : ' '}${minus ? '-' : before ? '+' : ''}${String(abs(f.hour)).padStart(2, '0')}:${String(abs(f.min)).padStart(2, '0')}:${secs(f.sec, f.fsec, true)}`
  }
  return out
}

/** IntervalStyle iso_8601: a sign per field. */
function isoStyle(months: number, days: number, us: bigint): string {
  const f = fields(months, days, us)
  if (months === 0 && days === 0 && us === 0n) return 'PT0S'
  const part = (v: number | bigint, u: string): string => (v == 0 ? '' : `${v}${u}`)
  let out = 'P' + part(f.year, 'Y') + part(f.mon, 'M') + part(f.day, 'D')
  if (us !== 0n) {
    out += 'T' + part(f.hour, 'H') + part(f.min, 'M')
    if (f.sec !== 0n || f.fsec !== 0n) out += `${f.sec < 0n || f.fsec < 0n ? '-' : ''}${secs(f.sec, f.fsec, false)}S`
  }
  return out
}

const INT32 = fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 2 })
const US = fc.oneof(fc.bigInt({ min: -(2n ** 63n) + 1n, max: 2n ** 63n - 2n }), fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }))

describe('interval', () => {
  it('text (postgres and iso_8601 styles) and binary decode alike', () => {
    fc.assert(
      fc.property(INT32, INT32, US, (months, days, us) => {
        const expected = new PgInterval(months, days, Number(us))
        expect(decode(O.INTERVAL, 1, binary(months, days, us))).toEqual(expected)
        expect(decode(O.INTERVAL, 0, postgresStyle(months, days, us))).toEqual(expected)
        expect(decode(O.INTERVAL, 0, isoStyle(months, days, us))).toEqual(expected)
      }),
      { numRuns: 500 },
    )
  })

  it('toPostgres() is the iso_8601 style, and reads back', () => {
    fc.assert(
      fc.property(INT32, INT32, fc.bigInt({ min: -(2n ** 53n), max: 2n ** 53n }), (months, days, us) => {
        const i = new PgInterval(months, days, Number(us))
        expect(i.toPostgres()).toBe(isoStyle(months, days, us))
        expect(String(i)).toBe(i.toPostgres())
        expect(parseInterval(i.toPostgres())).toEqual(i)
        expect(roundTrip(O.INTERVAL, i)).toEqual(i)
      }),
    )
  })

  // As the server prints them (captured from PostgreSQL 18).
  it.each<[string, PgInterval | number]>([
    ['1 year 2 mons 3 days 04:05:06.789', new PgInterval(14, 3, 14_706_789_000)],
    ['-1 days +02:00:00', new PgInterval(0, -1, 7_200_000_000)],
    ['-00:00:00.000001', new PgInterval(0, 0, -1)],
    ['P1Y2M3DT4H5M6.789S', new PgInterval(14, 3, 14_706_789_000)],
    ['P-1DT2H', new PgInterval(0, -1, 7_200_000_000)],
    ['PT0S', new PgInterval()],
    ['+1-2 +3 +4:05:06.789', new PgInterval(14, 3, 14_706_789_000)],
    ['+0-0 -1 +2:00:00', new PgInterval(0, -1, 7_200_000_000)],
    ['-1 2:00:00', new PgInterval(0, -1, -7_200_000_000)],
    ['-1-2', new PgInterval(-14, 0, 0)],
    ['3 0:00:00', new PgInterval(0, 3, 0)],
    ['0', new PgInterval()],
    ['@ 1 year 2 mons 3 days 4 hours 5 mins 6.789 secs', new PgInterval(14, 3, 14_706_789_000)],
    ['@ 1 day -2 hours ago', new PgInterval(0, -1, 7_200_000_000)],
    ['@ 1 day 2 hours 0.5 secs ago', new PgInterval(0, -1, -7_200_500_000)],
    ['@ 0', new PgInterval()],
    ['infinity', Infinity],
    ['-infinity', -Infinity],
  ])('%s', (text, expected) => {
    expect(decode(O.INTERVAL, 0, text)).toEqual(expected)
  })

  it('binary infinities (PostgreSQL 17+)', () => {
    expect(decode(O.INTERVAL, 1, binary(2 ** 31 - 1, 2 ** 31 - 1, 2n ** 63n - 1n))).toBe(Infinity)
    expect(decode(O.INTERVAL, 1, binary(-(2 ** 31), -(2 ** 31), -(2n ** 63n)))).toBe(-Infinity)
  })

  it('parameters: PgInterval, plain {months, days, microseconds}, strings, ±Infinity', () => {
    const enc = (v: unknown): unknown => roundTrip(O.INTERVAL, v)
    expect(enc({ days: 2, microseconds: -1 })).toEqual(new PgInterval(0, 2, -1))
    expect(enc('1 hour')).toEqual(new PgInterval(0, 0, 3_600_000_000))
    expect(enc(-Infinity)).toBe(-Infinity)
    expect(refusal(O.INTERVAL, { hours: 1 })).toBe('parameter $1: cannot encode an object as interval')
    expect(refusal(O.INTERVAL, { days: 1.5 })).toBe('parameter $1: cannot encode an object as interval')
    expect(refusal(O.INTERVAL, 60)).toBe('parameter $1: cannot encode a number (60) as interval')
  })
})

describe('time and timetz', () => {
  const micros = fc.integer({ min: 0, max: 86_400_000_000 })
  const timeText = (us: number): string => {
    const s = Math.floor(us / 1e6)
    const f = us % 1e6
    const p = (n: number): string => String(n).padStart(2, '0')
    return `${p(Math.floor(s / 3600))}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}${f ? '.' + String(f).padStart(6, '0').replace(/0+$/, '') : ''}`
  }
  const int64 = (n: number): Buffer => {
    const b = Buffer.alloc(8)
    b.writeBigInt64BE(BigInt(n))
    return b
  }

  it('binary is spelled as the text', () => {
    fc.assert(
      fc.property(micros, (us) => {
        expect(decode(O.TIME, 1, int64(us))).toBe(timeText(us))
        expect(decode(O.TIME, 0, timeText(us))).toBe(timeText(us))
      }),
    )
    fc.assert(
      fc.property(micros, fc.integer({ min: -57599, max: 57599 }), (us, east) => {
        const a = Math.abs(east)
        const p = (n: number): string => String(n).padStart(2, '0')
        let off = (east < 0 ? '-' : '+') + p(Math.floor(a / 3600))
        if (a % 3600 !== 0) off += ':' + p(Math.floor(a / 60) % 60)
        if (a % 60 !== 0) off += ':' + p(a % 60)
        const zone = Buffer.alloc(4)
        zone.writeInt32BE(-east) // the binary zone counts seconds west of UTC
        expect(decode(O.TIMETZ, 1, Buffer.concat([int64(us), zone]))).toBe(timeText(us) + off)
      }),
    )
    expect(decode(O.TIME, 1, int64(86_400_000_000))).toBe('24:00:00')
  })

  it('parameters are strings', () => {
    expect(roundTrip(O.TIME, '12:00:00.5')).toBe('12:00:00.5')
    expect(refusal(O.TIME, new Date())).toBe('parameter $1: cannot encode a Date as time')
  })
})
