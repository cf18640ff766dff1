// Fuzzing the backend Decoder: whatever bytes arrive, in whatever chunks, it
// only ever returns messages (or null) or throws ProtocolError — never
// another exception, never a hang — and a length claim above maxMessageSize
// fails as soon as the 5-byte header is in, without allocating the body.

import fc from 'fast-check'
import { bytes, fieldDescription, i16, i32, u32 } from '../support/arbitraries.js'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ProtocolError } from '../../src/errors/base.js'
import { Decoder } from '../../src/protocol/decoder.js'
import type { BackendMessage, BackendMessageType, NoticeFields } from '../../src/protocol/messages.js'
import { dataRow, encodeBackend, encodeBackendAll, frame } from '../support/backend-encoder.js'
import { fingerprint } from '../unit/protocol/_samples.js'

// --- generators -------------------------------------------------------------

const str = fc.string({ unit: 'binary', maxLength: 10 }).filter((s) => !s.includes('\0'))

const noticeFields: fc.Arbitrary<NoticeFields> = fc.record(
  {
    severity: str,
    severityNonLocalized: str,
    code: str,
    message: str,
    detail: str,
    position: fc.nat(),
    where: str,
    line: fc.nat(),
    routine: str,
  },
  { requiredKeys: ['severity', 'code', 'message'] },
)

const fieldDesc = fieldDescription(str)

/** Any valid backend message, 3.0 and 3.2. */
const message: fc.Arbitrary<BackendMessage> = fc.oneof(
  fc.constantFrom<BackendMessage>(
    { type: 'AuthenticationOk' },
    { type: 'AuthenticationKerberosV5' },
    { type: 'AuthenticationCleartextPassword' },
    { type: 'AuthenticationGSS' },
    { type: 'AuthenticationSSPI' },
    { type: 'BindComplete' },
    { type: 'CloseComplete' },
    { type: 'CopyDone' },
    { type: 'EmptyQueryResponse' },
    { type: 'NoData' },
    { type: 'ParseComplete' },
    { type: 'PortalSuspended' },
  ),
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((s): BackendMessage => ({ type: 'AuthenticationMD5Password', salt: Buffer.from(s) })),
  fc
    .tuple(fc.constantFrom('AuthenticationGSSContinue', 'AuthenticationSASLContinue', 'AuthenticationSASLFinal'), bytes(20))
    .map(([type, data]) => ({ type, data }) as BackendMessage),
  fc.array(str.filter((s) => s !== ''), { maxLength: 3 }).map((mechanisms): BackendMessage => ({ type: 'AuthenticationSASL', mechanisms })),
  fc
    .tuple(i32, fc.uint8Array({ minLength: 4, maxLength: 256 }))
    .map(([processId, key]): BackendMessage => ({ type: 'BackendKeyData', processId, secretKey: Buffer.from(key) })),
  str.map((tag): BackendMessage => ({ type: 'CommandComplete', tag })),
  bytes(40).map((data): BackendMessage => ({ type: 'CopyData', data })),
  fc
    .tuple(
      fc.constantFrom('CopyInResponse', 'CopyOutResponse', 'CopyBothResponse'),
      fc.constantFrom<0 | 1>(0, 1),
      fc.array(i16, { maxLength: 5 }),
    )
    .map(([type, format, columnFormats]) => ({ type, format, columnFormats }) as BackendMessage),
  fc.array(fc.oneof(bytes(12), fc.constant(null)), { maxLength: 6 }).map((v) => dataRow(v)),
  noticeFields.map((fields): BackendMessage => ({ type: 'ErrorResponse', fields })),
  noticeFields.map((fields): BackendMessage => ({ type: 'NoticeResponse', fields })),
  fc
    .tuple(fc.nat({ max: 0xffff }), fc.array(str, { maxLength: 3 }))
    .map(([newestMinor, unrecognized]): BackendMessage => ({ type: 'NegotiateProtocolVersion', newestMinor, unrecognized })),
  fc
    .tuple(i32, str, str)
    .map(([processId, channel, payload]): BackendMessage => ({ type: 'NotificationResponse', processId, channel, payload })),
  fc.array(u32, { maxLength: 6 }).map((typeOids): BackendMessage => ({ type: 'ParameterDescription', typeOids })),
  fc.tuple(str, str).map(([name, value]): BackendMessage => ({ type: 'ParameterStatus', name, value })),
  fc.constantFrom<'I' | 'T' | 'E'>('I', 'T', 'E').map((status): BackendMessage => ({ type: 'ReadyForQuery', status })),
  fc.array(fieldDesc, { maxLength: 4 }).map((fields): BackendMessage => ({ type: 'RowDescription', fields })),
)

const validStream = fc.array(message, { minLength: 1, maxLength: 10 }).map((msgs) => ({ msgs, bytes: encodeBackendAll(msgs) }))

/** Cut points (arbitrary naturals, mapped into range when used). */
const cuts = fc.array(fc.nat(), { maxLength: 10 })

const KNOWN_TYPES = 'R K 2 3 C d c G H W D I E v n N A t S 1 s Z T'.split(' ')

/** A well-framed message of a known type with a random body: reaches the body parsers. */
const framedJunk = fc
  .tuple(fc.constantFrom(...KNOWN_TYPES), bytes(24), fc.option(i32.map((n) => n | 0), { freq: 4 }))
  .map(([t, body, auth]) => {
    // For 'R', usually start with a real auth code so the sub-parsers are reached.
    if (t === 'R' && auth !== null) {
      const code = Buffer.alloc(4)
      code.writeInt32BE([0, 2, 3, 5, 7, 8, 9, 10, 11, 12][Math.abs(auth) % 10]!)
      return frame(t, Buffer.concat([code, body]))
    }
    return frame(t, body)
  })

// --- the driver -------------------------------------------------------------

const ALL_TYPES = new Set<BackendMessageType>([
  'AuthenticationOk', 'AuthenticationKerberosV5', 'AuthenticationCleartextPassword', 'AuthenticationMD5Password',
  'AuthenticationGSS', 'AuthenticationGSSContinue', 'AuthenticationSSPI', 'AuthenticationSASL',
  'AuthenticationSASLContinue', 'AuthenticationSASLFinal', 'BackendKeyData', 'BindComplete', 'CloseComplete',
  'CommandComplete', 'CopyData', 'CopyDone', 'CopyInResponse', 'CopyOutResponse', 'CopyBothResponse', 'DataRow',
  'EmptyQueryResponse', 'ErrorResponse', 'NegotiateProtocolVersion', 'NoData', 'NoticeResponse',
  'NotificationResponse', 'ParameterDescription', 'ParameterStatus', 'ParseComplete', 'PortalSuspended',
  'ReadyForQuery', 'RowDescription',
])

function chunksOf(bytes: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let prev = 0
  for (const p of [...at, bytes.length]) {
    out.push(bytes.subarray(prev, p))
    prev = p
  }
  return out
}

/** A comparable form of a message (sorted keys, byte fields as hex). */
const norm = fingerprint

interface Outcome {
  messages: BackendMessage[]
  error: ProtocolError | null
}

/**
 * Feeds chunks like a connection would: drain after each chunk, stop at the
 * first ProtocolError. Any other exception propagates and fails the property.
 * Termination: every message returned consumed at least 5 bytes, so the
 * inner loop is bounded by the input length (checked, to catch a regression).
 */
function drive(chunks: Buffer[], opts?: { maxMessageSize?: number }): Outcome {
  const d = new Decoder(opts)
  const messages: BackendMessage[] = []
  let total = 0
  for (const c of chunks) total += c.length
  let steps = 0
  try {
    for (const c of chunks) {
      d.push(c)
      for (;;) {
        if (++steps > total + chunks.length + 1) throw new Error('decoder loop did not terminate')
        const before = d.buffered
        const m = d.next()
        if (m === null) break
        if (d.buffered > before - 5) throw new Error('next() returned a message without consuming its bytes')
        messages.push(m)
      }
    }
  } catch (err) {
    if (err instanceof ProtocolError) return { messages, error: err }
    throw err
  }
  return { messages, error: null }
}

/** Every message the decoder produced is well-formed: re-encoding and decoding it gives it back. */
function checkWellFormed(messages: BackendMessage[]): void {
  for (const m of messages) {
    expect(ALL_TYPES.has(m.type)).toBe(true)
    const again = drive([encodeBackend(m)])
    expect(again.error).toBeNull()
    expect(again.messages.map(norm)).toEqual([norm(m)])
  }
}

const RUNS = Number(process.env.FUZZ_RUNS ?? 3000)

describe('decoder fuzz', () => {
  it('arbitrary bytes in arbitrary chunks: only messages or ProtocolError', () => {
    fc.assert(
      fc.property(bytes(200), cuts, (input, points) => {
        checkWellFormed(drive(chunksOf(input, points)).messages)
      }),
      { numRuns: RUNS },
    )
  })

  it('well-framed messages of known types with random bodies', () => {
    fc.assert(
      fc.property(fc.array(framedJunk, { minLength: 1, maxLength: 6 }), cuts, (frames, points) => {
        const out = drive(chunksOf(Buffer.concat(frames), points))
        checkWellFormed(out.messages)
        // Framing is right, so the decoder stops only at a malformed body, never early or late.
        expect(out.messages.length + (out.error ? 1 : 0)).toBeLessThanOrEqual(frames.length)
        if (out.error === null) expect(out.messages).toHaveLength(frames.length)
      }),
      { numRuns: RUNS * 2 },
    )
  })

  it('a valid stream decodes exactly, in any chunking', () => {
    fc.assert(
      fc.property(validStream, cuts, ({ msgs, bytes: b }, points) => {
        const out = drive(chunksOf(b, points))
        expect(out.error).toBeNull()
        expect(out.messages.map(norm)).toEqual(msgs.map(norm))
      }),
      { numRuns: RUNS },
    )
  })

  it('arbitrary bytes after a valid prefix: the prefix decodes exactly, then messages or ProtocolError', () => {
    fc.assert(
      fc.property(validStream, bytes(100), cuts, ({ msgs, bytes: b }, junk, points) => {
        const out = drive(chunksOf(Buffer.concat([b, junk]), points))
        expect(out.messages.length).toBeGreaterThanOrEqual(msgs.length)
        expect(out.messages.slice(0, msgs.length).map(norm)).toEqual(msgs.map(norm))
        checkWellFormed(out.messages.slice(msgs.length))
      }),
      { numRuns: RUNS },
    )
  })

  it('valid streams with random byte flips: only messages or ProtocolError', () => {
    const flip = fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 }))
    fc.assert(
      fc.property(validStream, fc.array(flip, { minLength: 1, maxLength: 4 }), cuts, ({ bytes: b }, flips, points) => {
        const mutated = Buffer.from(b)
        for (const [at, x] of flips) mutated[at % mutated.length]! ^= x
        checkWellFormed(drive(chunksOf(mutated, points)).messages)
      }),
      { numRuns: RUNS },
    )
  })

  it('truncated valid streams: messages, then null (never an error)', () => {
    fc.assert(
      fc.property(validStream, fc.nat(), cuts, ({ msgs, bytes: b }, n, points) => {
        const prefix = b.subarray(0, n % b.length) // strictly shorter than the stream
        const out = drive(chunksOf(prefix, points))
        expect(out.error).toBeNull()
        expect(out.messages.length).toBeLessThan(msgs.length)
        expect(out.messages.map(norm)).toEqual(msgs.slice(0, out.messages.length).map(norm))
      }),
      { numRuns: RUNS },
    )
  })
})

describe('maxMessageSize', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('a header claiming more than the limit throws at once, without waiting for or allocating the body', () => {
    const allocUnsafe = vi.spyOn(Buffer, 'allocUnsafe')
    const alloc = vi.spyOn(Buffer, 'alloc')
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 1 << 20 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 1, max: 5 }),
        (max, over, type, split) => {
          const claim = Math.min(2 ** 31 - 1, max + over)
          fc.pre(claim > max)
          const header = Buffer.alloc(5)
          header[0] = type
          header.writeInt32BE(claim, 1)
          allocUnsafe.mockClear()
          alloc.mockClear()
          const d = new Decoder({ maxMessageSize: max })
          // The header may itself arrive in two pieces.
          d.push(header.subarray(0, split))
          if (split < 5) {
            expect(d.next()).toBeNull()
            d.push(header.subarray(split))
          }
          expect(() => d.next()).toThrow(ProtocolError)
          const sizes = [...allocUnsafe.mock.calls, ...alloc.mock.calls].map((c) => c[0])
          expect(sizes.every((n) => n <= 5)).toBe(true)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('a length at or below the limit waits for the body; messages beyond the limit in a stream fail at their header', () => {
    fc.assert(
      fc.property(validStream, fc.nat(), (s, pick) => {
        const sizes = s.msgs.map((m) => encodeBackend(m).length - 1) // the length field's value
        const max = Math.max(4, sizes[pick % sizes.length]!) // some messages fit, maybe not all
        const firstTooBig = sizes.findIndex((n) => n > max)
        // Feed only the header of the first oversized message: it must fail without its body.
        let end = s.bytes.length
        if (firstTooBig !== -1) end = sizes.slice(0, firstTooBig).reduce((a, n) => a + n + 1, 0) + 5
        const out = drive([s.bytes.subarray(0, end)], { maxMessageSize: max })
        if (firstTooBig === -1) {
          expect(out.error).toBeNull()
          expect(out.messages).toHaveLength(s.msgs.length)
        } else {
          expect(out.error).toBeInstanceOf(ProtocolError)
          expect(out.messages).toHaveLength(firstTooBig)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('the default limit rejects a near-2 GiB claim from 5 bytes', () => {
    const d = new Decoder()
    d.push(frame('D', '', 0x7fffffff).subarray(0, 5))
    expect(() => d.next()).toThrow(ProtocolError)
  })
})
