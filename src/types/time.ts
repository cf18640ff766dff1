// time, timetz -> string, as the server prints them: 'HH:MM:SS[.ffffff]',
// plus an offset '+HH[:MM[:SS]]' for timetz. A time of day has no JS type,
// and a string keeps every microsecond. Binary is spelled the same way.
// Parameters go as text (strings only).
import type { TypeMap } from './type-map.js'
import { pad } from './datetime.js'
import { stringEncoder } from './text.js'
import * as O from './oids.js'

export const decodeTimeText = (buf: Buffer, start: number, end: number): string => buf.toString('latin1', start, end)

/** 'HH:MM:SS[.ffffff]' of microseconds since midnight (24:00:00 included), trailing zeros trimmed. */
export function formatTime(us: number): string {
  const secs = Math.floor(us / 1_000_000)
  const frac = us - secs * 1_000_000
  const s = `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}:${pad(secs % 60, 2)}`
  return frac === 0 ? s : s + '.' + pad(frac, 6).replace(/0+$/, '')
}

/** '+HH', '+HH:MM' or '+HH:MM:SS' of seconds east of UTC: the shortest exact form, as the server prints it. */
export function formatOffset(east: number): string {
  const a = Math.abs(east)
  const h = Math.floor(a / 3600)
  const m = Math.floor(a / 60) % 60
  const s = a % 60
  let out = (east < 0 ? '-' : '+') + pad(h, 2)
  if (m !== 0 || s !== 0) out += ':' + pad(m, 2)
  if (s !== 0) out += ':' + pad(s, 2)
  return out
}

// Microseconds since midnight are at most 86_400_000_000, so the int64 is exact as a double.
const readMicros = (buf: Buffer, start: number): number => buf.readInt32BE(start) * 4_294_967_296 + buf.readUInt32BE(start + 4)

export const decodeTimeBinary = (buf: Buffer, start: number): string => formatTime(readMicros(buf, start))

/** Binary timetz: int64 microseconds, then int32 zone in seconds WEST of UTC. */
export const decodeTimetzBinary = (buf: Buffer, start: number): string =>
  formatTime(readMicros(buf, start)) + formatOffset(-buf.readInt32BE(start + 8))

export function register(map: TypeMap): void {
  map.registerDecoder(O.TIME, 0, decodeTimeText)
  map.registerDecoder(O.TIME, 1, decodeTimeBinary)
  map.registerDecoder(O.TIMETZ, 0, decodeTimeText)
  map.registerDecoder(O.TIMETZ, 1, decodeTimetzBinary)
  map.registerEncoder(O.TIME, stringEncoder(O.TIME, 'time'))
  map.registerEncoder(O.TIMETZ, stringEncoder(O.TIMETZ, 'timetz'))
  map.registerArray(O.TIME, O.TIME_ARRAY)
  map.registerArray(O.TIMETZ, O.TIMETZ_ARRAY)
}
