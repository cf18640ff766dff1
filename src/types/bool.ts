// bool -> boolean. Text output is exactly 't' or 'f'; binary is one byte.
import type { TypeMap } from './type-map.js'
import * as O from './oids.js'

const T = 0x74

const decodeBoolText = (buf: Buffer, start: number): boolean => buf[start] === T
const decodeBoolBinary = (buf: Buffer, start: number): boolean => buf[start] !== 0

export function register(map: TypeMap): void {
  map.registerDecoder(O.BOOL, 0, decodeBoolText)
  map.registerDecoder(O.BOOL, 1, decodeBoolBinary)
  map.registerArray(O.BOOL, O.BOOL_ARRAY)
}
