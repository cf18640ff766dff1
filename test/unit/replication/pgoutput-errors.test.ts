// Malformed or unexpected pgoutput messages: each is a ProtocolError naming
// the message, never a RangeError from Buffer or a garbage event, and the
// decoder's state is as it was before.
import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../../../src/errors/base.js'
import { PgOutputDecoder, type PgOutputEvent } from '../../../src/replication/index.js'
import { Bytes, encodePgOutput } from '../../support/pgoutput-encoder.js'
import { USERS, decoderWith } from './_fixtures.js'
import { SAMPLES, STREAM_XID, decoderFor } from './_samples.js'

function protocolError(f: () => unknown): ProtocolError {
  try {
    f()
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError)
    return err as ProtocolError
  }
  throw new Error('expected a ProtocolError')
}

const label = (e: PgOutputEvent, inStream: boolean): string => `${e.kind}${inStream ? ' (in stream)' : ''}`

describe('every sample', () => {
  it.each(SAMPLES.map((s) => [label(s.event, s.inStream), s] as const))('%s decodes', (_name, { event, inStream }) => {
    expect(decoderFor(inStream).decode(encodePgOutput(event), event.lsn)).toEqual(event)
  })

  it.each(SAMPLES.map((s) => [label(s.event, s.inStream), s] as const))('%s cut at any length is a ProtocolError', (_name, { event, inStream }) => {
    const bytes = encodePgOutput(event)
    for (let n = 1; n < bytes.length; n++) {
      const d = decoderFor(inStream)
      const err = protocolError(() => d.decode(bytes.subarray(0, n), 0n))
      expect(err.messageType).toBe(String.fromCharCode(bytes[0]!))
      expect(err.message).toMatch(/truncated|no terminator/)
    }
  })

  it.each(SAMPLES.map((s) => [label(s.event, s.inStream), s] as const))('%s with a trailing byte is a ProtocolError', (_name, { event, inStream }) => {
    const bytes = Buffer.concat([encodePgOutput(event), Buffer.from([0])])
    expect(protocolError(() => decoderFor(inStream).decode(bytes, 0n)).message).toMatch(/1 unexpected trailing bytes/)
  })
})

describe('message types', () => {
  it('an empty payload', () => {
    expect(protocolError(() => new PgOutputDecoder({ protoVersion: 1 }).decode(Buffer.alloc(0), 0n)).message).toMatch(/empty/)
  })

  it.each([
    ['Z', 'Z'],
    ['w', 'w'], // an XLogData header passed in by mistake
    ['\x00', '0x00'],
    ['\xff', '0xff'],
  ])('unknown type %j', (first, shown) => {
    const err = protocolError(() => new PgOutputDecoder({ protoVersion: 4 }).decode(Buffer.from(first, 'latin1'), 0n))
    expect(err.messageType).toBe(shown)
    expect(err.message).toBe(`unknown pgoutput message type '${shown}'`)
  })
})

describe('relations', () => {
  it.each([
    ['Insert', new Bytes().char('I').u32(4242).char('N').i16(0)],
    ['Update', new Bytes().char('U').u32(4242).char('N').i16(0)],
    ['Delete', new Bytes().char('D').u32(4242).char('K').i16(0)],
    ['Truncate', new Bytes().char('T').i32(2).u8(0).u32(USERS.id).u32(4242)],
  ])('%s of an unknown relation id names the id', (name, bytes) => {
    const err = protocolError(() => decoderWith([USERS]).decode(bytes.done(), 0n))
    expect(err.message).toMatch(`(${name}) message: unknown relation id 4242`)
  })

  it('a malformed Relation message leaves the cached description alone', () => {
    const d = decoderWith([USERS])
    const bad = new Bytes().char('R').u32(USERS.id).cstr('public').cstr('users').char('z').i16(0).done()
    expect(protocolError(() => d.decode(bad, 0n)).message).toMatch(/unknown replica identity "z"/)
    expect(d.relation(USERS.id)).toEqual(USERS)
    const cut = new Bytes().char('R').u32(USERS.id).cstr('public').cstr('users').char('d').i16(1).u8(0).cstr('only').done()
    expect(protocolError(() => d.decode(cut, 0n)).message).toMatch(/truncated/)
    expect(d.relation(USERS.id)).toEqual(USERS)
  })

  it('a negative column count', () => {
    const bytes = new Bytes().char('R').u32(1).cstr('s').cstr('t').char('d').i16(-1).done()
    expect(protocolError(() => new PgOutputDecoder({ protoVersion: 1 }).decode(bytes, 0n)).message).toMatch(/column count -1/)
  })
})

describe('tuples', () => {
  const insert = (tuple: (b: Bytes) => Bytes, tag = 'N'): Buffer => tuple(new Bytes().char('I').u32(USERS.id).char(tag)).done()
  const four = (b: Bytes): Bytes => b.i16(4).char('t').i32(1).str('1').char('n').char('n').char('n')

  it.each([
    ['a column count that differs from the relation', (b: Bytes) => b.i16(3).char('n').char('n').char('n'), /tuple has 3 columns but relation "public"."users" \(id 16384\) has 4/],
    ['a negative column count', (b: Bytes) => b.i16(-4), /tuple has -4 columns/],
    ['an unknown value kind', (b: Bytes) => b.i16(4).char('n').char('x'), /column "name" has unknown value kind "x"/],
    ['a negative value length', (b: Bytes) => b.i16(4).char('t').i32(-1), /column "id" has length -1/],
    ['a value overrunning the message', (b: Bytes) => b.i16(4).char('b').i32(100).str('ab'), /truncated \(needed 100 more bytes/],
    ['a huge value length', (b: Bytes) => b.i16(4).char('t').i32(0x7fffffff), /truncated/],
  ])('%s', (_name, tuple, message) => {
    expect(protocolError(() => decoderWith([USERS]).decode(insert(tuple), 0n)).message).toMatch(message)
  })

  it('Insert needs N, Update N after an optional K or O, Delete K or O', () => {
    const d = decoderWith([USERS])
    expect(protocolError(() => d.decode(insert(four, 'K'), 0n)).message).toMatch(/expected 'N' before the tuple, got 'K'/)
    const update = new Bytes().char('U').u32(USERS.id).char('K')
    four(update).char('K')
    four(update)
    expect(protocolError(() => d.decode(update.done(), 0n)).message).toMatch(/expected 'N' before the tuple, got 'K'/)
    const del = four(new Bytes().char('D').u32(USERS.id).char('N')).done()
    expect(protocolError(() => d.decode(del, 0n)).message).toMatch(/expected 'K' or 'O' before the old tuple, got 'N'/)
  })
})

describe('other fields', () => {
  it('Truncate with a negative or impossible relation count', () => {
    const d = decoderWith([USERS])
    expect(protocolError(() => d.decode(new Bytes().char('T').i32(-1).u8(0).done(), 0n)).message).toMatch(/relation count -1/)
    expect(protocolError(() => d.decode(new Bytes().char('T').i32(0x7fffffff).u8(0).u32(USERS.id).done(), 0n)).message).toMatch(/truncated/)
  })

  it('Message with a negative content length', () => {
    const bytes = new Bytes().char('M').u8(1).u64(1n).cstr('p').i32(-5).done()
    expect(protocolError(() => new PgOutputDecoder({ protoVersion: 1 }).decode(bytes, 0n)).message).toMatch(/content length -5/)
  })

  it('Stream Start with a first-segment byte other than 0 or 1 opens no block', () => {
    const d = new PgOutputDecoder({ protoVersion: 2 })
    expect(protocolError(() => d.decode(new Bytes().char('S').u32(5).u8(2).done(), 0n)).message).toMatch(/first segment flag is 2/)
    expect(d.streamXid).toBeUndefined()
  })

  it('a change inside a block without its xid is misread, and refused rather than decoded wrongly', () => {
    const d = decoderFor(true)
    const noXid = encodePgOutput({ kind: 'delete', lsn: 0n, relation: USERS, old: { id: '1' }, oldKind: 'key' })
    protocolError(() => d.decode(noXid, 0n))
    expect(d.streamXid).toBe(STREAM_XID)
  })
})
