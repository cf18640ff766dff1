// node-postgres's default text parsers (the pg-types package's), written
// anew from what they return: ints and floats as numbers, int8 and numeric as
// strings, date and timestamp as local-time Dates, timestamptz as Dates,
// json parsed, bytea as a Buffer, intervals as objects, arrays parsed from
// their literal. Anything else stays the server's text.

export type TextParser = (value: string) => unknown

const parseBool = (v: string): boolean => v === 't' || v === 'TRUE' || v === 'true' || v === 'y' || v === 'yes' || v === 'on' || v === '1'
const parseIntText = (v: string): number => parseInt(v, 10)
const parseJson = (v: string): unknown => JSON.parse(v)

/** bytea, hex ('\x0a0b') or escape format ('a\\000b'). */
export function parseBytea(v: string): Buffer {
  if (v.startsWith('\\x')) return Buffer.from(v.slice(2), 'hex')
  const out: number[] = []
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i)
    if (c !== 92 /* \ */) {
      out.push(c)
      continue
    }
    if (v[i + 1] === '\\') {
      out.push(92)
      i++
    } else {
      out.push(parseInt(v.slice(i + 1, i + 4), 8))
      i += 3
    }
  }
  return Buffer.from(out)
}

const DATE_TIME = /^(\d{1,})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,}))?)?(?:\s*(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?))?( BC)?$/

/**
 * A date or timestamp as a Date: with an offset (timestamptz) at that instant,
 * without one (date, timestamp) in the process's local time zone, as
 * node-postgres does. 'infinity' gives Infinity; unparseable text stays text.
 */
export function parseDateTime(v: string): Date | number | string {
  return parseLocal(v) ?? parseDateTimeByPattern(v)
}

/** The value of v[from, to) as decimal digits, or -1 if one is not a digit. */
function digitsAt(v: string, from: number, to: number): number {
  let n = 0
  for (let i = from; i < to; i++) {
    const d = v.charCodeAt(i) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

/**
 * The common shapes without a zone, read without the regular expression (a
 * wide result has one per row): 'YYYY-MM-DD' and 'YYYY-MM-DD HH:MM:SS[.f]'
 * with a four-digit year from 100 on. Undefined for anything else, which
 * parseDateTimeByPattern reads.
 */
function parseLocal(v: string): Date | undefined {
  const n = v.length
  if (n < 10 || v.charCodeAt(4) !== 45 /* - */ || v.charCodeAt(7) !== 45) return undefined
  const year = digitsAt(v, 0, 4)
  const month = digitsAt(v, 5, 7)
  const day = digitsAt(v, 8, 10)
  // Years before 100 need setFullYear (the Date constructor maps them to 19xx).
  if (year < 100 || month < 0 || day < 0) return undefined
  if (n === 10) return new Date(year, month - 1, day)
  if (n < 19 || v.charCodeAt(10) !== 32 || v.charCodeAt(13) !== 58 /* : */ || v.charCodeAt(16) !== 58) return undefined
  const hour = digitsAt(v, 11, 13)
  const minute = digitsAt(v, 14, 16)
  const second = digitsAt(v, 17, 19)
  if (hour < 0 || minute < 0 || second < 0) return undefined
  let ms = 0
  if (n > 19) {
    if (v.charCodeAt(19) !== 46 /* . */ || n === 20 || digitsAt(v, 20, n) < 0) return undefined
    const kept = Math.min(3, n - 20)
    ms = digitsAt(v, 20, 20 + kept) * (kept === 1 ? 100 : kept === 2 ? 10 : 1)
  }
  return new Date(year, month - 1, day, hour, minute, second, ms)
}

/** parseDateTime for every shape: years before 100 or past 9999, BC, zones. */
export function parseDateTimeByPattern(v: string): Date | number | string {
  if (v === 'infinity') return Infinity
  if (v === '-infinity') return -Infinity
  const m = DATE_TIME.exec(v)
  if (m === null) return v
  let year = parseInt(m[1]!, 10)
  if (m[9] !== undefined) year = 1 - year // 1 BC is year 0
  const month = parseInt(m[2]!, 10) - 1
  const day = parseInt(m[3]!, 10)
  const hour = m[4] === undefined ? 0 : parseInt(m[4], 10)
  const minute = m[5] === undefined ? 0 : parseInt(m[5], 10)
  const second = m[6] === undefined ? 0 : parseInt(m[6], 10)
  const ms = m[7] === undefined ? 0 : Math.trunc(parseInt((m[7] + '00').slice(0, 3), 10))
  const tz = m[8]
  if (tz === undefined) {
    const d = new Date(year, month, day, hour, minute, second, ms)
    if (year < 100) d.setFullYear(year)
    return d
  }
  let offset = 0
  if (tz !== 'Z') {
    const sign = tz[0] === '-' ? -1 : 1
    const digits = tz.slice(1).replace(/:/g, '')
    offset = sign * (parseInt(digits.slice(0, 2), 10) * 3600 + parseInt(digits.slice(2, 4) || '0', 10) * 60 + parseInt(digits.slice(4, 6) || '0', 10)) * 1000
  }
  const utc = Date.UTC(year, month, day, hour, minute, second, ms)
  const d = new Date(utc - offset)
  if (year < 100) {
    const fixed = new Date(Date.UTC(2000, month, day, hour, minute, second, ms) - offset)
    fixed.setUTCFullYear(fixed.getUTCFullYear() - 2000 + year)
    return fixed
  }
  return d
}

/** An interval as node-postgres gives it: the non-zero parts as fields, and toPostgres() to send it back. */
export class PostgresInterval {
  // Declared only: a part the interval lacks is absent, not an own undefined (as node-postgres's).
  declare years?: number
  declare months?: number
  declare days?: number
  declare hours?: number
  declare minutes?: number
  declare seconds?: number
  declare milliseconds?: number

  toPostgres(): string {
    const parts: string[] = []
    for (const [k, unit] of [
      ['years', 'years'],
      ['months', 'months'],
      ['days', 'days'],
      ['hours', 'hours'],
      ['minutes', 'minutes'],
    ] as const) {
      const n = this[k]
      if (n) parts.push(`${n} ${unit}`)
    }
    const s = (this.seconds ?? 0) + (this.milliseconds ?? 0) / 1000
    if (s) parts.push(`${Number(s.toFixed(6))} seconds`)
    return parts.length === 0 ? '0' : parts.join(' ')
  }

  toISOString(): string {
    const s = (this.seconds ?? 0) + (this.milliseconds ?? 0) / 1000
    return `P${this.years ?? 0}Y${this.months ?? 0}M${this.days ?? 0}DT${this.hours ?? 0}H${this.minutes ?? 0}M${Number(s.toFixed(6))}S`
  }
}

const INTERVAL_PART = /(-?\d+) (year|mon|day)s?/g
const INTERVAL_TIME = /(-)?(\d+):(\d{2}):(\d{2})(?:\.(\d{1,6}))?/

/** The server's default interval style ('1 year 2 mons 3 days 04:05:06.789'). */
export function parseInterval(v: string): PostgresInterval {
  const out = new PostgresInterval()
  for (const m of v.matchAll(INTERVAL_PART)) {
    const n = parseInt(m[1]!, 10)
    if (m[2] === 'year') out.years = n
    else if (m[2] === 'mon') out.months = n
    else out.days = n
  }
  const t = INTERVAL_TIME.exec(v)
  if (t !== null) {
    const sign = t[1] === '-' ? -1 : 1
    const h = parseInt(t[2]!, 10)
    const mi = parseInt(t[3]!, 10)
    const s = parseInt(t[4]!, 10)
    if (h) out.hours = sign * h
    if (mi) out.minutes = sign * mi
    if (s) out.seconds = sign * s
    if (t[5] !== undefined) {
      const ms = parseFloat('0.' + t[5]) * 1000
      if (ms) out.milliseconds = sign * ms
    }
  }
  return out
}

const parsePoint = (v: string): { x: number; y: number } | string => {
  const m = /^\(([^,]+),([^)]+)\)$/.exec(v)
  return m === null ? v : { x: parseFloat(m[1]!), y: parseFloat(m[2]!) }
}

const parseCircle = (v: string): { x: number; y: number; radius: number } | string => {
  const m = /^<\(([^,]+),([^)]+)\),([^>]+)>$/.exec(v)
  return m === null ? v : { x: parseFloat(m[1]!), y: parseFloat(m[2]!), radius: parseFloat(m[3]!) }
}

/**
 * An array literal ('{1,2,NULL,"a,b"}', nested, with an optional dimension
 * prefix) into nested arrays, each element through `element` (NULL stays null).
 */
export function parseArray(v: string, element: TextParser): unknown[] {
  let i = 0
  if (v[0] === '[') {
    i = v.indexOf('=') + 1 // '[1:3]={...}': the bounds are not kept, as node-postgres
  }
  const parse = (): unknown[] => {
    const out: unknown[] = []
    i++ // '{'
    if (v[i] === '}') {
      i++
      return out
    }
    for (;;) {
      if (v[i] === '{') out.push(parse())
      else if (v[i] === '"') {
        let s = ''
        i++
        while (v[i] !== '"') {
          if (v[i] === '\\') i++
          s += v[i]
          i++
        }
        i++
        out.push(element(s))
      } else {
        let j = i
        while (v[j] !== ',' && v[j] !== '}') j++
        const raw = v.slice(i, j)
        i = j
        out.push(raw === 'NULL' ? null : element(raw))
      }
      if (v[i] === ',') i++
      else {
        i++ // '}'
        return out
      }
    }
  }
  return parse()
}

const identity: TextParser = (v) => v
const array = (element: TextParser): TextParser => (v) => parseArray(v, element)

/** The text parser node-postgres uses by default for each built-in type OID; absent: the text as is. */
export function defaultTextParsers(parseInt8: boolean): Map<number, TextParser> {
  const int8: TextParser = parseInt8 ? parseIntText : identity
  return new Map<number, TextParser>([
    [16, parseBool],
    [17, parseBytea],
    [20, int8],
    [21, parseIntText],
    [23, parseIntText],
    [26, parseIntText],
    [700, parseFloat],
    [701, parseFloat],
    [114, parseJson],
    [3802, parseJson],
    [600, parsePoint],
    [718, parseCircle],
    [1082, parseDateTime],
    [1114, parseDateTime],
    [1184, parseDateTime],
    [1186, parseInterval],
    [1000, array(parseBool)],
    [1001, array(parseBytea)],
    [1005, array(parseIntText)],
    [1007, array(parseIntText)],
    [1028, array(parseIntText)],
    [1016, array(int8)],
    [1021, array(parseFloat)],
    [1022, array(parseFloat)],
    [1231, array(identity)],
    [1014, array(identity)],
    [1015, array(identity)],
    [1008, array(identity)],
    [1009, array(identity)],
    [1040, array(identity)],
    [1041, array(identity)],
    [651, array(identity)],
    [199, array(parseJson)],
    [3807, array(parseJson)],
    [1115, array(parseDateTime)],
    [1182, array(parseDateTime)],
    [1185, array(parseDateTime)],
    [1187, array(parseInterval)],
    [2951, array(identity)],
    [1017, array(parsePoint)],
    [1183, array(identity)],
    [1270, array(identity)],
    [791, array(identity)],
  ])
}
