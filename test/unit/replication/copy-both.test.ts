// The CopyBoth sub-protocol: XLogData and keepalive decoding, standby status
// update encoding, and that malformed payloads are ProtocolErrors only.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../../../src/errors/base.js'
import { LSN_MAX, decodeReplicationMessage, encodeStandbyStatusUpdate } from '../../../src/replication/index.js'
import { keepalive, xlogData } from '../../support/pgoutput-encoder.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

function protocolError(payload: Buffer): ProtocolError {
  try {
    decodeReplicationMessage(payload)
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError)
    return err as ProtocolError
  }
  throw new Error('expected a ProtocolError')
}

describe('decodeReplicationMessage', () => {
  it('XLogData, from hand-written bytes', () => {
    const payload = hex(`77
      00000000 016B3748
      00000016 B374D848
      FFFFFFFF FFFFFFFF
      42 0102`)
    const m = decodeReplicationMessage(payload)
    expect(m).toEqual({ kind: 'xlog', start: 0x16b3748n, end: (0x16n << 32n) | 0xb374d848n, sendTime: -1n, data: hex('420102') })
  })

  it('XLogData data is a view of the payload, and may be empty', () => {
    const payload = xlogData(1n, 2n, 3n, Buffer.from('abc'))
    const m = decodeReplicationMessage(payload)
    expect(m.kind === 'xlog' && m.data.buffer).toBe(payload.buffer)
    expect(m.kind === 'xlog' && m.data.byteOffset).toBe(payload.byteOffset + 25)
    expect(decodeReplicationMessage(xlogData(1n, 2n, 3n, Buffer.alloc(0)))).toMatchObject({ kind: 'xlog', data: Buffer.alloc(0) })
  })

  it('LSNs are unsigned, times signed', () => {
    const m = decodeReplicationMessage(xlogData(LSN_MAX, 1n << 63n, -(1n << 63n), Buffer.alloc(0)))
    expect(m).toMatchObject({ start: LSN_MAX, end: 1n << 63n, sendTime: -(1n << 63n) })
  })

  it('primary keepalive', () => {
    expect(decodeReplicationMessage(hex('6b 0000000100000002 0000000000000003 01'))).toEqual({
      kind: 'keepalive',
      walEnd: (1n << 32n) | 2n,
      sendTime: 3n,
      replyRequested: true,
    })
    expect(decodeReplicationMessage(keepalive(5n, 6n, false))).toEqual({ kind: 'keepalive', walEnd: 5n, sendTime: 6n, replyRequested: false })
  })

  it.each([
    ['empty', Buffer.alloc(0), 'd', /empty/],
    ['unknown type', Buffer.from('x123'), 'x', /unknown replication message type 'x'/],
    ['unprintable type', hex('00'), '0x00', /'0x00'/],
    ['a frontend status update', encodeStandbyStatusUpdate({ written: 0n, flushed: 0n, applied: 0n, clientTime: 0n }), 'r', /unknown/],
    ['XLogData without a header', hex('77 00'), 'w', /truncated/],
    ['XLogData cut in the send time', xlogData(1n, 2n, 3n, Buffer.alloc(0)).subarray(0, 24), 'w', /truncated/],
    ['keepalive cut short', keepalive(1n, 2n, true).subarray(0, 17), 'k', /truncated/],
    ['keepalive with a trailing byte', Buffer.concat([keepalive(1n, 2n, true), hex('00')]), 'k', /trailing/],
    ['keepalive flag 2', Buffer.concat([keepalive(1n, 2n, true).subarray(0, 17), hex('02')]), 'k', /replyRequested is 2/],
  ])('%s is a ProtocolError', (_name, payload, type, message) => {
    const err = protocolError(payload)
    expect(err.messageType).toBe(type)
    expect(err.message).toMatch(message)
  })

  it('random bytes give a message or a ProtocolError, nothing else', () => {
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.tuple(fc.constantFrom(0x77, 0x6b), fc.uint8Array({ maxLength: 40 })).map(([t, rest]) => Uint8Array.from([t, ...rest])),
    )
    fc.assert(
      fc.property(payload, (bytes) => {
        try {
          decodeReplicationMessage(Buffer.from(bytes))
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError)
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('XLogData and keepalive round trip', () => {
    const u64 = fc.bigInt({ min: 0n, max: LSN_MAX })
    const i64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })
    fc.assert(
      fc.property(u64, u64, i64, fc.uint8Array({ maxLength: 30 }), fc.boolean(), (a, b, t, data, reply) => {
        expect(decodeReplicationMessage(xlogData(a, b, t, Buffer.from(data)))).toEqual({ kind: 'xlog', start: a, end: b, sendTime: t, data: Buffer.from(data) })
        expect(decodeReplicationMessage(keepalive(a, t, reply))).toEqual({ kind: 'keepalive', walEnd: a, sendTime: t, replyRequested: reply })
      }),
    )
  })
})

describe('encodeStandbyStatusUpdate', () => {
  it('writes the documented layout', () => {
    const out = encodeStandbyStatusUpdate({
      written: 0x16b3748n,
      flushed: (0x16n << 32n) | 0xb374d848n,
      applied: LSN_MAX,
      clientTime: -2n,
      replyRequested: true,
    })
    expect(out.toString('hex')).toBe(
      '72' + '00000000016b3748' + '00000016b374d848' + 'ffffffffffffffff' + 'fffffffffffffffe' + '01',
    )
  })

  it('takes a Date for the client time; replyRequested defaults to false', () => {
    const out = encodeStandbyStatusUpdate({ written: 1n, flushed: 1n, applied: 1n, clientTime: new Date(Date.UTC(2000, 0, 1, 0, 0, 1)) })
    expect(out.length).toBe(34)
    expect(out.readBigInt64BE(25)).toBe(1_000_000n)
    expect(out[33]).toBe(0)
  })

  it('refuses bad LSNs and times before writing anything', () => {
    const ok = { written: 0n, flushed: 0n, applied: 0n, clientTime: 0n }
    expect(() => encodeStandbyStatusUpdate({ ...ok, written: -1n })).toThrow(RangeError)
    expect(() => encodeStandbyStatusUpdate({ ...ok, flushed: LSN_MAX + 1n })).toThrow(RangeError)
    expect(() => encodeStandbyStatusUpdate({ ...ok, applied: 1 as unknown as bigint })).toThrow(TypeError)
    expect(() => encodeStandbyStatusUpdate({ ...ok, clientTime: 1n << 63n })).toThrow(RangeError)
    expect(() => encodeStandbyStatusUpdate({ ...ok, clientTime: new Date(Number.NaN) })).toThrow(RangeError)
  })
})
