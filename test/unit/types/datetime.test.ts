import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as O from '../../../src/types/oids.js'
import { TypeMap, defaultTypeMap } from '../../../src/types/index.js'
import { formatDays } from '../../../src/types/datetime.js'
import { decode, embed, int32 } from './helpers.js'

const PG_EPOCH_MS = 946_684_800_000
/** The instants both PostgreSQL (4714-11-24 BC) and a JS Date (±8.64e15 ms) can hold, in µs since 2000. */
const MIN_US = -211_813_488_000_000_000n
const MAX_US = 8_640_000_000_000_000_000n - BigInt(PG_EPOCH_MS) * 1000n - 16n * 3_600_000_000n

function int64(n: bigint): Buffer {
  const b = Buffer.alloc(8)
  b.writeBigInt64BE(n)
  return b
}

const floorDiv = (a: bigint, b: bigint): bigint => (a >= 0n ? a / b : -((-a + b - 1n) / b))

/** 'YYYY-MM-DD HH:MM:SS[.ffffff]' (+ ' BC') of µs since 2000, as the server prints with DateStyle ISO. */
function wallClock(us: bigint): { date: string; time: string; bc: boolean } {
  const ms = floorDiv(us, 1000n)
  const d = new Date(Number(ms) + PG_EPOCH_MS)
  const y = d.getUTCFullYear()
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  const micros = Number(us - floorDiv(us, 1_000_000n) * 1_000_000n)
  const frac = micros === 0 ? '' : '.' + p(micros, 6).replace(/0+$/, '')
  return {
    date: `${p(y <= 0 ? 1 - y : y, 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`,
    time: `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}${frac}`,
    bc: y <= 0,
  }
}

/** '+HH', '+HH:MM' or '+HH:MM:SS', the shortest that is exact, as the server prints offsets. */
function offsetText(seconds: number): string {
  const a = Math.abs(seconds)
  const [h, m, s] = [Math.floor(a / 3600), Math.floor(a / 60) % 60, a % 60].map((n) => String(n).padStart(2, '0'))
  return (seconds < 0 ? '-' : '+') + h + (m !== '00' || s !== '00' ? ':' + m : '') + (s !== '00' ? ':' + s : '')
}

function timestamptzText(us: bigint, offset: number): string {
  const w = wallClock(us + BigInt(offset) * 1_000_000n)
  return `${w.date} ${w.time}${offsetText(offset)}${w.bc ? ' BC' : ''}`
}

const expectedMs = (us: bigint): number => Number(floorDiv(us, 1000n)) + PG_EPOCH_MS

describe('timestamptz', () => {
  it('text (any offset) and binary decode to the same instant, microseconds floored', () => {
    const offset = fc.oneof(fc.constantFrom(0, 19800, -12600, 1050, -36000), fc.integer({ min: -57599, max: 57599 }))
    fc.assert(
      fc.property(fc.bigInt({ min: MIN_US, max: MAX_US }), offset, (us, off) => {
        const text = decode(O.TIMESTAMPTZ, 0, timestamptzText(us, off)) as Date
        const binary = decode(O.TIMESTAMPTZ, 1, int64(us)) as Date
        expect(text.getTime()).toBe(expectedMs(us))
        expect(binary.getTime()).toBe(expectedMs(us))
      }),
      { numRuns: 1000 },
    )
  })

  it.each([
    ['2024-01-02 03:04:05.123456+05:30', Date.UTC(2024, 0, 1, 21, 34, 5, 123)],
    ['1800-01-01 00:00:00+00:17:30', Date.UTC(1799, 11, 31, 23, 42, 30)],
    ['1999-12-31 23:59:59.9999+00', Date.UTC(1999, 11, 31, 23, 59, 59, 999)],
    ['2000-01-01 00:00:00.5-03:30', Date.UTC(2000, 0, 1, 3, 30, 0, 500)],
    ['20000-01-01 01:00:00+01', Date.UTC(20000, 0, 1)],
    // 44 BC is astronomical year -43.
    ['0044-03-15 12:17:30+00:17:30 BC', Date.UTC(-43, 2, 15, 12)],
    ['0001-01-01 00:00:00+00 BC', new Date('0000-01-01T00:00:00Z').getTime()],
  ])('%s', (text, ms) => {
    expect((decode(O.TIMESTAMPTZ, 0, text) as Date).getTime()).toBe(ms)
  })

  it('infinity', () => {
    expect(decode(O.TIMESTAMPTZ, 0, 'infinity')).toBe(Infinity)
    expect(decode(O.TIMESTAMPTZ, 0, '-infinity')).toBe(-Infinity)
    expect(decode(O.TIMESTAMPTZ, 1, int64(2n ** 63n - 1n))).toBe(Infinity)
    expect(decode(O.TIMESTAMPTZ, 1, int64(-(2n ** 63n)))).toBe(-Infinity)
    expect(decode(O.TIMESTAMP, 0, 'infinity')).toBe(Infinity)
  })

  it('out of the Date range gives an Invalid Date', () => {
    const d = decode(O.TIMESTAMPTZ, 0, '294276-12-31 23:59:59+00') as Date
    expect(Number.isNaN(d.getTime())).toBe(true)
  })
})

describe('timestamp (read as UTC)', () => {
  it('text and binary agree', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: MIN_US, max: MAX_US }), (us) => {
        const w = wallClock(us)
        const text = decode(O.TIMESTAMP, 0, `${w.date} ${w.time}${w.bc ? ' BC' : ''}`) as Date
        expect(text.getTime()).toBe(expectedMs(us))
        expect((decode(O.TIMESTAMP, 1, int64(us)) as Date).getTime()).toBe(expectedMs(us))
      }),
    )
    expect((decode(O.TIMESTAMP, 0, '2024-06-01 12:00:00') as Date).toISOString()).toBe('2024-06-01T12:00:00.000Z')
  })
})

describe('date', () => {
  it('binary formats exactly as the text', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2_451_545, max: 99_000_000 }), (days) => {
        const w = wallClock(BigInt(days) * 86_400_000_000n)
        const text = w.date + (w.bc ? ' BC' : '')
        expect(decode(O.DATE, 0, text)).toBe(text)
        expect(decode(O.DATE, 1, int32(days))).toBe(text)
      }),
    )
  })

  // Day numbers from the server: SELECT d - date '2000-01-01'.
  it.each([
    [0, '2000-01-01'],
    [-730_119, '0001-01-01'],
    [-730_120, '0001-12-31 BC'],
    [-748_309, '0050-03-15 BC'],
    [2_925_593, '10010-01-01'],
    [2 ** 31 - 1, 'infinity'],
    [-(2 ** 31), '-infinity'],
  ])('%i days -> %s', (days, text) => {
    expect(decode(O.DATE, 1, int32(days))).toBe(text)
  })
})

describe("timestamp 'string' option: every microsecond, text and binary alike", () => {
  const types = new TypeMap(defaultTypeMap, { timestamp: 'string' })
  const run = (oid: number, format: 0 | 1, bytes: Buffer | string): unknown => {
    const { buf, start, end } = embed(bytes)
    return types.decoder(oid, format)(buf, start, end)
  }
  // The whole timestamp range, 4713 BC to 294276 AD; Dates are not involved.
  const ANY_US = fc.bigInt({ min: -211_813_488_000_000_000n, max: 9_223_371_331_199_999_999n })

  it('timestamp: binary is spelled as the server prints the text', () => {
    fc.assert(
      fc.property(ANY_US, (us) => {
        const w = wallClockExact(us)
        const text = `${w.date} ${w.time}${w.bc ? ' BC' : ''}`
        expect(run(O.TIMESTAMP, 0, text)).toBe(text)
        expect(run(O.TIMESTAMP, 1, int64(us))).toBe(text)
      }),
      { numRuns: 500 },
    )
  })

  it('timestamptz: any offset is normalised to UTC, the binary form is UTC', () => {
    const offset = fc.oneof(fc.constantFrom(0, 19800, -12600, 1172), fc.integer({ min: -57599, max: 57599 }))
    fc.assert(
      fc.property(ANY_US, offset, (us, off) => {
        const w = wallClockExact(us)
        const utc = `${w.date} ${w.time}+00${w.bc ? ' BC' : ''}`
        const local = wallClockExact(us + BigInt(off) * 1_000_000n)
        expect(run(O.TIMESTAMPTZ, 0, `${local.date} ${local.time}${offsetText(off)}${local.bc ? ' BC' : ''}`)).toBe(utc)
        expect(run(O.TIMESTAMPTZ, 1, int64(us))).toBe(utc)
      }),
      { numRuns: 500 },
    )
  })

  it('infinities and named cases', () => {
    expect(run(O.TIMESTAMPTZ, 1, int64(2n ** 63n - 1n))).toBe('infinity')
    expect(run(O.TIMESTAMP, 1, int64(-(2n ** 63n)))).toBe('-infinity')
    expect(run(O.TIMESTAMPTZ, 0, '-infinity')).toBe('-infinity')
    expect(run(O.TIMESTAMPTZ, 0, '2000-01-01 00:30:00.000001+01')).toBe('1999-12-31 23:30:00.000001+00')
    expect(run(O.TIMESTAMPTZ, 0, '0001-01-01 00:10:00+00:17:30')).toBe('0001-12-31 23:52:30+00 BC')
    expect(run(O.TIMESTAMPTZ, 0, '294276-12-31 23:59:59.999999+00')).toBe('294276-12-31 23:59:59.999999+00')
  })
})

describe("date 'Date' option", () => {
  const types = new TypeMap(defaultTypeMap, { date: 'Date' })
  const run = (format: 0 | 1, bytes: Buffer | string): unknown => {
    const { buf, start, end } = embed(bytes)
    return types.decoder(O.DATE, format)(buf, start, end)
  }
  it('midnight UTC, from text and binary alike; infinities as ±Infinity', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2_451_545, max: 97_000_000 }), (days) => {
        const w = wallClock(BigInt(days) * 86_400_000_000n)
        const expected = new Date((days + 10_957) * 86_400_000)
        expect(run(0, w.date + (w.bc ? ' BC' : ''))).toEqual(expected)
        expect(run(1, int32(days))).toEqual(expected)
      }),
    )
    expect(run(0, 'infinity')).toBe(Infinity)
    expect(run(1, int32(-(2 ** 31)))).toBe(-Infinity)
    expect(run(0, '0044-03-15 BC')).toEqual(new Date(Date.UTC(-43, 2, 15)))
  })
})

/** wallClock for any µs (BigInt arithmetic, no Date): the server's ISO spelling. */
function wallClockExact(us: bigint): { date: string; time: string; bc: boolean } {
  const day = floorDiv(us, 86_400_000_000n)
  const rem = us - day * 86_400_000_000n
  const date = formatDays(Number(day) + 10_957)
  const bc = date.endsWith(' BC')
  const s = Number(rem / 1_000_000n)
  const micros = Number(rem % 1_000_000n)
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  const frac = micros === 0 ? '' : '.' + p(micros, 6).replace(/0+$/, '')
  return { date: bc ? date.slice(0, -3) : date, time: `${p(Math.floor(s / 3600))}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}${frac}`, bc }
}
