// bytea -> Buffer. Text output is hex (`\x0a1b`, the default since 9.0) or,
// with bytea_output = 'escape', the legacy escape format; both are handled
// since the setting is the server's. Results are always fresh Buffers.
// Parameters go binary: Buffers and Uint8Arrays as they are, and strings in
// the hex format ('\\x0a1b').
import type { TypeMap } from './type-map.js'
import { makeEncoder, refuse } from './param.js'
import * as O from './oids.js'

const BACKSLASH = 0x5c
const X = 0x78

// Nibble value of an ASCII hex digit, -1 otherwise.
const HEX = new Int8Array(256).fill(-1)
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i
for (let i = 0; i < 6; i++) HEX[0x41 + i] = HEX[0x61 + i] = 10 + i

export function decodeByteaText(buf: Buffer, start: number, end: number): Buffer {
  if (end - start >= 2 && buf[start] === BACKSLASH && buf[start + 1] === X) {
    return decodeHex(buf, start + 2, end)
  }
  return decodeEscape(buf, start, end)
}

function decodeHex(buf: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe((end - start) >> 1)
  let o = 0
  for (let i = start; i + 1 < end; i += 2) {
    const hi = HEX[buf[i]!]!
    const lo = HEX[buf[i + 1]!]!
    // The server never emits anything else; refuse rather than invent bytes.
    if ((hi | lo) < 0) throw new RangeError(`invalid hex digit in bytea at offset ${i - start}`)
    out[o++] = (hi << 4) | lo
  }
  return out
}

/** Escape format: `\\` is a backslash, `\ooo` an octal byte, anything else itself. */
function decodeEscape(buf: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start)
  let o = 0
  let i = start
  while (i < end) {
    const c = buf[i]!
    if (c !== BACKSLASH) {
      out[o++] = c
      i++
    } else if (buf[i + 1] === BACKSLASH) {
      out[o++] = BACKSLASH
      i += 2
    } else {
      out[o++] = ((buf[i + 1]! - 0x30) << 6) | ((buf[i + 2]! - 0x30) << 3) | (buf[i + 3]! - 0x30)
      i += 4
    }
  }
  return o === out.length ? out : out.subarray(0, o)
}

/** Binary bytea is the raw bytes; copy them out of the reused receive buffer. */
export function copyBytes(buf: Buffer, start: number, end: number): Buffer {
  return Buffer.copyBytesFrom(buf, start, end - start)
}

export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** byteain's hex format: '\\x', then pairs of hex digits, with whitespace allowed between pairs. */
const HEX_LITERAL = /^\\x(?:\s*[0-9a-fA-F]{2})*\s*$/

const byteaEncoder = makeEncoder(O.BYTEA, 'bytea', 1, (value) => {
  if (value instanceof Uint8Array) return toBuffer(value)
  if (typeof value !== 'string') return undefined
  if (!HEX_LITERAL.test(value)) return refuse("strings must be in the hex format '\\x...'; pass bytes as a Buffer")
  return Buffer.from(value.slice(2).replace(/\s/g, ''), 'hex')
})

export function register(map: TypeMap): void {
  map.registerEncoder(O.BYTEA, byteaEncoder)
  map.registerDecoder(O.BYTEA, 0, decodeByteaText)
  map.registerDecoder(O.BYTEA, 1, copyBytes)
  map.registerArray(O.BYTEA, O.BYTEA_ARRAY)
}
