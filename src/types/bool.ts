// bool -> boolean. Text output is exactly 't' or 'f'; binary is one byte.
// Parameters go binary, from booleans, 0/1, or any literal boolin accepts.
import type { TypeMap } from './type-map.js'
import { makeEncoder } from './param.js'
import * as O from './oids.js'

const T = 0x74

const decodeBoolText = (buf: Buffer, start: number): boolean => buf[start] === T
const decodeBoolBinary = (buf: Buffer, start: number): boolean => buf[start] !== 0

/** boolin: t/true/y/yes/on/1 and f/false/n/no/off/0, any case, unique prefixes ('tr', 'of'), surrounding spaces. */
export function parseBoolLiteral(s: string): boolean | undefined {
  const w = s.trim().toLowerCase()
  if (w === '') return undefined
  if (w === '1' || w === 'on' || 'true'.startsWith(w) || 'yes'.startsWith(w)) return true
  if (w === '0' || (w.length >= 2 && 'off'.startsWith(w)) || 'false'.startsWith(w) || 'no'.startsWith(w)) return false
  return undefined
}

const TRUE = Buffer.from([1])
const FALSE = Buffer.from([0])

const boolEncoder = makeEncoder(O.BOOL, 'bool', 1, (value) => {
  let b: boolean | undefined
  if (typeof value === 'boolean') b = value
  else if (value === 0 || value === 1 || value === 0n || value === 1n) b = value === 1 || value === 1n
  else if (typeof value === 'string') b = parseBoolLiteral(value)
  // Fresh buffers: callers may keep or reuse what they get.
  return b === undefined ? undefined : Buffer.from(b ? TRUE : FALSE)
})

export function register(map: TypeMap): void {
  map.registerDecoder(O.BOOL, 0, decodeBoolText)
  map.registerDecoder(O.BOOL, 1, decodeBoolBinary)
  map.registerEncoder(O.BOOL, boolEncoder)
  map.registerArray(O.BOOL, O.BOOL_ARRAY)
}
