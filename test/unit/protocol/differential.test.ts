// Differential test against node-postgres's parser (pg-protocol), used only as
// an oracle: random backend message streams, encoded by our test encoder and
// cut into random chunks, must give the same messages from our Decoder and
// from pg-protocol's Parser. Only what pg-protocol understands is generated:
// no NegotiateProtocolVersion, no GSS/SSPI/Kerberos requests (it reports
// those as authenticationOk), 4-byte BackendKeyData keys.

import fc from 'fast-check'
import { bytes, fieldDescription, i32, u32 } from '../../support/arbitraries.js'
import { Parser } from 'pg-protocol/dist/parser.js'
import { describe, expect, it } from 'vitest'
import { Decoder } from '../../../src/protocol/decoder.js'
import type { BackendMessage, NoticeFields } from '../../../src/protocol/messages.js'
import { dataRow, dataRowText, encodeBackendAll, NOTICE_FIELD_CODES } from '../../support/backend-encoder.js'

// --- generators -------------------------------------------------------------

const str = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => !s.includes('\0'))
const nonEmpty = str.filter((s) => s !== '')

const fieldDesc = fieldDescription(str)

// Fields pg-protocol reads (it ignores 'V'); S, C and M are always sent by a server.
const noticeFields: fc.Arbitrary<NoticeFields> = fc.record(
  {
    severity: fc.constantFrom('ERROR', 'FATAL', 'PANIC', 'WARNING', 'NOTICE', 'DEBUG', 'INFO', 'LOG'),
    code: fc.stringMatching(/^[0-9A-Z]{5}$/),
    message: str,
    detail: str,
    hint: str,
    position: fc.nat({ max: 100_000 }),
    internalPosition: fc.nat({ max: 100_000 }),
    internalQuery: str,
    where: str,
    schema: str,
    table: str,
    column: str,
    dataType: str,
    constraint: str,
    file: str,
    line: fc.nat({ max: 100_000 }),
    routine: str,
  },
  { requiredKeys: ['severity', 'code', 'message'] },
)

const copyResponse = (type: 'CopyInResponse' | 'CopyOutResponse' | 'CopyBothResponse') =>
  fc
    .record({ format: fc.constantFrom<0 | 1>(0, 1), columnFormats: fc.array(fc.constantFrom(0, 1), { maxLength: 6 }) })
    .map((r): BackendMessage => ({ type, ...r }))

const message: fc.Arbitrary<BackendMessage> = fc.oneof(
  fc.constantFrom<BackendMessage>(
    { type: 'AuthenticationOk' },
    { type: 'AuthenticationCleartextPassword' },
    { type: 'BindComplete' },
    { type: 'CloseComplete' },
    { type: 'CopyDone' },
    { type: 'EmptyQueryResponse' },
    { type: 'NoData' },
    { type: 'ParseComplete' },
    { type: 'PortalSuspended' },
  ),
  bytes(4)
    .filter((b) => b.length === 4)
    .map((salt): BackendMessage => ({ type: 'AuthenticationMD5Password', salt })),
  fc.array(nonEmpty, { maxLength: 3 }).map((mechanisms): BackendMessage => ({ type: 'AuthenticationSASL', mechanisms })),
  fc
    .tuple(fc.constantFrom('AuthenticationSASLContinue' as const, 'AuthenticationSASLFinal' as const), str)
    .map(([type, s]): BackendMessage => ({ type, data: Buffer.from(s) })),
  fc
    .tuple(i32, i32)
    .map(([processId, key]): BackendMessage => {
      const secretKey = Buffer.alloc(4)
      secretKey.writeInt32BE(key)
      return { type: 'BackendKeyData', processId, secretKey }
    }),
  str.map((tag): BackendMessage => ({ type: 'CommandComplete', tag })),
  bytes(64).map((data): BackendMessage => ({ type: 'CopyData', data })),
  copyResponse('CopyInResponse'),
  copyResponse('CopyOutResponse'),
  copyResponse('CopyBothResponse'),
  fc.array(fc.oneof(str, fc.constant(null), bytes(16)), { maxLength: 8 }).map((values) => dataRow(values)),
  noticeFields.map((fields): BackendMessage => ({ type: 'ErrorResponse', fields })),
  noticeFields.map((fields): BackendMessage => ({ type: 'NoticeResponse', fields })),
  fc
    .tuple(i32, str, str)
    .map(([processId, channel, payload]): BackendMessage => ({ type: 'NotificationResponse', processId, channel, payload })),
  fc.array(u32, { maxLength: 8 }).map((typeOids): BackendMessage => ({ type: 'ParameterDescription', typeOids })),
  fc.tuple(str, str).map(([name, value]): BackendMessage => ({ type: 'ParameterStatus', name, value })),
  fc.constantFrom<'I' | 'T' | 'E'>('I', 'T', 'E').map((status): BackendMessage => ({ type: 'ReadyForQuery', status })),
  fc.array(fieldDesc, { maxLength: 5 }).map((fields): BackendMessage => ({ type: 'RowDescription', fields })),
)

// --- the common shape both parsers are mapped to -----------------------------

type Common = Record<string, unknown> & { name: string }

const PG_NOTICE_KEYS = NOTICE_FIELD_CODES.map(([k]) => k).filter((k) => k !== 'severityNonLocalized')

function noticeCommon(f: NoticeFields): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {}
  for (const k of PG_NOTICE_KEYS) out[k] = f[k] === undefined ? undefined : String(f[k])
  return out
}

function ours(m: BackendMessage): Common {
  switch (m.type) {
    case 'AuthenticationOk':
      return { name: 'authenticationOk' }
    case 'AuthenticationCleartextPassword':
      return { name: 'authenticationCleartextPassword' }
    case 'AuthenticationMD5Password':
      return { name: 'authenticationMD5Password', salt: m.salt.toString('hex') }
    case 'AuthenticationSASL':
      return { name: 'authenticationSASL', mechanisms: m.mechanisms }
    case 'AuthenticationSASLContinue':
      return { name: 'authenticationSASLContinue', data: m.data.toString('utf8') }
    case 'AuthenticationSASLFinal':
      return { name: 'authenticationSASLFinal', data: m.data.toString('utf8') }
    case 'BackendKeyData':
      return { name: 'backendKeyData', processID: m.processId, secretKey: m.secretKey.readInt32BE(0) }
    case 'BindComplete':
      return { name: 'bindComplete' }
    case 'CloseComplete':
      return { name: 'closeComplete' }
    case 'CommandComplete':
      return { name: 'commandComplete', text: m.tag }
    case 'CopyData':
      return { name: 'copyData', chunk: m.data.toString('hex') }
    case 'CopyDone':
      return { name: 'copyDone' }
    case 'CopyInResponse':
      return { name: 'copyInResponse', binary: m.format !== 0, columnTypes: m.columnFormats }
    case 'CopyOutResponse':
      return { name: 'copyOutResponse', binary: m.format !== 0, columnTypes: m.columnFormats }
    case 'CopyBothResponse':
      return { name: 'replicationStart' } // pg-protocol reads no fields of 'W'
    case 'DataRow':
      return { name: 'dataRow', fields: dataRowText(m) }
    case 'EmptyQueryResponse':
      return { name: 'emptyQuery' }
    case 'ErrorResponse':
      return { name: 'error', ...noticeCommon(m.fields) }
    case 'NoticeResponse':
      return { name: 'notice', ...noticeCommon(m.fields) }
    case 'NoData':
      return { name: 'noData' }
    case 'NotificationResponse':
      return { name: 'notification', processId: m.processId, channel: m.channel, payload: m.payload }
    case 'ParameterDescription':
      return { name: 'parameterDescription', dataTypeIDs: m.typeOids }
    case 'ParameterStatus':
      return { name: 'parameterStatus', parameterName: m.name, parameterValue: m.value }
    case 'ParseComplete':
      return { name: 'parseComplete' }
    case 'PortalSuspended':
      return { name: 'portalSuspended' }
    case 'ReadyForQuery':
      return { name: 'readyForQuery', status: m.status }
    case 'RowDescription':
      return {
        name: 'rowDescription',
        fields: m.fields.map((f) => ({
          name: f.name,
          tableID: f.tableOid,
          columnID: f.columnId,
          dataTypeID: f.typeOid,
          dataTypeSize: f.typeSize,
          dataTypeModifier: f.typeModifier,
          format: f.format === 0 ? 'text' : 'binary',
        })),
      }
    default:
      throw new Error(`differential: no mapping for ${m.type}`)
  }
}

/** pg-protocol's message (read right away: some fields are views of its reusable buffer). */
function theirs(raw: unknown): Common {
  const m = raw as Record<string, unknown> & { name: string }
  const pick = (...keys: string[]): Common => {
    const out: Common = { name: m.name }
    for (const k of keys) out[k] = m[k]
    return out
  }
  switch (m.name) {
    case 'authenticationMD5Password':
      return { name: m.name, salt: (m['salt'] as Buffer).toString('hex') }
    case 'authenticationSASL':
      return pick('mechanisms')
    case 'authenticationSASLContinue':
    case 'authenticationSASLFinal':
      return pick('data')
    case 'backendKeyData':
      return pick('processID', 'secretKey')
    case 'commandComplete':
      return pick('text')
    case 'copyData':
      return { name: m.name, chunk: (m['chunk'] as Buffer).toString('hex') }
    case 'copyInResponse':
    case 'copyOutResponse':
      return pick('binary', 'columnTypes')
    case 'dataRow':
      return pick('fields')
    case 'error':
    case 'notice':
      return { name: m.name, ...Object.fromEntries(PG_NOTICE_KEYS.map((k) => [k, m[k]])) }
    case 'notification':
      return pick('processId', 'channel', 'payload')
    case 'parameterDescription':
      return pick('dataTypeIDs')
    case 'parameterStatus':
      return pick('parameterName', 'parameterValue')
    case 'readyForQuery':
      return pick('status')
    case 'rowDescription':
      return {
        name: m.name,
        fields: (m['fields'] as Array<Record<string, unknown>>).map((f) => ({
          name: f['name'],
          tableID: f['tableID'],
          columnID: f['columnID'],
          dataTypeID: f['dataTypeID'],
          dataTypeSize: f['dataTypeSize'],
          dataTypeModifier: f['dataTypeModifier'],
          format: f['format'],
        })),
      }
    default:
      return { name: m.name }
  }
}

/** Cuts `bytes` at the given (arbitrary) points, mapped into range. */
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Buffer[] = []
  let prev = 0
  for (const p of [...at, bytes.length]) {
    chunks.push(bytes.subarray(prev, p))
    prev = p
  }
  return chunks
}

describe('differential: our Decoder vs pg-protocol', () => {
  it('random message streams cut into random chunks decode the same', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 25 }), fc.array(fc.nat(), { maxLength: 12 }), (msgs, points) => {
        const stream = encodeBackendAll(msgs)
        const decoder = new Decoder()
        const parser = new Parser()
        const a: Common[] = []
        const b: Common[] = []
        for (const chunk of cut(stream, points)) {
          decoder.push(chunk)
          for (let m = decoder.next(); m !== null; m = decoder.next()) a.push(ours(m))
          // A copy: pg-protocol may compact unread bytes into the buffer it was given.
          parser.parse(Buffer.from(chunk), (m) => b.push(theirs(m)))
        }
        expect(decoder.buffered).toBe(0)
        expect(a).toHaveLength(msgs.length)
        expect(a).toEqual(b)
        // And both agree with what was encoded.
        expect(a).toEqual(msgs.map(ours))
      }),
      { numRuns: 1000 },
    )
  })

  it('the same with one-byte chunks', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 8 }), (msgs) => {
        const stream = encodeBackendAll(msgs)
        const decoder = new Decoder()
        const parser = new Parser()
        const a: Common[] = []
        const b: Common[] = []
        for (let i = 0; i < stream.length; i++) {
          const chunk = stream.subarray(i, i + 1)
          decoder.push(chunk)
          for (let m = decoder.next(); m !== null; m = decoder.next()) a.push(ours(m))
          parser.parse(Buffer.from(chunk), (m) => b.push(theirs(m)))
        }
        expect(a).toEqual(b)
        expect(a).toHaveLength(msgs.length)
      }),
      { numRuns: 200 },
    )
  })
})
