import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { BYTEA } from '../../../src/types/oids.js'
import { decode, embed } from './helpers.js'
import { defaultTypeMap } from '../../../src/types/index.js'

/** bytea_output = 'escape': printable ASCII as itself, backslash doubled, the rest as \ooo. */
function escapeFormat(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) {
    if (b === 0x5c) s += '\\\\'
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b)
    else s += '\\' + b.toString(8).padStart(3, '0')
  }
  return s
}

describe('bytea', () => {
  it('hex text format', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, upper) => {
        const hex = Buffer.from(bytes).toString('hex')
        const got = decode(BYTEA, 0, '\\x' + (upper ? hex.toUpperCase() : hex))
        expect(got).toEqual(Buffer.from(bytes))
      }),
    )
  })

  it('legacy escape text format', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(decode(BYTEA, 0, escapeFormat(bytes))).toEqual(Buffer.from(bytes))
      }),
    )
    // The server's escape output for '\x00ff5c41'.
    expect(decode(BYTEA, 0, '\\000\\377\\\\A')).toEqual(Buffer.from([0, 0xff, 0x5c, 0x41]))
    expect(decode(BYTEA, 0, '')).toEqual(Buffer.alloc(0))
    expect(decode(BYTEA, 0, '\\x')).toEqual(Buffer.alloc(0))
  })

  it('rejects a bad hex digit rather than inventing bytes', () => {
    expect(() => decode(BYTEA, 0, '\\x0g')).toThrow(RangeError)
  })

  it('binary is a copy, independent of the row buffer', () => {
    const { buf, start, end } = embed(Buffer.from([1, 2, 3]))
    const got = defaultTypeMap.decoder(BYTEA, 1)(buf, start, end) as Buffer
    buf.fill(0)
    expect(got).toEqual(Buffer.from([1, 2, 3]))
  })
})
