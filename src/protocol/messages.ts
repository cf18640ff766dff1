// Backend messages as a discriminated union. Values stay as byte ranges into
// the buffer they arrived in; decoding them is the type layer's job.

/** Fields of ErrorResponse and NoticeResponse, by their documented names. */
export interface NoticeFields {
  severity: string
  /** The non-localized severity ('V' field, 9.6+). */
  severityNonLocalized?: string
  code: string
  message: string
  detail?: string
  hint?: string
  position?: number
  internalPosition?: number
  internalQuery?: string
  where?: string
  schema?: string
  table?: string
  column?: string
  dataType?: string
  constraint?: string
  file?: string
  line?: number
  routine?: string
}

export interface FieldDescription {
  name: string
  tableOid: number
  columnId: number
  typeOid: number
  typeSize: number
  typeModifier: number
  format: 0 | 1
}

export type AuthenticationMessage =
  | { type: 'AuthenticationOk' }
  | { type: 'AuthenticationKerberosV5' }
  | { type: 'AuthenticationCleartextPassword' }
  | { type: 'AuthenticationMD5Password'; salt: Buffer }
  | { type: 'AuthenticationGSS' }
  | { type: 'AuthenticationGSSContinue'; data: Buffer }
  | { type: 'AuthenticationSSPI' }
  | { type: 'AuthenticationSASL'; mechanisms: string[] }
  | { type: 'AuthenticationSASLContinue'; data: Buffer }
  | { type: 'AuthenticationSASLFinal'; data: Buffer }

/**
 * A DataRow keeps the message bytes and an offset table: `offsets[2i]` is the
 * start of column i and `offsets[2i+1]` its end, or -1 for SQL NULL.
 */
export interface DataRow {
  type: 'DataRow'
  buf: Buffer
  offsets: Int32Array
}

export type BackendMessage =
  | AuthenticationMessage
  | { type: 'BackendKeyData'; processId: number; secretKey: Buffer }
  | { type: 'BindComplete' }
  | { type: 'CloseComplete' }
  | { type: 'CommandComplete'; tag: string }
  | { type: 'CopyData'; data: Buffer }
  | { type: 'CopyDone' }
  | { type: 'CopyInResponse'; format: 0 | 1; columnFormats: number[] }
  | { type: 'CopyOutResponse'; format: 0 | 1; columnFormats: number[] }
  | { type: 'CopyBothResponse'; format: 0 | 1; columnFormats: number[] }
  | DataRow
  | { type: 'EmptyQueryResponse' }
  | { type: 'ErrorResponse'; fields: NoticeFields }
  | { type: 'NegotiateProtocolVersion'; newestMinor: number; unrecognized: string[] }
  | { type: 'NoData' }
  | { type: 'NoticeResponse'; fields: NoticeFields }
  | { type: 'NotificationResponse'; processId: number; channel: string; payload: string }
  | { type: 'ParameterDescription'; typeOids: number[] }
  | { type: 'ParameterStatus'; name: string; value: string }
  | { type: 'ParseComplete' }
  | { type: 'PortalSuspended' }
  | { type: 'ReadyForQuery'; status: TransactionStatus }
  | { type: 'RowDescription'; fields: FieldDescription[] }

/** 'I' idle, 'T' in a transaction block, 'E' in a failed transaction block. */
export type TransactionStatus = 'I' | 'T' | 'E'

export type BackendMessageType = BackendMessage['type']
