// Writer.cstr has a byte-by-byte path for short ASCII strings and the UTF-8
// encoder for the rest: both must give the string's UTF-8 bytes and a NUL,
// and refuse a string holding a NUL, whatever precedes it in the buffer.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Writer } from '../../../src/protocol/writer.js'

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('a', 'é', '\u0000', '€', '𝄞', 'Z', '\u007f', '\u0080'), maxLength: 40 }),
)

describe('Writer.cstr', () => {
  it('writes UTF-8 and a terminator, or refuses a NUL', () => {
    fc.assert(
      fc.property(fc.array(text, { maxLength: 6 }), (strings) => {
        const w = new Writer(8)
        const expected: Buffer[] = []
        for (const s of strings) {
          if (s.includes('\0')) {
            const before = w.pos
            expect(() => w.cstr(s)).toThrow(/NUL/)
            expect(w.pos).toBe(before)
          } else {
            w.cstr(s)
            expected.push(Buffer.from(s + '\0', 'utf8'))
          }
        }
        expect(w.buf.subarray(0, w.pos)).toEqual(Buffer.concat(expected))
      }),
      { numRuns: 500 },
    )
  })
})

describe('Writer.flush', () => {
  it('hands out views that later writes, growth and fresh buffers never alter', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('msg' as const), body: fc.uint8Array({ maxLength: 3000 }) }),
      fc.record({ kind: fc.constant('flush' as const) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 0, max: 64 }), (ops, size) => {
        const w = new Writer(size)
        const flushed: { view: Buffer; copy: Buffer }[] = []
        let expected: Buffer[] = []
        const flush = (): void => {
          const view = w.flush()
          expect(view).toEqual(Buffer.concat(expected))
          flushed.push({ view, copy: Buffer.from(view) })
          expected = []
        }
        for (const o of ops) {
          if (o.kind === 'flush') flush()
          else {
            w.start(0x64).bytes(o.body).end()
            const framed = Buffer.alloc(5 + o.body.length)
            framed[0] = 0x64
            framed.writeInt32BE(4 + o.body.length, 1)
            framed.set(o.body, 5)
            expected.push(framed)
          }
          expect(w.length).toBe(expected.reduce((n, b) => n + b.length, 0))
        }
        flush()
        for (const f of flushed) expect(f.view).toEqual(f.copy)
      }),
      { numRuns: 200 },
    )
  })
})
