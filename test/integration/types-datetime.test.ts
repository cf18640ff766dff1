import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Connection } from '../../src/index.js'
import { PgInterval, TypeMap, defaultTypeMap } from '../../src/types/index.js'
import * as O from '../../src/types/oids.js'
import { connectAs } from './_util.js'
import { checkArray, checkType, lit, type Case } from './types-helpers.js'

let conn: Connection

beforeAll(async () => {
  conn = await connectAs('scram')
})
afterAll(async () => {
  await conn?.close()
})

const c = lit

const lossless = new TypeMap(defaultTypeMap, { timestamp: 'string', date: 'Date' })

const TIMESTAMPS = [
  '2024-01-02 03:04:05',
  '1999-12-31 23:59:59.999',
  '0044-03-15 12:00:00 BC',
  '0001-01-01 00:00:00',
  '0001-12-31 23:59:59 BC',
  '10000-01-01 00:00:00',
  '4714-11-24 00:00:00 BC',
  'infinity',
  '-infinity',
]
// Microseconds, and years past what a Date holds: exact only as strings.
const PRECISE = ['2024-01-02 03:04:05.123456', '1970-01-01 00:00:00.000001', '1969-12-31 23:59:59.999999', '294276-12-31 23:59:59.999999']

describe('date and time types against the server', () => {
  it('date', async () => {
    const dates = [
      c('2024-02-29', '2024-02-29'),
      c('0044-03-15 BC', '0044-03-15 BC'),
      c('10010-01-01', '10010-01-01'),
      c('4714-11-24 BC', '4714-11-24 BC'),
      c('5874897-12-31', '5874897-12-31'),
      c('infinity', 'infinity'),
      c('-infinity', '-infinity'),
    ]
    await checkType(conn, 'date', O.DATE, dates)
    await checkArray(conn, 'date', O.DATE_ARRAY, dates)
    // As Dates: midnight UTC; ±infinity as ±Infinity.
    const asDates = [
      c('2024-02-29', new Date(Date.UTC(2024, 1, 29))),
      c('0044-03-15 BC', new Date(Date.UTC(-43, 2, 15))),
      c('10010-01-01', new Date(Date.UTC(10010, 0, 1))),
      c('infinity', Infinity),
      c('-infinity', -Infinity),
    ]
    await checkType(conn, 'date', O.DATE, asDates, { types: lossless })
    await checkArray(conn, 'date', O.DATE_ARRAY, asDates, { types: lossless })
  })

  it('time and timetz', async () => {
    const times = ['00:00:00', '23:59:59.999999', '24:00:00', '12:34:56.5'].map((t) => c(t, t))
    await checkType(conn, 'time', O.TIME, times)
    await checkArray(conn, 'time', O.TIME_ARRAY, times)
    const tz = ['12:34:56.789+05:30', '00:00:00-14:59', '24:00:00+00', '01:02:03.000001-00:00:15', '13:00:00+14'].map((t) => c(t, t))
    await checkType(conn, 'timetz', O.TIMETZ, tz)
    await checkArray(conn, 'timetz', O.TIMETZ_ARRAY, tz)
  })

  it('timestamp: Date (read as UTC) and lossless strings', async () => {
    const asDate = TIMESTAMPS.map((t) => c(t))
    asDate[0] = c(TIMESTAMPS[0]!, new Date(Date.UTC(2024, 0, 2, 3, 4, 5)))
    asDate.push(c('2024-01-02 03:04:05.123456', new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 123)), 'value'))
    await checkType(conn, 'timestamp', O.TIMESTAMP, asDate)
    await checkArray(conn, 'timestamp', O.TIMESTAMP_ARRAY, asDate)
    const asString = [...TIMESTAMPS, ...PRECISE].map((t) => c(t, t))
    await checkType(conn, 'timestamp', O.TIMESTAMP, asString, { types: lossless })
    await checkArray(conn, 'timestamp', O.TIMESTAMP_ARRAY, asString, { types: lossless })
  })

  for (const zone of ['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Europe/Amsterdam']) {
    it(`timestamptz with TimeZone ${zone}`, async () => {
      await conn.query(`set timezone = '${zone}'`)
      try {
        // Europe/Amsterdam used local mean time (+00:19:32) before 1937: an offset with seconds.
        const literals = [...TIMESTAMPS.map((t) => (t.includes('inf') ? t : t.replace(/( BC)?$/, '+00$1'))), '1900-06-01 12:00:00+00']
        const asDate = literals.map((t) => c(t))
        asDate.push(c('2024-01-02 03:04:05.123456+00', new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 123)), 'value'))
        await checkType(conn, 'timestamptz', O.TIMESTAMPTZ, asDate)
        await checkArray(conn, 'timestamptz', O.TIMESTAMPTZ_ARRAY, asDate)
        // Lossless strings are always in UTC, so the server's text matches them only in UTC.
        const roundTrip = zone === 'UTC' ? undefined : 'value'
        const asString = [...literals, ...PRECISE.map((t) => `${t}+00`)].map((t) => c(t, undefined, roundTrip))
        asString.push(c('2024-06-01 12:00:00.5+05:30', '2024-06-01 06:30:00.5+00', roundTrip))
        asString.push(c('0044-03-15 00:10:00+01 BC', '0044-03-14 23:10:00+00 BC', roundTrip))
        await checkType(conn, 'timestamptz', O.TIMESTAMPTZ, asString, { types: lossless })
        await checkArray(conn, 'timestamptz', O.TIMESTAMPTZ_ARRAY, asString, { types: lossless })
      } finally {
        await conn.query('set timezone = UTC')
      }
    })
  }

  it('Dates sent as timestamptz, timestamp and date keep their UTC reading', async () => {
    const d = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678))
    const r = await conn.query('select $1::timestamptz::text a, $2::timestamp::text b, $3::date::text c', [d, d, d])
    expect(r.rows[0]).toEqual({ a: '2024-01-02 03:04:05.678+00', b: '2024-01-02 03:04:05.678', c: '2024-01-02' })
  })

  const INTERVALS = [
    c('1 year 2 mons 3 days 04:05:06.789', new PgInterval(14, 3, 14_706_789_000)),
    c('-1 days +02:00:00', new PgInterval(0, -1, 7_200_000_000)),
    c('0', new PgInterval(0, 0, 0)),
    c('P-1Y-2M3DT-4H-5M-6.789S', new PgInterval(-14, 3, -14_706_789_000)),
    c('1000000000 hours', new PgInterval(0, 0, 3_600_000_000_000_000_000)),
    c('-00:00:00.000001', new PgInterval(0, 0, -1)),
    c('-178000000 years', new PgInterval(-2_136_000_000, 0, 0)),
    c('1 day -1 second', new PgInterval(0, 1, -1_000_000)),
    c('-3 days', new PgInterval(0, -3, 0)),
    c('5 mons -2 days', new PgInterval(5, -2, 0)),
    c('-1 year -2 mons', new PgInterval(-14, 0, 0)),
    c('-1 days -00:00:01.5', new PgInterval(0, -1, -1_500_000)),
    c('infinity', Infinity),
    c('-infinity', -Infinity),
  ]

  for (const style of ['postgres', 'postgres_verbose', 'sql_standard', 'iso_8601']) {
    it(`interval with IntervalStyle ${style}`, async () => {
      await conn.query(`set intervalstyle = ${style}`)
      try {
        await checkType(conn, 'interval', O.INTERVAL, INTERVALS)
        await checkArray(conn, 'interval', O.INTERVAL_ARRAY, INTERVALS)
      } finally {
        await conn.query('set intervalstyle = postgres')
      }
    })
  }
})
