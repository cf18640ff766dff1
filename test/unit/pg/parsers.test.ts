// pgline/pg's date and timestamp parser has a fast path for the common shapes
// without a zone; whatever the shape, it must give what the full pattern gives.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseDateTime, parseDateTimeByPattern } from '../../../src/pg/parsers.js'

const pad = (n: number, w: number): string => String(n).padStart(w, '0')

const same = (v: string): void => {
  const a = parseDateTime(v)
  const b = parseDateTimeByPattern(v)
  if (a instanceof Date && b instanceof Date) expect(a.getTime(), v).toBe(b.getTime())
  else expect(a, v).toStrictEqual(b)
}

describe('parseDateTime', () => {
  it('dates and timestamps without a zone, any fraction: as the full pattern reads them', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 28 }),
        fc.option(fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), fc.option(fc.stringMatching(/^[0-9]{1,6}$/)))),
        (y, m, d, time) => {
          let v = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`
          if (time !== null) v += ` ${pad(time[0], 2)}:${pad(time[1], 2)}:${pad(time[2], 2)}${time[3] === null ? '' : `.${time[3]}`}`
          same(v)
        },
      ),
    )
  })

  it('shapes the fast path leaves alone (zones, BC, short and long years, junk) read the same', () => {
    for (const v of [
      '2024-02-29 13:14:15+02',
      '2024-02-29 13:14:15.5-07:30',
      '2024-02-29 13:14:15Z',
      '0044-03-15',
      '0044-03-15 12:00:00',
      '2024-03-15 BC',
      '12024-03-15',
      '2024-02-29T13:14:15',
      '2024-02-29 13:14:15.',
      '2024-02-29 13:14',
      '2024-0a-29',
      'infinity',
      '-infinity',
      'not a date',
    ])
      same(v)
    fc.assert(fc.property(fc.string({ maxLength: 30 }), (v) => same(v)))
  })

  it('local time, as node-postgres reads a date or timestamp', () => {
    expect((parseDateTime('2024-02-29') as Date).getTime()).toBe(new Date(2024, 1, 29).getTime())
    expect((parseDateTime('2024-02-29 13:14:15.12') as Date).getTime()).toBe(new Date(2024, 1, 29, 13, 14, 15, 120).getTime())
  })
})
