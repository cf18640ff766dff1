// TimestampTz (microseconds since 2000-01-01) to Date and back.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkPgMicros, dateToPgMicros, pgMicrosToDate } from '../../../src/replication/index.js'

const EPOCH_MS = Date.UTC(2000, 0, 1)
const INT64_MAX = (1n << 63n) - 1n
const INT64_MIN = -(1n << 63n)

describe('pgMicrosToDate', () => {
  it.each([
    [0n, '2000-01-01T00:00:00.000Z'],
    [1n, '2000-01-01T00:00:00.000Z'],
    [999n, '2000-01-01T00:00:00.000Z'],
    [1500n, '2000-01-01T00:00:00.001Z'],
    [-1n, '1999-12-31T23:59:59.999Z'], // floored, not truncated toward 2000
    [-1000n, '1999-12-31T23:59:59.999Z'],
    [-1001n, '1999-12-31T23:59:59.998Z'],
    [-946_684_800_000_000n, '1970-01-01T00:00:00.000Z'],
    [786_627_153_123_456n, '2024-12-04T11:32:33.123Z'],
  ])('%s', (micros, iso) => {
    expect(pgMicrosToDate(micros).toISOString()).toBe(iso)
  })

  it('gives an Invalid Date beyond the Date range (and for the infinities)', () => {
    expect(pgMicrosToDate(INT64_MAX).getTime()).toBeNaN()
    expect(pgMicrosToDate(INT64_MIN).getTime()).toBeNaN()
  })
})

describe('dateToPgMicros', () => {
  it('converts Dates and milliseconds', () => {
    expect(dateToPgMicros(new Date(EPOCH_MS))).toBe(0n)
    expect(dateToPgMicros(EPOCH_MS + 1)).toBe(1000n)
    expect(dateToPgMicros(EPOCH_MS - 1)).toBe(-1000n)
    expect(dateToPgMicros(0)).toBe(-946_684_800_000_000n)
    expect(dateToPgMicros(EPOCH_MS + 1.5)).toBe(1500n)
    expect(dateToPgMicros(EPOCH_MS - 0.25)).toBe(-250n)
    expect(dateToPgMicros(8.64e15)).toBe(8_640_000_000_000_000_000n - 946_684_800_000_000n)
  })

  it('refuses an Invalid Date, NaN, infinities and instants outside Int64', () => {
    expect(() => dateToPgMicros(new Date(Number.NaN))).toThrow(RangeError)
    expect(() => dateToPgMicros(Number.NaN)).toThrow(RangeError)
    expect(() => dateToPgMicros(Number.POSITIVE_INFINITY)).toThrow(RangeError)
    expect(dateToPgMicros(-8.64e15)).toBe(-8_640_000_000_000_000_000n - 946_684_800_000_000n) // every Date fits
    expect(() => dateToPgMicros(1e16)).toThrow(RangeError)
    expect(() => dateToPgMicros(-1e16)).toThrow(RangeError)
    expect(() => dateToPgMicros('2000-01-01' as unknown as number)).toThrow(RangeError)
  })

  it('checkPgMicros checks the Int64 range', () => {
    expect(checkPgMicros(INT64_MIN)).toBe(INT64_MIN)
    expect(() => checkPgMicros(INT64_MAX + 1n)).toThrow(RangeError)
    expect(() => checkPgMicros(1 as unknown as bigint)).toThrow(TypeError)
  })
})

describe('properties', () => {
  const ms = fc.integer({ min: -8_640_000_000_000_000, max: 8_640_000_000_000_000 })

  it('a Date survives the round trip', () => {
    fc.assert(fc.property(ms, (t) => pgMicrosToDate(dateToPgMicros(t)).getTime() === t))
  })

  it('microseconds come back floored to the millisecond, order kept', () => {
    const micros = fc.bigInt({ min: -8_000_000_000_000_000_000n, max: 8_000_000_000_000_000_000n })
    fc.assert(
      fc.property(micros, micros, (a, b) => {
        const da = pgMicrosToDate(a)
        const back = dateToPgMicros(da)
        expect(back <= a && a - back < 1000n).toBe(true)
        if (a <= b) expect(da.getTime()).toBeLessThanOrEqual(pgMicrosToDate(b).getTime())
      }),
    )
  })
})
