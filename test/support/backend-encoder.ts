// Test support: the server side of the wire protocol.
//
// - encodeBackend(): the inverse of src/protocol/decoder.ts, for every
//   BackendMessage variant of protocol 3.0 and 3.2, built on our Writer.
// - builders (dataRow, errorResponse, rowDescription...) for convenient fixtures.
// - raw framing helpers (frame, rawNotice) to build malformed or unusual bytes.
// - FrontendParser: a minimal parser of what a client sends (startup-style
//   packets and typed messages), enough for a scripted fake server.

import { Writer } from '../../src/protocol/writer.js'
import type {
  BackendMessage,
  DataRow,
  FieldDescription,
  NoticeFields,
  TransactionStatus,
} from '../../src/protocol/messages.js'

// ---------------------------------------------------------------------------
// Backend encoder

/** Field type byte of each NoticeFields key, in the order a server sends them. */
export const NOTICE_FIELD_CODES: ReadonlyArray<readonly [keyof NoticeFields, string]> = [
  ['severity', 'S'],
  ['severityNonLocalized', 'V'],
  ['code', 'C'],
  ['message', 'M'],
  ['detail', 'D'],
  ['hint', 'H'],
  ['position', 'P'],
  ['internalPosition', 'p'],
  ['internalQuery', 'q'],
  ['where', 'W'],
  ['schema', 's'],
  ['table', 't'],
  ['column', 'c'],
  ['dataType', 'd'],
  ['constraint', 'n'],
  ['file', 'F'],
  ['line', 'L'],
  ['routine', 'R'],
]

/** Authentication request codes (the Int32 after 'R'). */
export const AUTH_CODES = {
  AuthenticationOk: 0,
  AuthenticationKerberosV5: 2,
  AuthenticationCleartextPassword: 3,
  AuthenticationMD5Password: 5,
  AuthenticationGSS: 7,
  AuthenticationGSSContinue: 8,
  AuthenticationSSPI: 9,
  AuthenticationSASL: 10,
  AuthenticationSASLContinue: 11,
  AuthenticationSASLFinal: 12,
} as const

const c = (ch: string): number => ch.charCodeAt(0)

/** Appends one backend message to `w`. */
export function writeBackend(w: Writer, msg: BackendMessage): void {
  switch (msg.type) {
    case 'AuthenticationOk':
    case 'AuthenticationKerberosV5':
    case 'AuthenticationCleartextPassword':
    case 'AuthenticationGSS':
    case 'AuthenticationSSPI':
      w.start(c('R')).i32(AUTH_CODES[msg.type]).end()
      return
    case 'AuthenticationMD5Password':
      w.start(c('R')).i32(5).bytes(msg.salt).end()
      return
    case 'AuthenticationGSSContinue':
    case 'AuthenticationSASLContinue':
    case 'AuthenticationSASLFinal':
      w.start(c('R')).i32(AUTH_CODES[msg.type]).bytes(msg.data).end()
      return
    case 'AuthenticationSASL':
      w.start(c('R')).i32(10)
      for (const m of msg.mechanisms) w.cstr(m)
      w.u8(0).end()
      return
    case 'BackendKeyData':
      w.start(c('K')).i32(msg.processId).bytes(msg.secretKey).end()
      return
    case 'BindComplete':
      w.start(c('2')).end()
      return
    case 'CloseComplete':
      w.start(c('3')).end()
      return
    case 'CommandComplete':
      w.start(c('C')).cstr(msg.tag).end()
      return
    case 'CopyData':
      w.start(c('d')).bytes(msg.data).end()
      return
    case 'CopyDone':
      w.start(c('c')).end()
      return
    case 'CopyInResponse':
    case 'CopyOutResponse':
    case 'CopyBothResponse': {
      const t = msg.type === 'CopyInResponse' ? 'G' : msg.type === 'CopyOutResponse' ? 'H' : 'W'
      w.start(c(t)).u8(msg.format).i16(msg.columnFormats.length)
      for (const f of msg.columnFormats) w.i16(f)
      w.end()
      return
    }
    case 'DataRow': {
      const n = msg.offsets.length / 2
      w.start(c('D')).i16(n)
      for (let i = 0; i < n; i++) {
        const s = msg.offsets[2 * i]!
        const e = msg.offsets[2 * i + 1]!
        if (s === -1) w.i32(-1)
        else w.i32(e - s).bytes(msg.buf.subarray(s, e))
      }
      w.end()
      return
    }
    case 'EmptyQueryResponse':
      w.start(c('I')).end()
      return
    case 'ErrorResponse':
    case 'NoticeResponse':
      w.start(c(msg.type === 'ErrorResponse' ? 'E' : 'N'))
      for (const [key, code] of NOTICE_FIELD_CODES) {
        const v = msg.fields[key]
        if (v === undefined) continue
        w.u8(c(code)).cstr(String(v))
      }
      w.u8(0).end()
      return
    case 'NegotiateProtocolVersion':
      // The server sends the full version number: (3 << 16) | newest minor.
      w.start(c('v')).i32((3 << 16) | msg.newestMinor).i32(msg.unrecognized.length)
      for (const o of msg.unrecognized) w.cstr(o)
      w.end()
      return
    case 'NoData':
      w.start(c('n')).end()
      return
    case 'NotificationResponse':
      w.start(c('A')).i32(msg.processId).cstr(msg.channel).cstr(msg.payload).end()
      return
    case 'ParameterDescription':
      w.start(c('t')).u16(msg.typeOids.length)
      for (const oid of msg.typeOids) w.u32(oid)
      w.end()
      return
    case 'ParameterStatus':
      w.start(c('S')).cstr(msg.name).cstr(msg.value).end()
      return
    case 'ParseComplete':
      w.start(c('1')).end()
      return
    case 'PortalSuspended':
      w.start(c('s')).end()
      return
    case 'ReadyForQuery':
      w.start(c('Z')).u8(c(msg.status)).end()
      return
    case 'RowDescription':
      w.start(c('T')).i16(msg.fields.length)
      for (const f of msg.fields) {
        w.cstr(f.name).u32(f.tableOid).i16(f.columnId).u32(f.typeOid).i16(f.typeSize).i32(f.typeModifier).i16(f.format)
      }
      w.end()
      return
    default: {
      const never: never = msg
      throw new Error(`encodeBackend: unknown message ${JSON.stringify(never)}`)
    }
  }
}

/** One backend message as wire bytes. */
export function encodeBackend(msg: BackendMessage): Buffer {
  const w = new Writer(64)
  writeBackend(w, msg)
  return w.flush()
}

/** Several messages (or ready-made byte chunks) as one contiguous byte stream. */
export function encodeBackendAll(msgs: ReadonlyArray<BackendMessage | Uint8Array>): Buffer {
  const w = new Writer(256)
  for (const m of msgs) {
    if (m instanceof Uint8Array) w.bytes(m)
    else writeBackend(w, m)
  }
  return w.flush()
}

// ---------------------------------------------------------------------------
// Raw framing, for malformed or unusual messages

/**
 * A typed message with an arbitrary body. `length` overrides the length field
 * (which normally is body.length + 4) to build lying headers.
 */
export function frame(type: string | number, body: Uint8Array | string | number[] = Buffer.alloc(0), length?: number): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : Array.isArray(body) ? Buffer.from(body) : body
  const out = Buffer.alloc(5 + b.length)
  out[0] = typeof type === 'number' ? type : c(type)
  out.writeInt32BE(length ?? b.length + 4, 1)
  out.set(b, 5)
  return out
}

/** An ErrorResponse ('E') or NoticeResponse ('N') with arbitrary (code, value) pairs, unknown codes included. */
export function rawNotice(type: 'E' | 'N', pairs: ReadonlyArray<readonly [string, string]>): Buffer {
  const w = new Writer(64)
  w.start(c(type))
  for (const [code, value] of pairs) w.u8(c(code)).cstr(value)
  w.u8(0).end()
  return w.flush()
}

// ---------------------------------------------------------------------------
// Builders

/** A DataRow from convenient values: strings are UTF-8 text, Buffers raw bytes, null is SQL NULL. */
export function dataRow(values: ReadonlyArray<Uint8Array | string | null>): DataRow {
  const parts = values.map((v) => (v === null ? null : typeof v === 'string' ? Buffer.from(v, 'utf8') : v))
  let total = 0
  for (const p of parts) if (p !== null) total += p.length
  const buf = Buffer.alloc(total)
  const offsets = new Int32Array(parts.length * 2)
  let pos = 0
  parts.forEach((p, i) => {
    if (p === null) {
      offsets[2 * i] = -1
      offsets[2 * i + 1] = -1
    } else {
      buf.set(p, pos)
      offsets[2 * i] = pos
      offsets[2 * i + 1] = pos + p.length
      pos += p.length
    }
  })
  return { type: 'DataRow', buf, offsets }
}

/** The columns of a decoded DataRow as copied byte slices (null for SQL NULL). */
export function dataRowValues(row: DataRow): (Buffer | null)[] {
  const out: (Buffer | null)[] = []
  for (let i = 0; i < row.offsets.length; i += 2) {
    const s = row.offsets[i]!
    out.push(s === -1 ? null : Buffer.from(row.buf.subarray(s, row.offsets[i + 1]!)))
  }
  return out
}

/** The columns of a decoded DataRow as UTF-8 strings (null for SQL NULL). */
export function dataRowText(row: DataRow): (string | null)[] {
  return dataRowValues(row).map((b) => (b === null ? null : b.toString('utf8')))
}

/** Full NoticeFields from a partial set: severity ERROR, code XX000, message 'error' unless given. */
export function noticeFields(fields: Partial<NoticeFields> = {}): NoticeFields {
  return { severity: 'ERROR', code: 'XX000', message: 'error', ...fields }
}

export function errorResponse(fields: Partial<NoticeFields> = {}): BackendMessage {
  return { type: 'ErrorResponse', fields: noticeFields({ severityNonLocalized: fields.severity ?? 'ERROR', ...fields }) }
}

export function noticeResponse(fields: Partial<NoticeFields> = {}): BackendMessage {
  return {
    type: 'NoticeResponse',
    fields: noticeFields({ severity: 'NOTICE', severityNonLocalized: fields.severity ?? 'NOTICE', code: '00000', ...fields }),
  }
}

/** A column of a RowDescription: text-format `text` (OID 25) unless told otherwise. */
export function field(name: string, over: Partial<Omit<FieldDescription, 'name'>> = {}): FieldDescription {
  return { name, tableOid: 0, columnId: 0, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0, ...over }
}

export function rowDescription(fields: ReadonlyArray<string | FieldDescription>): BackendMessage {
  return { type: 'RowDescription', fields: fields.map((f) => (typeof f === 'string' ? field(f) : f)) }
}

export function readyForQuery(status: TransactionStatus = 'I'): BackendMessage {
  return { type: 'ReadyForQuery', status }
}

/** The reply to one extended-protocol query on an unnamed statement: Parse/Bind done, text columns, rows, ReadyForQuery. */
export function unnamedReply(
  columns: ReadonlyArray<string | FieldDescription>,
  rows: (string | null)[][],
  status: TransactionStatus = 'I',
): BackendMessage[] {
  return [
    { type: 'ParseComplete' },
    { type: 'BindComplete' },
    rowDescription(columns),
    ...rows.map((r) => dataRow(r)),
    commandComplete(`SELECT ${rows.length}`),
    readyForQuery(status),
  ]
}

export function commandComplete(tag: string): BackendMessage {
  return { type: 'CommandComplete', tag }
}

export function parameterStatus(name: string, value: string): BackendMessage {
  return { type: 'ParameterStatus', name, value }
}

/** BackendKeyData; a number key is written as 4 bytes (protocol 3.0), bytes as given (3.2 allows up to 256). */
export function backendKeyData(processId: number, secretKey: number | Uint8Array): BackendMessage {
  let key: Buffer
  if (typeof secretKey === 'number') {
    key = Buffer.alloc(4)
    key.writeInt32BE(secretKey | 0)
  } else {
    key = Buffer.from(secretKey)
  }
  return { type: 'BackendKeyData', processId, secretKey: key }
}

/**
 * The messages of one simple-query result: RowDescription, one DataRow per row
 * and CommandComplete (tag defaults to `SELECT <n>`). No ReadyForQuery.
 */
export function queryResult(
  columns: ReadonlyArray<string | FieldDescription>,
  rows: ReadonlyArray<ReadonlyArray<Uint8Array | string | null>>,
  tag = `SELECT ${rows.length}`,
): BackendMessage[] {
  return [rowDescription(columns), ...rows.map((r) => dataRow(r)), commandComplete(tag)]
}

// ---------------------------------------------------------------------------
// Frontend parser (what the fake server reads)

export const SSL_REQUEST_CODE = 80877103
export const GSSENC_REQUEST_CODE = 80877104
export const CANCEL_REQUEST_CODE = 80877102

/** The first packet of a connection: no type byte, Int32 length, Int32 code. */
export type StartupPacket =
  | { type: 'StartupMessage'; version: number; major: number; minor: number; params: Record<string, string> }
  | { type: 'SSLRequest' }
  | { type: 'GSSENCRequest' }
  | { type: 'CancelRequest'; processId: number; secretKey: Buffer }

export type FrontendMessage =
  | { type: 'Query'; sql: string }
  | { type: 'Parse'; name: string; sql: string; paramOids: number[] }
  | {
      type: 'Bind'
      portal: string
      statement: string
      paramFormats: number[]
      values: (Buffer | null)[]
      resultFormats: number[]
    }
  | { type: 'Describe'; kind: 'S' | 'P'; name: string }
  | { type: 'Execute'; portal: string; maxRows: number }
  | { type: 'Close'; kind: 'S' | 'P'; name: string }
  | { type: 'Sync' }
  | { type: 'Flush' }
  | { type: 'Terminate' }
  /** 'p': a password, SASLInitialResponse or SASLResponse; tell them apart with the helpers below. */
  | { type: 'PasswordMessage'; data: Buffer }
  | { type: 'CopyData'; data: Buffer }
  | { type: 'CopyDone' }
  | { type: 'CopyFail'; message: string }
  | { type: 'Unknown'; code: string; body: Buffer }

export type FrontendMessageType = FrontendMessage['type']

/** Thrown by FrontendParser on bytes it cannot make sense of. */
export class FrontendParseError extends Error {
  override name = 'FrontendParseError'
}

class Reader {
  pos = 0
  constructor(
    readonly buf: Buffer,
    readonly what: string,
  ) {}
  fail(msg: string): never {
    throw new FrontendParseError(`malformed ${this.what}: ${msg}`)
  }
  need(n: number): void {
    if (this.pos + n > this.buf.length) this.fail(`truncated at offset ${this.pos}`)
  }
  u8(): number {
    this.need(1)
    return this.buf[this.pos++]!
  }
  i16(): number {
    this.need(2)
    const v = this.buf.readInt16BE(this.pos)
    this.pos += 2
    return v
  }
  u16(): number {
    this.need(2)
    const v = this.buf.readUInt16BE(this.pos)
    this.pos += 2
    return v
  }
  i32(): number {
    this.need(4)
    const v = this.buf.readInt32BE(this.pos)
    this.pos += 4
    return v
  }
  u32(): number {
    this.need(4)
    const v = this.buf.readUInt32BE(this.pos)
    this.pos += 4
    return v
  }
  bytes(n: number): Buffer {
    this.need(n)
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n))
    this.pos += n
    return b
  }
  rest(): Buffer {
    return this.bytes(this.buf.length - this.pos)
  }
  cstr(): string {
    const nul = this.buf.indexOf(0, this.pos)
    if (nul === -1) this.fail('string without terminator')
    const s = this.buf.toString('utf8', this.pos, nul)
    this.pos = nul + 1
    return s
  }
  done(): void {
    if (this.pos !== this.buf.length) this.fail(`${this.buf.length - this.pos} trailing bytes`)
  }
}

/** Parses one startup-style packet body (everything after the length word). */
export function parseStartupBody(body: Buffer): StartupPacket {
  const r = new Reader(body, 'startup packet')
  const code = r.i32()
  if (code === SSL_REQUEST_CODE) {
    r.done()
    return { type: 'SSLRequest' }
  }
  if (code === GSSENC_REQUEST_CODE) {
    r.done()
    return { type: 'GSSENCRequest' }
  }
  if (code === CANCEL_REQUEST_CODE) {
    const processId = r.i32()
    return { type: 'CancelRequest', processId, secretKey: r.rest() }
  }
  const params: Record<string, string> = Object.create(null) as Record<string, string> // '__proto__' is a key like any other
  for (;;) {
    const key = r.cstr()
    if (key === '') break
    params[key] = r.cstr()
  }
  r.done()
  return { type: 'StartupMessage', version: code, major: code >>> 16, minor: code & 0xffff, params }
}

function kind(r: Reader): 'S' | 'P' {
  const k = String.fromCharCode(r.u8())
  if (k !== 'S' && k !== 'P') r.fail(`bad kind '${k}'`)
  return k
}

/** Parses one typed frontend message body. */
export function parseFrontendBody(code: number, body: Buffer): FrontendMessage {
  const t = String.fromCharCode(code)
  const r = new Reader(body, `'${t}' message`)
  let m: FrontendMessage
  switch (t) {
    case 'Q':
      m = { type: 'Query', sql: r.cstr() }
      break
    case 'P': {
      const name = r.cstr()
      const sql = r.cstr()
      const n = r.u16()
      const paramOids: number[] = []
      for (let i = 0; i < n; i++) paramOids.push(r.u32())
      m = { type: 'Parse', name, sql, paramOids }
      break
    }
    case 'B': {
      const portal = r.cstr()
      const statement = r.cstr()
      const paramFormats: number[] = []
      for (let i = 0, n = r.u16(); i < n; i++) paramFormats.push(r.i16())
      const values: (Buffer | null)[] = []
      for (let i = 0, n = r.u16(); i < n; i++) {
        const len = r.i32()
        if (len < -1) r.fail(`parameter ${i} length ${len}`)
        values.push(len === -1 ? null : r.bytes(len))
      }
      const resultFormats: number[] = []
      for (let i = 0, n = r.u16(); i < n; i++) resultFormats.push(r.i16())
      m = { type: 'Bind', portal, statement, paramFormats, values, resultFormats }
      break
    }
    case 'D':
      m = { type: 'Describe', kind: kind(r), name: r.cstr() }
      break
    case 'E':
      m = { type: 'Execute', portal: r.cstr(), maxRows: r.i32() }
      break
    case 'C':
      m = { type: 'Close', kind: kind(r), name: r.cstr() }
      break
    case 'S':
      m = { type: 'Sync' }
      break
    case 'H':
      m = { type: 'Flush' }
      break
    case 'X':
      m = { type: 'Terminate' }
      break
    case 'p':
      m = { type: 'PasswordMessage', data: r.rest() }
      break
    case 'd':
      m = { type: 'CopyData', data: r.rest() }
      break
    case 'c':
      m = { type: 'CopyDone' }
      break
    case 'f':
      m = { type: 'CopyFail', message: r.cstr() }
      break
    default:
      return { type: 'Unknown', code: t, body: Buffer.from(body) }
  }
  r.done()
  return m
}

/** A PasswordMessage read as a cleartext/MD5 password (NUL-terminated string). */
export function asPassword(m: FrontendMessage): string {
  if (m.type !== 'PasswordMessage') throw new FrontendParseError(`expected PasswordMessage, got ${m.type}`)
  const r = new Reader(m.data, 'password message')
  const s = r.cstr()
  r.done()
  return s
}

/** A PasswordMessage read as SASLInitialResponse: mechanism name and initial data (null when length is -1). */
export function asSASLInitialResponse(m: FrontendMessage): { mechanism: string; data: Buffer | null } {
  if (m.type !== 'PasswordMessage') throw new FrontendParseError(`expected PasswordMessage, got ${m.type}`)
  const r = new Reader(m.data, 'SASLInitialResponse')
  const mechanism = r.cstr()
  const len = r.i32()
  const data = len === -1 ? null : r.bytes(len)
  r.done()
  return { mechanism, data }
}

/** A PasswordMessage read as SASLResponse: the raw data. */
export function asSASLResponse(m: FrontendMessage): Buffer {
  if (m.type !== 'PasswordMessage') throw new FrontendParseError(`expected PasswordMessage, got ${m.type}`)
  return m.data
}

/** Largest frontend message the parser accepts; more is treated as garbage. */
const MAX_FRONTEND_MESSAGE = 256 * 1024 * 1024

/**
 * Incremental frontend parser: push() received chunks, then nextStartup()
 * (for the untyped first packet(s)) or next() (typed messages). Both return
 * null until a whole packet is buffered.
 */
export class FrontendParser {
  private buf: Buffer = Buffer.alloc(0)

  push(chunk: Uint8Array): void {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk])
  }

  get buffered(): number {
    return this.buf.length
  }

  nextStartup(): StartupPacket | null {
    if (this.buf.length < 4) return null
    const len = this.buf.readInt32BE(0)
    if (len < 8 || len > 10_000) throw new FrontendParseError(`invalid startup packet length ${len}`)
    if (this.buf.length < len) return null
    const body = this.buf.subarray(4, len)
    this.buf = this.buf.subarray(len)
    return parseStartupBody(body)
  }

  next(): FrontendMessage | null {
    if (this.buf.length < 5) return null
    const code = this.buf[0]!
    const len = this.buf.readInt32BE(1)
    if (len < 4 || len > MAX_FRONTEND_MESSAGE) {
      throw new FrontendParseError(`invalid length ${len} for frontend message '${String.fromCharCode(code)}'`)
    }
    if (this.buf.length < len + 1) return null
    const body = this.buf.subarray(5, len + 1)
    this.buf = this.buf.subarray(len + 1)
    return parseFrontendBody(code, body)
  }
}

/** Parses a complete byte string of typed frontend messages (e.g. a Writer's flush()). */
export function parseFrontendAll(bytes: Uint8Array): FrontendMessage[] {
  const p = new FrontendParser()
  p.push(bytes)
  const out: FrontendMessage[] = []
  for (let m = p.next(); m !== null; m = p.next()) out.push(m)
  if (p.buffered !== 0) throw new FrontendParseError(`${p.buffered} bytes of an incomplete message left`)
  return out
}

/** One frontend message, short: `Parse pgline_1 select 1`, `Bind ""`, `Describe P ""`, `Execute 2`... */
export function frontendLabel(m: FrontendMessage | StartupPacket): string {
  const n = (name: string): string => (name === '' ? '""' : name)
  switch (m.type) {
    case 'Query':
      return `Query ${m.sql}`
    case 'Parse':
      return `Parse ${n(m.name)} ${m.sql}`
    case 'Bind':
      return `Bind ${n(m.statement)}`
    case 'Describe':
      return `Describe ${m.kind} ${n(m.name)}`
    case 'Execute':
      return m.maxRows === 0 ? 'Execute' : `Execute ${m.maxRows}`
    case 'Close':
      return `Close ${m.kind} ${n(m.name)}`
    case 'CopyData':
      return `CopyData ${m.data.toString('utf8')}`
    case 'CopyFail':
      return `CopyFail ${m.message}`
    default:
      return m.type
  }
}
