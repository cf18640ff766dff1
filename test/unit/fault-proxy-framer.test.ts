// The fault proxy aims faults by message, so its framer must find the same
// message boundaries however TCP happens to cut the stream: any split into
// chunks gives the same messages, and the slices put back together are the
// bytes that went in.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CANCEL_REQUEST, GSSENC_REQUEST, SSL_REQUEST, WireFramer, type Origin, type Slice } from '../support/fault-proxy.js'

interface Spec {
  type: string
  code: number | undefined
  bytes: Buffer
}

function typed(type: string, body: Buffer): Spec {
  const b = Buffer.alloc(5 + body.length)
  b.write(type, 0, 'latin1')
  b.writeInt32BE(4 + body.length, 1)
  body.copy(b, 5)
  return { type, code: type === 'R' && body.length >= 4 ? body.readInt32BE(0) : undefined, bytes: b }
}

function untyped(code: number, body: Buffer): Spec {
  const b = Buffer.alloc(8 + body.length)
  b.writeInt32BE(8 + body.length, 0)
  b.writeInt32BE(code, 4)
  body.copy(b, 8)
  const type = code === SSL_REQUEST ? 'ssl' : code === GSSENC_REQUEST ? 'gssenc' : code === CANCEL_REQUEST ? 'cancel' : 'startup'
  return { type, code, bytes: b }
}

const body = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a))
const typedMessage = fc.oneof(
  fc.tuple(fc.constantFrom('D', 'T', 'Z', 'C', 'd', 'c', 'G', 'H', 'E', 'N', 'S', 'K', '1', '2', 'P', 'B', 'X'), body(300)).map(([t, b]) => typed(t, b)),
  // Authentication: a code, then maybe SASL data; 'R' with a short body too (its header stays 5 bytes).
  fc.tuple(fc.constantFrom(0, 3, 5, 10, 11, 12), body(80)).map(([code, b]) => {
    const withCode = Buffer.alloc(4 + b.length)
    withCode.writeInt32BE(code, 0)
    b.copy(withCode, 4)
    return typed('R', withCode)
  }),
  body(3).map((b) => typed('R', b)),
)

/** A client's stream: encryption requests, then a StartupMessage, then typed messages. */
const clientStream = fc
  .tuple(
    fc.array(fc.constantFrom(SSL_REQUEST, GSSENC_REQUEST), { maxLength: 2 }),
    fc.constantFrom(196608, 196610),
    body(60),
    fc.array(typedMessage, { maxLength: 12 }),
  )
  .map(([requests, version, params, rest]) => [...requests.map((c) => untyped(c, Buffer.alloc(0))), untyped(version, params), ...rest])
const serverStream = fc.array(typedMessage, { minLength: 1, maxLength: 16 })

/** Cut points as fractions, so they fit any length. */
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 20 })

function split(bytes: Buffer, fractions: number[]): Buffer[] {
  const points = [...new Set(fractions.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let last = 0
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(last, p)) // empty chunks included: they must be harmless
    last = p
  }
  return out
}

function frameAll(origin: Origin, chunks: Buffer[]): { slices: Slice[]; framer: WireFramer } {
  const framer = new WireFramer(origin)
  const slices = chunks.flatMap((c) => framer.push(c))
  return { slices, framer }
}

function check(origin: Origin, specs: Spec[], fractions: number[]): void {
  const input = Buffer.concat(specs.map((s) => s.bytes))
  const { slices, framer } = frameAll(origin, split(input, fractions))
  expect(framer.buffered).toBe(0)
  expect(Buffer.concat(slices.map((s) => s.bytes)).equals(input)).toBe(true)
  // One message per spec, in order, each covered by contiguous slices from offset 0.
  const seen = slices.filter((s) => s.offset === 0).map((s) => s.msg)
  expect(seen.map((m) => [m.type, m.code, m.length])).toEqual(specs.map((s) => [s.type, s.code, s.bytes.length]))
  expect(seen.map((m) => m.seq)).toEqual(specs.map((_, i) => i + 1))
  const covered = new Map<object, number>()
  for (const s of slices) {
    expect(s.offset).toBe(covered.get(s.msg) ?? 0)
    expect(s.bytes.length).toBeGreaterThan(0)
    covered.set(s.msg, s.offset + s.bytes.length)
  }
  for (const m of seen) expect(covered.get(m)).toBe(m.length)
}

describe('the fault proxy framer', () => {
  it('frames a client stream the same however it is split', () => {
    fc.assert(fc.property(clientStream, cuts, (specs, f) => check('client', specs, f)), { numRuns: 300 })
  })

  it('frames a server stream the same however it is split', () => {
    fc.assert(fc.property(serverStream, cuts, (specs, f) => check('server', specs, f)), { numRuns: 300 })
  })

  it('frames a stream fed one byte at a time', () => {
    fc.assert(
      fc.property(clientStream, (specs) => {
        const input = Buffer.concat(specs.map((s) => s.bytes))
        check('client', specs, Array.from({ length: input.length }, (_, i) => i / input.length))
      }),
      { numRuns: 50 },
    )
  })

  it('holds back a partial header and emits nothing past what arrived', () => {
    fc.assert(
      fc.property(serverStream, fc.double({ min: 0, max: 1, noNaN: true }), (specs, f) => {
        const input = Buffer.concat(specs.map((s) => s.bytes))
        const prefix = input.subarray(0, Math.floor(f * input.length))
        const { slices, framer } = frameAll('server', [prefix])
        const out = Buffer.concat(slices.map((s) => s.bytes))
        expect(out.length + framer.buffered).toBe(prefix.length)
        expect(out.equals(prefix.subarray(0, out.length))).toBe(true)
        expect(framer.buffered).toBeLessThan(9)
      }),
      { numRuns: 200 },
    )
  })

  it('reads the auth code of an R message split inside its header', () => {
    const sasl = typed('R', Buffer.from([0, 0, 0, 11, 1, 2, 3]))
    for (let cut = 0; cut <= sasl.bytes.length; cut++) {
      const { slices } = frameAll('server', [sasl.bytes.subarray(0, cut), sasl.bytes.subarray(cut)])
      expect(slices[0]!.msg).toMatchObject({ type: 'R', code: 11, length: 12 })
    }
  })

  it('treats a CancelRequest as a whole first packet', () => {
    const pid = Buffer.alloc(8, 1)
    const { slices } = frameAll('client', [untyped(CANCEL_REQUEST, pid).bytes])
    expect(slices.filter((s) => s.offset === 0).map((s) => [s.msg.type, s.msg.length])).toEqual([['cancel', 16]])
  })

  it('refuses a length that cannot be', () => {
    const bad = Buffer.from([0x44, 0, 0, 0, 3])
    expect(() => new WireFramer('server').push(bad)).toThrow(/length 3/)
    expect(() => new WireFramer('client').push(Buffer.from([0, 0, 0, 4, 0, 3, 0, 0]))).toThrow(/length 4/)
  })
})
