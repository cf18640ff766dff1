// Malformed backend messages: each is rejected with a ProtocolError naming
// the message type; nothing else is thrown. And the lenient cases the
// protocol asks for (unknown notice fields are ignored).

import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../../../src/errors/base.js'
import { Decoder } from '../../../src/protocol/decoder.js'
import type { BackendMessage } from '../../../src/protocol/messages.js'
import { encodeBackend, frame, rawNotice } from '../../support/backend-encoder.js'

const i16 = (v: number): Buffer => {
  const b = Buffer.alloc(2)
  b.writeInt16BE(v)
  return b
}
const i32 = (v: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(v)
  return b
}
const cat = (...parts: Array<Buffer | string | number[]>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.isBuffer(p) ? p : Buffer.from(p))))

function decodeOne(bytes: Buffer): BackendMessage | null {
  const d = new Decoder()
  d.push(bytes)
  return d.next()
}

function protocolError(bytes: Buffer): ProtocolError {
  try {
    decodeOne(bytes)
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError)
    return err as ProtocolError
  }
  throw new Error('expected a ProtocolError')
}

const MALFORMED: Array<[string, Buffer, string]> = [
  ['unknown message type', frame('!', ''), '!'],
  ['unknown non-printable type', frame(0x01, ''), '0x01'],
  ['ReadyForQuery with unknown status', frame('Z', 'X'), 'Z'],
  ['ReadyForQuery without status', frame('Z', ''), 'Z'],
  ['ReadyForQuery with trailing byte', frame('Z', 'II'), 'Z'],
  ['CommandComplete without terminator', frame('C', 'SELECT 1'), 'C'],
  ['CommandComplete with trailing bytes', frame('C', cat('SELECT 1', [0], 'x')), 'C'],
  ['ParseComplete with a body', frame('1', 'x'), '1'],
  ['BindComplete with a body', frame('2', [0]), '2'],
  ['NoData with a body', frame('n', [0]), 'n'],
  ['DataRow with no column count', frame('D', [0]), 'D'],
  ['DataRow with negative column count', frame('D', i16(-1)), 'D'],
  ['DataRow missing a column', frame('D', cat(i16(2), i32(1), 'a')), 'D'],
  ['DataRow column overruns the message', frame('D', cat(i16(1), i32(5), 'abc')), 'D'],
  ['DataRow column length -2', frame('D', cat(i16(1), i32(-2))), 'D'],
  ['DataRow with trailing bytes', frame('D', cat(i16(1), i32(1), 'ab')), 'D'],
  ['RowDescription truncated field', frame('T', cat(i16(1), 'id', [0], i32(0))), 'T'],
  ['RowDescription negative count', frame('T', i16(-3)), 'T'],
  [
    'RowDescription bad format code',
    frame('T', cat(i16(1), 'id', [0], i32(0), i16(0), i32(23), i16(4), i32(-1), i16(2))),
    'T',
  ],
  ['ParameterDescription truncated', frame('t', cat(i16(2), i32(23))), 't'],
  ['ParameterDescription trailing bytes', frame('t', cat(i16(0), [1])), 't'],
  ['BackendKeyData with a 3-byte key', frame('K', cat(i32(1), [1, 2, 3])), 'K'],
  ['BackendKeyData with a 257-byte key', frame('K', cat(i32(1), Buffer.alloc(257))), 'K'],
  ['BackendKeyData without a key', frame('K', i32(1)), 'K'],
  ['ParameterStatus missing value', frame('S', cat('a', [0])), 'S'],
  ['NotificationResponse truncated', frame('A', cat(i32(1), 'chan', [0])), 'A'],
  ['CopyInResponse bad overall format', frame('G', cat([2], i16(0))), 'G'],
  ['CopyOutResponse negative count', frame('H', cat([0], i16(-1))), 'H'],
  ['CopyBothResponse truncated', frame('W', cat([0], i16(2), i16(0))), 'W'],
  ['NegotiateProtocolVersion negative count', frame('v', cat(i32(0), i32(-1))), 'v'],
  ['NegotiateProtocolVersion count larger than the body', frame('v', cat(i32(0), i32(1000))), 'v'],
  ['NegotiateProtocolVersion option without terminator', frame('v', cat(i32(0), i32(1), '_pq_.x')), 'v'],
  ['Authentication without code', frame('R', [0, 0]), 'R'],
  ['Authentication unknown code 6 (SCM credentials)', frame('R', i32(6)), 'R'],
  ['AuthenticationOk with trailing bytes', frame('R', cat(i32(0), [0])), 'R'],
  ['AuthenticationMD5Password with a 3-byte salt', frame('R', cat(i32(5), [1, 2, 3])), 'R'],
  ['AuthenticationMD5Password with a 5-byte salt', frame('R', cat(i32(5), [1, 2, 3, 4, 5])), 'R'],
  ['AuthenticationSASL without list terminator', frame('R', cat(i32(10), 'SCRAM-SHA-256', [0])), 'R'],
  ['ErrorResponse without terminator', frame('E', cat('SERROR', [0], 'Mboom', [0])), 'E'],
  ['ErrorResponse field without value terminator', frame('E', cat('SERROR')), 'E'],
  ['NoticeResponse with trailing bytes', frame('N', cat('Mhi', [0], [0], 'x')), 'N'],
  ['length below 4', frame('Z', 'I', 3), 'Z'],
  ['negative length', frame('Z', 'I', -1), 'Z'],
]

describe('malformed backend messages', () => {
  it.each(MALFORMED)('%s', (_name, bytes, type) => {
    const err = protocolError(bytes)
    expect(err.messageType).toBe(type)
    expect(err.message).toMatch(/\S/)
  })

  it('a length claim above maxMessageSize fails as soon as the header is in', () => {
    const d = new Decoder({ maxMessageSize: 1000 })
    d.push(frame('D', '', 1001).subarray(0, 5)) // header only, no body
    expect(() => d.next()).toThrow(ProtocolError)
    const ok = new Decoder({ maxMessageSize: 1000 })
    ok.push(frame('D', '', 1000).subarray(0, 5))
    expect(ok.next()).toBeNull() // exactly the limit: waits for the body
  })

  it('the default limit (1 GiB) rejects a 2 GiB claim without waiting', () => {
    const d = new Decoder()
    d.push(Buffer.from([0x44, 0x7f, 0xff, 0xff, 0xff]))
    expect(() => d.next()).toThrow(/invalid length/)
  })
})

describe('lenient parsing the protocol requires', () => {
  it('unknown ErrorResponse/NoticeResponse field codes are ignored', () => {
    const m = decodeOne(
      rawNotice('N', [
        ['S', 'NOTICE'],
        ['C', '00000'],
        ['M', 'hello'],
        ['Z', 'future field'],
        ['?', 'another'],
      ]),
    )
    expect(m).toEqual({ type: 'NoticeResponse', fields: { severity: 'NOTICE', code: '00000', message: 'hello' } })
  })

  it('numeric fields are numbers; a non-numeric value is kept as text rather than failing', () => {
    const m = decodeOne(
      rawNotice('E', [
        ['S', 'ERROR'],
        ['C', '42601'],
        ['M', 'syntax error'],
        ['P', '17'],
        ['L', 'not-a-number'],
      ]),
    )
    expect(m?.type).toBe('ErrorResponse')
    if (m?.type !== 'ErrorResponse') return
    expect(m.fields.position).toBe(17)
    expect(m.fields.line as unknown).toBe('not-a-number')
  })

  it('an ErrorResponse missing S/C/M still decodes (empty strings)', () => {
    const m = decodeOne(rawNotice('E', []))
    expect(m).toEqual({ type: 'ErrorResponse', fields: { severity: '', code: '', message: '' } })
  })

  it('ParameterDescription counts are unsigned: 40000 parameters', () => {
    const oids = new Array<number>(40_000).fill(25)
    const m = decodeOne(encodeBackend({ type: 'ParameterDescription', typeOids: oids }))
    expect(m?.type === 'ParameterDescription' && m.typeOids.length).toBe(40_000)
  })

  it('after a malformed message the decoder continues with the next one', () => {
    const d = new Decoder()
    d.push(Buffer.concat([frame('Z', 'X'), encodeBackend({ type: 'ReadyForQuery', status: 'I' })]))
    expect(() => d.next()).toThrow(ProtocolError)
    expect(d.next()).toEqual({ type: 'ReadyForQuery', status: 'I' })
  })
})
