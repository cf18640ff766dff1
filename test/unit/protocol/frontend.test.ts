// Frontend encoders checked byte for byte against the layouts in the protocol
// documentation ("Message Formats"), the Writer's length back-patching and
// growth, and a property: whatever the encoders write, the fake server's
// parser reads back the same values.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as fe from '../../../src/protocol/frontend.js'
import { Writer } from '../../../src/protocol/writer.js'
import {
  asPassword,
  asSASLInitialResponse,
  asSASLResponse,
  FrontendParser,
  parseFrontendAll,
  type FrontendMessage,
} from '../../support/backend-encoder.js'

/** Builds expected bytes from readable pieces: strings (UTF-8, no NUL added), byte arrays, Buffers. */
const bytes = (...parts: Array<string | number[] | Buffer>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.isBuffer(p) ? p : Buffer.from(p))))
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
const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(v)
  return b
}
const Z = [0] // a NUL terminator

/** A typed message: type byte, Int32 length (counting itself), body. */
const typed = (t: string, ...body: Array<string | number[] | Buffer>): Buffer => {
  const b = bytes(...body)
  return bytes(t, i32(b.length + 4), b)
}
/** An untyped (startup-style) packet. */
const untyped = (...body: Array<string | number[] | Buffer>): Buffer => {
  const b = bytes(...body)
  return bytes(i32(b.length + 4), b)
}

function encode(fn: (w: Writer) => void, size?: number): Buffer {
  const w = new Writer(size)
  fn(w)
  return w.flush()
}

describe('frontend messages match the documented layouts', () => {
  it('StartupMessage, protocol 3.0 (196608)', () => {
    const got = encode((w) => fe.startup(w, fe.PROTOCOL_3_0, { user: 'bob', database: 'db', application_name: 'ünï' }))
    expect(got).toEqual(
      untyped(i32(196608), 'user', Z, 'bob', Z, 'database', Z, 'db', Z, 'application_name', Z, 'ünï', Z, Z),
    )
    expect(fe.PROTOCOL_3_0).toBe(196608)
  })

  it('StartupMessage, protocol 3.2 (196610), undefined values skipped', () => {
    const params = { user: 'u', options: undefined } as unknown as Record<string, string>
    const got = encode((w) => fe.startup(w, fe.PROTOCOL_3_2, params))
    expect(got).toEqual(untyped([0, 3, 0, 2], 'user', Z, 'u', Z, Z))
    expect(got.readInt32BE(4)).toBe(196610)
  })

  it('SSLRequest (80877103) and GSSENCRequest (80877104)', () => {
    expect(encode((w) => fe.sslRequest(w))).toEqual(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]))
    expect(encode((w) => fe.gssEncRequest(w))).toEqual(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]))
  })

  it('CancelRequest (80877102) with a 4-byte key and with long 3.2 keys', () => {
    expect(encode((w) => fe.cancelRequest(w, 4242, Buffer.from([1, 2, 3, 4])))).toEqual(
      bytes(i32(16), i32(80877102), i32(4242), [1, 2, 3, 4]),
    )
    for (const n of [32, 256]) {
      const key = Buffer.from(Array.from({ length: n }, (_, i) => (i * 13) & 0xff))
      const got = encode((w) => fe.cancelRequest(w, 0x7fffffff, key))
      expect(got).toEqual(bytes(i32(12 + n), i32(80877102), i32(0x7fffffff), key))
    }
  })

  it('PasswordMessage, SASLInitialResponse, SASLResponse', () => {
    expect(encode((w) => fe.password(w, 'sécret'))).toEqual(typed('p', 'sécret', Z))
    const first = Buffer.from('n,,n=,r=abc')
    expect(encode((w) => fe.saslInitialResponse(w, 'SCRAM-SHA-256', first))).toEqual(
      typed('p', 'SCRAM-SHA-256', Z, i32(first.length), first),
    )
    expect(encode((w) => fe.saslInitialResponse(w, 'X', Buffer.alloc(0)))).toEqual(typed('p', 'X', Z, i32(0)))
    expect(encode((w) => fe.saslResponse(w, Buffer.from('c=biws,r=abc,p=xyz')))).toEqual(
      typed('p', 'c=biws,r=abc,p=xyz'),
    )
  })

  it('Query', () => {
    expect(encode((w) => fe.query(w, 'SELECT 1'))).toEqual(typed('Q', 'SELECT 1', Z))
    expect(encode((w) => fe.query(w, ''))).toEqual(Buffer.from('Q\0\0\0\x05\0', 'latin1'))
  })

  it('Parse: unsigned OIDs, zero and many parameters', () => {
    expect(encode((w) => fe.parse(w, 's1', 'SELECT $1, $2', [23, 4294967295]))).toEqual(
      typed('P', 's1', Z, 'SELECT $1, $2', Z, i16(2), i32(23), u32(4294967295)),
    )
    expect(encode((w) => fe.parse(w, '', 'SELECT 1', []))).toEqual(typed('P', Z, 'SELECT 1', Z, i16(0)))
    // The server reads the count as uint16: up to 65535 parameters.
    const many = encode((w) => fe.parse(w, '', 'q', new Array<number>(40_000).fill(0)))
    expect(many.readUInt16BE(5 + 1 + 2)).toBe(40_000)
    expect(many.length).toBe(5 + 1 + 2 + 2 + 4 * 40_000)
  })

  it('Bind: text, binary and NULL parameters, result formats', () => {
    const got = encode((w) =>
      fe.bind(w, 'p1', 's1', [0, 1, 0, 0], ['42', Buffer.from([0, 0, 0, 7]), null, 'héllo'], [1]),
    )
    expect(got).toEqual(
      typed(
        'B',
        'p1', Z,
        's1', Z,
        i16(4), i16(0), i16(1), i16(0), i16(0),
        i16(4),
        i32(2), '42',
        i32(4), [0, 0, 0, 7],
        i32(-1),
        i32(6), 'héllo', // length in bytes, not characters
        i16(1), i16(1),
      ),
    )
  })

  it('Bind: no parameters, empty string vs NULL, no result formats', () => {
    expect(encode((w) => fe.bind(w, '', '', [], [], []))).toEqual(typed('B', Z, Z, i16(0), i16(0), i16(0)))
    expect(encode((w) => fe.bind(w, '', '', [], ['', null], []))).toEqual(
      typed('B', Z, Z, i16(0), i16(2), i32(0), i32(-1), i16(0)),
    )
  })

  it('Describe, Execute, Close, Sync, Flush, Terminate', () => {
    expect(encode((w) => fe.describe(w, 'S', 's1'))).toEqual(typed('D', 'S', 's1', Z))
    expect(encode((w) => fe.describe(w, 'P', ''))).toEqual(typed('D', 'P', Z))
    expect(encode((w) => fe.execute(w, '', 0))).toEqual(typed('E', Z, i32(0)))
    expect(encode((w) => fe.execute(w, 'p', 100))).toEqual(typed('E', 'p', Z, i32(100)))
    expect(encode((w) => fe.close(w, 'S', 's1'))).toEqual(typed('C', 'S', 's1', Z))
    expect(encode((w) => fe.close(w, 'P', 'p'))).toEqual(typed('C', 'P', 'p', Z))
    expect(encode((w) => fe.sync(w))).toEqual(Buffer.from('S\0\0\0\x04', 'latin1'))
    expect(encode((w) => fe.flush(w))).toEqual(Buffer.from('H\0\0\0\x04', 'latin1'))
    expect(encode((w) => fe.terminate(w))).toEqual(Buffer.from('X\0\0\0\x04', 'latin1'))
  })

  it('CopyData (bytes and string), CopyDone, CopyFail', () => {
    expect(encode((w) => fe.copyData(w, Buffer.from([1, 0, 2])))).toEqual(typed('d', [1, 0, 2]))
    expect(encode((w) => fe.copyData(w, 'a\tb\n'))).toEqual(typed('d', 'a\tb\n'))
    expect(encode((w) => fe.copyDone(w))).toEqual(Buffer.from('c\0\0\0\x04', 'latin1'))
    expect(encode((w) => fe.copyFail(w, 'no'))).toEqual(typed('f', 'no', Z))
  })

  it('a batch Parse/Bind/Describe/Execute/Sync is back to back, each length back-patched', () => {
    const got = encode((w) => {
      fe.parse(w, '', 'SELECT $1', [25])
      fe.bind(w, '', '', [0], ['x'], [])
      fe.describe(w, 'P', '')
      fe.execute(w, '', 0)
      fe.sync(w)
    }, 8) // tiny initial buffer: growth happens mid-message
    let pos = 0
    const types: string[] = []
    while (pos < got.length) {
      types.push(String.fromCharCode(got[pos]!))
      pos += 1 + got.readInt32BE(pos + 1)
    }
    expect(pos).toBe(got.length)
    expect(types.join('')).toBe('PBDES')
  })
})

describe('Writer', () => {
  it('grows from any initial size, including 0, across a message', () => {
    for (const size of [0, 1, 5, 16]) {
      const big = 'x'.repeat(100_000)
      const got = encode((w) => fe.query(w, big), size)
      expect(got.length).toBe(5 + big.length + 1)
      expect(got.readInt32BE(1)).toBe(4 + big.length + 1)
    }
  })

  it('flush() returns a copy and resets; the Writer is reusable', () => {
    const w = new Writer(16)
    fe.sync(w)
    const a = w.flush()
    fe.flush(w)
    const b = w.flush()
    expect(a).toEqual(Buffer.from('S\0\0\0\x04', 'latin1'))
    expect(b).toEqual(Buffer.from('H\0\0\0\x04', 'latin1'))
    expect(w.length).toBe(0)
  })

  it('misuse: nested start, end without start, flush inside a message', () => {
    const w = new Writer()
    expect(() => w.end()).toThrow()
    w.start(0x51)
    expect(() => w.start(0x51)).toThrow()
    expect(() => w.flush()).toThrow()
  })

  it('a NUL inside a string is refused, and the half-written message is dropped', () => {
    const w = new Writer()
    fe.sync(w)
    expect(() => fe.query(w, 'SELECT 1\0; DROP TABLE t')).toThrow(RangeError)
    expect(() => fe.startup(w, fe.PROTOCOL_3_0, { user: 'bob\0database\0other' })).toThrow(RangeError)
    fe.flush(w) // the Writer is usable again
    expect(w.flush()).toEqual(Buffer.from('S\0\0\0\x04H\0\0\0\x04', 'latin1'))
  })

  it('values that do not fit their field are refused without corrupting the buffer', () => {
    const w = new Writer()
    fe.sync(w)
    expect(() => fe.parse(w, '', 'q', [2 ** 32])).toThrow(RangeError)
    expect(() => fe.parse(w, '', 'q', [-1])).toThrow(RangeError)
    expect(() => fe.parse(w, '', 'q', new Array<number>(65_536).fill(0))).toThrow(RangeError)
    expect(() => fe.bind(w, '', '', [2 ** 15], [], [])).toThrow(RangeError)
    expect(() => fe.execute(w, '', 2 ** 31)).toThrow(RangeError)
    expect(w.flush()).toEqual(Buffer.from('S\0\0\0\x04', 'latin1'))
  })

  it('abort() drops an open message; a no-op otherwise', () => {
    const w = new Writer()
    fe.sync(w)
    w.start(0x51).cstr('partial')
    w.abort()
    w.abort()
    fe.sync(w)
    expect(w.flush()).toEqual(Buffer.from('S\0\0\0\x04S\0\0\0\x04', 'latin1'))
  })
})

describe('frontend encoders vs the fake server parser (property)', () => {
  const text = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\0'))
  const bytesArb = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a))
  const kind = fc.constantFrom<'S' | 'P'>('S', 'P')

  type Case = { write: (w: Writer) => void; want: FrontendMessage }
  const cases: fc.Arbitrary<Case> = fc.oneof(
    text.map((sql): Case => ({ write: (w: Writer) => fe.query(w, sql), want: { type: 'Query', sql } })),
    fc.tuple(text, text, fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 5 })).map(([name, sql, oids]): Case => ({
      write: (w: Writer) => fe.parse(w, name, sql, oids),
      want: { type: 'Parse', name, sql, paramOids: oids },
    })),
    fc
      .tuple(
        text,
        text,
        fc.array(fc.oneof(text, bytesArb, fc.constant(null)), { maxLength: 6 }),
        fc.array(fc.constantFrom(0, 1), { maxLength: 3 }),
      )
      .map(([portal, statement, values, resultFormats]): Case => {
        const paramFormats = values.map((v) => (Buffer.isBuffer(v) ? 1 : 0))
        return {
          write: (w: Writer) => fe.bind(w, portal, statement, paramFormats, values, resultFormats),
          want: {
            type: 'Bind',
            portal,
            statement,
            paramFormats,
            values: values.map((v) => (v === null ? null : typeof v === 'string' ? Buffer.from(v) : v)),
            resultFormats,
          },
        }
      }),
    fc.tuple(kind, text).map(([k, name]): Case => ({
      write: (w: Writer) => fe.describe(w, k, name),
      want: { type: 'Describe', kind: k, name },
    })),
    fc.tuple(kind, text).map(([k, name]): Case => ({
      write: (w: Writer) => fe.close(w, k, name),
      want: { type: 'Close', kind: k, name },
    })),
    fc.tuple(text, fc.nat()).map(([portal, maxRows]): Case => ({
      write: (w: Writer) => fe.execute(w, portal, maxRows),
      want: { type: 'Execute', portal, maxRows },
    })),
    fc.constantFrom<Case>(
      { write: (w) => fe.sync(w), want: { type: 'Sync' } },
      { write: (w) => fe.flush(w), want: { type: 'Flush' } },
      { write: (w) => fe.terminate(w), want: { type: 'Terminate' } },
      { write: (w) => fe.copyDone(w), want: { type: 'CopyDone' } },
    ),
    bytesArb.map((data): Case => ({ write: (w: Writer) => fe.copyData(w, data), want: { type: 'CopyData', data } })),
    text.map((message): Case => ({ write: (w: Writer) => fe.copyFail(w, message), want: { type: 'CopyFail', message } })),
  )

  it('batches of random messages parse back to the same values', () => {
    fc.assert(
      fc.property(fc.array(cases, { maxLength: 8 }), fc.nat({ max: 64 }), (batch, size) => {
        const w = new Writer(size)
        for (const c of batch) c.write(w)
        expect(parseFrontendAll(w.flush())).toEqual(batch.map((c) => c.want))
      }),
      { numRuns: 300 },
    )
  })

  it('password, SASL and startup packets parse back', () => {
    fc.assert(
      fc.property(text, bytesArb, fc.dictionary(text.filter((k) => k !== ''), text, { maxKeys: 4 }), (s, data, params) => {
        const w = new Writer()
        fe.password(w, s)
        fe.saslInitialResponse(w, s, data)
        fe.saslResponse(w, data)
        const [pw, init, resp] = parseFrontendAll(w.flush())
        expect(asPassword(pw!)).toBe(s)
        expect(asSASLInitialResponse(init!)).toEqual({ mechanism: s, data })
        expect(asSASLResponse(resp!)).toEqual(data)

        fe.startup(w, fe.PROTOCOL_3_2, params)
        const p = new FrontendParser()
        p.push(w.flush())
        expect(p.nextStartup()).toEqual({ type: 'StartupMessage', version: 196610, major: 3, minor: 2, params: { ...params } })
      }),
      { numRuns: 200 },
    )
  })
})
