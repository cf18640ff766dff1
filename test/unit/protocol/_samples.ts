// One or more sample messages for every BackendMessage variant, and a
// comparable ("normalized") form of a decoded message.

import type { BackendMessage, BackendMessageType } from '../../../src/protocol/messages.js'
import { dataRow, dataRowValues, field } from '../../support/backend-encoder.js'

const bytes = (...b: number[]): Buffer => Buffer.from(b)

export const ALL_FIELDS = {
  severity: 'ERROR',
  severityNonLocalized: 'ERROR',
  code: '23505',
  message: 'duplicate key value violates unique constraint "t_pkey"',
  detail: 'Key (id)=(1) already exists.',
  hint: 'Try another id — ünïcødé ✓',
  position: 42,
  internalPosition: 7,
  internalQuery: 'SELECT 1',
  where: 'PL/pgSQL function f() line 3 at SQL statement',
  schema: 'public',
  table: 't',
  column: 'id',
  dataType: 'int4',
  constraint: 't_pkey',
  file: 'nbtinsert.c',
  line: 666,
  routine: '_bt_check_unique',
}

export const SAMPLES: BackendMessage[] = [
  { type: 'AuthenticationOk' },
  { type: 'AuthenticationKerberosV5' },
  { type: 'AuthenticationCleartextPassword' },
  { type: 'AuthenticationMD5Password', salt: bytes(0xde, 0xad, 0x00, 0xef) },
  { type: 'AuthenticationGSS' },
  { type: 'AuthenticationGSSContinue', data: bytes(1, 2, 3, 0, 255) },
  { type: 'AuthenticationGSSContinue', data: Buffer.alloc(0) },
  { type: 'AuthenticationSSPI' },
  { type: 'AuthenticationSASL', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] },
  { type: 'AuthenticationSASL', mechanisms: [] },
  { type: 'AuthenticationSASLContinue', data: Buffer.from('r=abc,s=c2FsdA==,i=4096') },
  { type: 'AuthenticationSASLFinal', data: Buffer.from('v=dmVyaWZpZXI=') },
  { type: 'BackendKeyData', processId: 12345, secretKey: bytes(0x80, 0, 0, 1) },
  { type: 'BackendKeyData', processId: 0x7fffffff, secretKey: Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7)) },
  { type: 'BackendKeyData', processId: 1, secretKey: Buffer.alloc(256, 0xab) },
  { type: 'BindComplete' },
  { type: 'CloseComplete' },
  { type: 'CommandComplete', tag: 'SELECT 3' },
  { type: 'CommandComplete', tag: 'INSERT 0 1' },
  { type: 'CopyData', data: Buffer.from('1\tfoo\n') },
  { type: 'CopyData', data: Buffer.alloc(0) },
  { type: 'CopyDone' },
  { type: 'CopyInResponse', format: 0, columnFormats: [0, 0, 0] },
  { type: 'CopyOutResponse', format: 1, columnFormats: [1, 1] },
  { type: 'CopyBothResponse', format: 0, columnFormats: [] },
  dataRow(['1', null, '', 'héllo', Buffer.from([0, 1, 2, 255])]),
  dataRow([]),
  dataRow([null]),
  dataRow([Buffer.alloc(70_000, 0x61)]),
  { type: 'EmptyQueryResponse' },
  { type: 'ErrorResponse', fields: ALL_FIELDS },
  { type: 'ErrorResponse', fields: { severity: 'FATAL', code: '28P01', message: 'password authentication failed' } },
  { type: 'NoticeResponse', fields: { ...ALL_FIELDS, severity: 'WARNING', severityNonLocalized: 'WARNING', code: '01000' } },
  { type: 'NegotiateProtocolVersion', newestMinor: 0, unrecognized: ['_pq_.foo', '_pq_.bar'] },
  { type: 'NegotiateProtocolVersion', newestMinor: 1, unrecognized: [] },
  { type: 'NoData' },
  { type: 'NoticeResponse', fields: { severity: 'NOTICE', code: '00000', message: 'hi' } },
  { type: 'NotificationResponse', processId: 99, channel: 'chan', payload: 'payload ✓' },
  { type: 'NotificationResponse', processId: -1, channel: 'c', payload: '' },
  { type: 'ParameterDescription', typeOids: [23, 25, 4294967295, 3000000000] },
  { type: 'ParameterDescription', typeOids: [] },
  { type: 'ParameterDescription', typeOids: new Array<number>(40_000).fill(23) },
  { type: 'ParameterStatus', name: 'server_version', value: '18.0' },
  { type: 'ParameterStatus', name: 'application_name', value: '' },
  { type: 'ParseComplete' },
  { type: 'PortalSuspended' },
  { type: 'ReadyForQuery', status: 'I' },
  { type: 'ReadyForQuery', status: 'T' },
  { type: 'ReadyForQuery', status: 'E' },
  {
    type: 'RowDescription',
    fields: [
      field('id', { tableOid: 16384, columnId: 1, typeOid: 23, typeSize: 4 }),
      field('naïve', { tableOid: 4294967295, columnId: -1, typeOid: 4000000000, typeSize: -2, typeModifier: 0x7fffffff, format: 1 }),
      field(''),
    ],
  },
  { type: 'RowDescription', fields: [] },
]

/** Every variant name, to check SAMPLES covers them all. */
export const ALL_TYPES: BackendMessageType[] = [
  'AuthenticationOk',
  'AuthenticationKerberosV5',
  'AuthenticationCleartextPassword',
  'AuthenticationMD5Password',
  'AuthenticationGSS',
  'AuthenticationGSSContinue',
  'AuthenticationSSPI',
  'AuthenticationSASL',
  'AuthenticationSASLContinue',
  'AuthenticationSASLFinal',
  'BackendKeyData',
  'BindComplete',
  'CloseComplete',
  'CommandComplete',
  'CopyData',
  'CopyDone',
  'CopyInResponse',
  'CopyOutResponse',
  'CopyBothResponse',
  'DataRow',
  'EmptyQueryResponse',
  'ErrorResponse',
  'NegotiateProtocolVersion',
  'NoData',
  'NoticeResponse',
  'NotificationResponse',
  'ParameterDescription',
  'ParameterStatus',
  'ParseComplete',
  'PortalSuspended',
  'ReadyForQuery',
  'RowDescription',
]

/**
 * A plain, JSON-safe, comparable form: DataRow becomes its column bytes, and
 * byte fields become `hex:...` strings (copied, so later reuse of a receive
 * buffer cannot alter them; and strings compare much faster than Buffers).
 */
export function normalize(m: BackendMessage): unknown {
  if (m.type === 'DataRow') return { type: 'DataRow', values: dataRowValues(m).map(plain) }
  return plain(m)
}

/** normalize() as one string, for fast comparison in hot loops. */
export function fingerprint(m: BackendMessage): string {
  return JSON.stringify(normalize(m))
}

function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return `hex:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`
  if (Array.isArray(v)) return v.map(plain)
  if (v !== null && typeof v === 'object') {
    // Sorted keys: the decoder and a fixture may list the same fields in another order.
    const entries = Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return Object.fromEntries(entries.map(([k, x]) => [k, plain(x)]))
  }
  return v
}
