// uuid -> lowercase string '8-4-4-4-12', as the server prints it. Parameters
// go binary (16 bytes), from any spelling uuid_in accepts.
import type { TypeMap } from './type-map.js'
import { makeEncoder } from './param.js'
import * as O from './oids.js'

export function decodeUuidText(buf: Buffer, start: number, end: number): string {
  return buf.toString('latin1', start, end)
}

export function decodeUuidBinary(buf: Buffer, start: number): string {
  const h = buf.toString('hex', start, start + 16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** uuid_in: 32 hex digits, any case, optionally in braces, with a hyphen allowed after any group of four. */
const UUID_LITERAL = /^(\{)?[0-9a-f]{4}(?:-?[0-9a-f]{4}){7}(\})?$/i

const uuidEncoder = makeEncoder(O.UUID, 'uuid', 1, (value) => {
  if (typeof value !== 'string') return undefined
  const m = UUID_LITERAL.exec(value)
  if (m === null || (m[1] === undefined) !== (m[2] === undefined)) return undefined
  return Buffer.from(value.replace(/[-{}]/g, ''), 'hex')
})

export function register(map: TypeMap): void {
  map.registerDecoder(O.UUID, 0, decodeUuidText)
  map.registerDecoder(O.UUID, 1, decodeUuidBinary)
  map.registerEncoder(O.UUID, uuidEncoder)
  map.registerArray(O.UUID, O.UUID_ARRAY)
}
