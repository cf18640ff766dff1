// Turns a stream of received chunks into backend messages. It keeps a list of
// chunks instead of concatenating on every read: a message that lies inside
// one chunk is parsed in place; only a message that straddles chunks is
// copied once. `next()` returns null when more bytes are needed.

import { ProtocolError } from '../errors/base.js'
import type { BackendMessage, DataRow, FieldDescription, NoticeFields } from './messages.js'

/** Default limit for one message: larger claims are treated as corruption. */
export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024 * 1024

export interface DecoderOptions {
  maxMessageSize?: number
  /**
   * Hand out one DataRow object, refilled for every row, instead of a new one
   * per row: for a consumer that decodes each row before it calls next()
   * again (the connection does). Saves two allocations per row.
   */
  reuseDataRows?: boolean
}

export class Decoder {
  // Unconsumed chunks are chunks[first..]; consumed ones are dropped in bulk
  // (compact()), never with shift() per chunk: shift() is O(n) on a long array,
  // so a message arriving in many small chunks would cost O(n^2).
  private chunks: Buffer[] = []
  private first = 0 // index of the current chunk
  private head = 0 // read offset into chunks[first]
  private available = 0
  private readonly maxMessageSize: number
  private readonly row: DataRow | undefined

  constructor(opts: DecoderOptions = {}) {
    this.maxMessageSize = opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
    if (opts.reuseDataRows === true) this.row = { type: 'DataRow', buf: EMPTY, offsets: new Int32Array(64) }
  }

  /** Bytes received but not yet returned as messages. */
  get buffered(): number {
    return this.available
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return
    this.chunks.push(chunk)
    this.available += chunk.length
  }

  next(): BackendMessage | null {
    if (this.available < 5) return null
    const first = this.chunks[this.first]!
    let type: number
    let length: number
    if (first.length - this.head >= 5) {
      type = first[this.head]!
      length = first.readInt32BE(this.head + 1)
    } else {
      const header = this.peek(5)
      type = header[0]!
      length = header.readInt32BE(1)
    }
    if (length < 4 || length > this.maxMessageSize) {
      throw new ProtocolError(
        `invalid length ${length} for message type '${printable(type)}' (allowed 4..${this.maxMessageSize})`,
        printable(type),
      )
    }
    const total = length + 1
    if (this.available < total) return null

    let buf: Buffer
    let start: number
    if (first.length - this.head >= total) {
      buf = first
      start = this.head + 5
      this.head += total
      this.available -= total
      if (this.head === first.length) {
        this.chunks[this.first] = EMPTY
        this.first++
        this.head = 0
        this.compact()
      }
    } else {
      buf = this.take(total)
      start = 5
    }
    if (type === 0x44) return dataRow(buf, start, start + length - 4, this.row)
    return parseMessage(type, buf, start, start + length - 4)
  }

  /** Drops consumed chunks: all at once when everything is consumed, else once they are the larger part. */
  private compact(): void {
    if (this.first === this.chunks.length) {
      this.chunks = []
      this.first = 0
    } else if (this.first >= 1024 && this.first * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.first)
      this.first = 0
    }
  }

  /** Copies the next n bytes without consuming them (n is small). */
  private peek(n: number): Buffer {
    const out = Buffer.allocUnsafe(n)
    let copied = 0
    let offset = this.head
    for (let i = this.first; copied < n; i++) {
      const c = this.chunks[i]!
      const count = Math.min(n - copied, c.length - offset)
      c.copy(out, copied, offset, offset + count)
      copied += count
      offset = 0
    }
    return out
  }

  /** Consumes n bytes that span chunks into one new Buffer. */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n)
    let copied = 0
    while (copied < n) {
      const c = this.chunks[this.first]!
      const count = Math.min(n - copied, c.length - this.head)
      c.copy(out, copied, this.head, this.head + count)
      copied += count
      this.head += count
      if (this.head === c.length) {
        this.chunks[this.first] = EMPTY // let the consumed chunk be collected before compact()
        this.first++
        this.head = 0
      }
    }
    this.available -= n
    this.compact()
    return out
  }
}

const EMPTY = Buffer.alloc(0)

/** A message type byte as errors show it: the character, or hex when unprintable. */
export function printable(type: number): string {
  return type >= 0x20 && type < 0x7f ? String.fromCharCode(type) : `0x${type.toString(16).padStart(2, '0')}`
}

/** A bounds-checked cursor over one message body. */
class Body {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
    readonly type: string,
  ) {}

  fail(what: string): never {
    throw new ProtocolError(`malformed '${this.type}' message: ${what}`, this.type)
  }

  need(n: number): void {
    if (this.pos + n > this.end) this.fail(`truncated (needed ${n} more bytes at offset ${this.pos})`)
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

  cstr(): string {
    const nul = this.buf.indexOf(0, this.pos)
    if (nul === -1 || nul >= this.end) this.fail('string without terminator')
    const s = this.buf.toString('utf8', this.pos, nul)
    this.pos = nul + 1
    return s
  }

  /** The rest of the body, copied so it outlives the receive buffer. */
  rest(): Buffer {
    const out = Buffer.from(this.buf.subarray(this.pos, this.end))
    this.pos = this.end
    return out
  }

  done(): void {
    if (this.pos !== this.end) this.fail(`${this.end - this.pos} unexpected trailing bytes`)
  }
}

function parseMessage(type: number, buf: Buffer, start: number, end: number): BackendMessage {
  switch (type) {
    case 0x43: {
      // C
      const b = new Body(buf, start, end, 'C')
      const tag = b.cstr()
      b.done()
      return { type: 'CommandComplete', tag }
    }
    case 0x5a: {
      // Z
      const b = new Body(buf, start, end, 'Z')
      const s = b.u8()
      b.done()
      if (s !== 0x49 && s !== 0x54 && s !== 0x45) b.fail(`unknown transaction status ${printable(s)}`)
      return { type: 'ReadyForQuery', status: String.fromCharCode(s) as 'I' | 'T' | 'E' }
    }
    case 0x54:
      return rowDescription(new Body(buf, start, end, 'T'))
    case 0x31:
      return empty(buf, start, end, '1', { type: 'ParseComplete' })
    case 0x32:
      return empty(buf, start, end, '2', { type: 'BindComplete' })
    case 0x33:
      return empty(buf, start, end, '3', { type: 'CloseComplete' })
    case 0x6e:
      return empty(buf, start, end, 'n', { type: 'NoData' })
    case 0x49:
      return empty(buf, start, end, 'I', { type: 'EmptyQueryResponse' })
    case 0x73:
      return empty(buf, start, end, 's', { type: 'PortalSuspended' })
    case 0x63:
      return empty(buf, start, end, 'c', { type: 'CopyDone' })
    case 0x64:
      return { type: 'CopyData', data: Buffer.from(buf.subarray(start, end)) }
    case 0x45:
      return { type: 'ErrorResponse', fields: noticeFields(new Body(buf, start, end, 'E')) }
    case 0x4e:
      return { type: 'NoticeResponse', fields: noticeFields(new Body(buf, start, end, 'N')) }
    case 0x53: {
      // S
      const b = new Body(buf, start, end, 'S')
      const name = b.cstr()
      const value = b.cstr()
      b.done()
      return { type: 'ParameterStatus', name, value }
    }
    case 0x4b: {
      // K: the key is 4 bytes in 3.0 and up to 256 bytes in 3.2
      const b = new Body(buf, start, end, 'K')
      const processId = b.i32()
      const len = b.end - b.pos
      if (len < 4 || len > 256) b.fail(`secret key of ${len} bytes (expected 4..256)`)
      return { type: 'BackendKeyData', processId, secretKey: b.rest() }
    }
    case 0x41: {
      // A
      const b = new Body(buf, start, end, 'A')
      const processId = b.i32()
      const channel = b.cstr()
      const payload = b.cstr()
      b.done()
      return { type: 'NotificationResponse', processId, channel, payload }
    }
    case 0x74: {
      // t
      const b = new Body(buf, start, end, 't')
      // uint16: a statement may have up to 65535 parameters (libpq reads it unsigned too).
      const n = b.u16()
      b.need(n * 4)
      const typeOids = new Array<number>(n)
      for (let i = 0; i < n; i++) typeOids[i] = b.u32()
      b.done()
      return { type: 'ParameterDescription', typeOids }
    }
    case 0x47:
    case 0x48:
    case 0x57:
      return copyResponse(type, new Body(buf, start, end, printable(type)))
    case 0x76: {
      // v
      const b = new Body(buf, start, end, 'v')
      // Servers send the full version number (3 << 16 | minor); keep the minor.
      const version = b.i32()
      if (version > 0xffff && version >>> 16 !== 3) b.fail(`server offered protocol major ${version >>> 16}`)
      const newestMinor = version & 0xffff
      const n = b.i32()
      if (n < 0 || n > b.end - b.pos) b.fail(`bad option count ${n}`)
      const unrecognized: string[] = []
      for (let i = 0; i < n; i++) unrecognized.push(b.cstr())
      b.done()
      return { type: 'NegotiateProtocolVersion', newestMinor, unrecognized }
    }
    case 0x52:
      return authentication(new Body(buf, start, end, 'R'))
    default:
      throw new ProtocolError(`unknown message type '${printable(type)}'`, printable(type))
  }
}

function empty<M extends BackendMessage>(buf: Buffer, start: number, end: number, t: string, m: M): M {
  if (end !== start) new Body(buf, start, end, t).done()
  return m
}

/**
 * Reads the column offsets. With `into`, the offsets go into its table (grown
 * when too small, and then a view of exactly n*2 entries) and `into` itself
 * is returned; otherwise a new DataRow.
 */
function dataRow(buf: Buffer, start: number, end: number, into?: DataRow): DataRow {
  if (end - start < 2) throw new ProtocolError("malformed 'D' message: truncated column count", 'D')
  const n = (buf[start]! << 8) | buf[start + 1]!
  if (n > 0x7fff) throw new ProtocolError(`malformed 'D' message: negative column count ${n - 0x10000}`, 'D')
  let offsets: Int32Array
  if (into === undefined) offsets = new Int32Array(n * 2)
  else {
    offsets = into.offsets
    if (offsets.length !== n * 2) offsets = into.offsets = resized(offsets, n * 2)
  }
  let pos = start + 2
  for (let i = 0; i < n; i++) {
    if (pos + 4 > end) throw new ProtocolError(`malformed 'D' message: truncated at column ${i}`, 'D')
    // Big-endian int32 by hand: readInt32BE's argument checks cost more than the read.
    const len = (buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!
    pos += 4
    if (len === -1) {
      offsets[2 * i] = -1
      offsets[2 * i + 1] = -1
    } else {
      if (len < 0 || pos + len > end) {
        throw new ProtocolError(`malformed 'D' message: column ${i} length ${len} overruns the message`, 'D')
      }
      offsets[2 * i] = pos
      offsets[2 * i + 1] = pos + len
      pos += len
    }
  }
  if (pos !== end) throw new ProtocolError(`malformed 'D' message: ${end - pos} unexpected trailing bytes`, 'D')
  if (into === undefined) return { type: 'DataRow', buf, offsets }
  into.buf = buf
  return into
}

/** A table of exactly `size` entries, sharing the old one's memory when it is large enough. */
function resized(old: Int32Array, size: number): Int32Array {
  const backing = old.buffer.byteLength >= size * 4 ? old.buffer : new ArrayBuffer(Math.max(size * 4, old.buffer.byteLength * 2))
  return new Int32Array(backing, 0, size)
}

function rowDescription(b: Body): BackendMessage {
  const n = b.i16()
  if (n < 0) b.fail(`negative field count ${n}`)
  const fields = new Array<FieldDescription>(n)
  for (let i = 0; i < n; i++) {
    const name = b.cstr()
    const tableOid = b.u32()
    const columnId = b.i16()
    const typeOid = b.u32()
    const typeSize = b.i16()
    const typeModifier = b.i32()
    const format = b.i16()
    if (format !== 0 && format !== 1) b.fail(`unknown format code ${format} for field ${i}`)
    fields[i] = { name, tableOid, columnId, typeOid, typeSize, typeModifier, format }
  }
  b.done()
  return { type: 'RowDescription', fields }
}

function copyResponse(type: number, b: Body): BackendMessage {
  const format = b.u8()
  if (format !== 0 && format !== 1) b.fail(`unknown overall format ${format}`)
  const n = b.i16()
  if (n < 0) b.fail(`negative column count ${n}`)
  const columnFormats = new Array<number>(n)
  for (let i = 0; i < n; i++) columnFormats[i] = b.i16()
  b.done()
  const kind = type === 0x47 ? 'CopyInResponse' : type === 0x48 ? 'CopyOutResponse' : 'CopyBothResponse'
  return { type: kind, format, columnFormats }
}

function authentication(b: Body): BackendMessage {
  const code = b.i32()
  switch (code) {
    case 0:
      b.done()
      return { type: 'AuthenticationOk' }
    case 2:
      b.done()
      return { type: 'AuthenticationKerberosV5' }
    case 3:
      b.done()
      return { type: 'AuthenticationCleartextPassword' }
    case 5: {
      b.need(4)
      const salt = b.rest()
      if (salt.length !== 4) b.fail(`MD5 salt of ${salt.length} bytes`)
      return { type: 'AuthenticationMD5Password', salt }
    }
    case 7:
      b.done()
      return { type: 'AuthenticationGSS' }
    case 8:
      return { type: 'AuthenticationGSSContinue', data: b.rest() }
    case 9:
      b.done()
      return { type: 'AuthenticationSSPI' }
    case 10: {
      const mechanisms: string[] = []
      for (;;) {
        const m = b.cstr()
        if (m === '') break
        mechanisms.push(m)
      }
      b.done()
      return { type: 'AuthenticationSASL', mechanisms }
    }
    case 11:
      return { type: 'AuthenticationSASLContinue', data: b.rest() }
    case 12:
      return { type: 'AuthenticationSASLFinal', data: b.rest() }
    default:
      return b.fail(`unknown authentication request ${code}`)
  }
}

const FIELD_NAMES: Record<number, keyof NoticeFields> = {
  0x53: 'severity', // S
  0x56: 'severityNonLocalized', // V
  0x43: 'code', // C
  0x4d: 'message', // M
  0x44: 'detail', // D
  0x48: 'hint', // H
  0x50: 'position', // P
  0x70: 'internalPosition', // p
  0x71: 'internalQuery', // q
  0x57: 'where', // W
  0x73: 'schema', // s
  0x74: 'table', // t
  0x63: 'column', // c
  0x64: 'dataType', // d
  0x6e: 'constraint', // n
  0x46: 'file', // F
  0x4c: 'line', // L
  0x52: 'routine', // R
}

function noticeFields(b: Body): NoticeFields {
  const out: Record<string, string | number> = { severity: '', code: '', message: '' }
  for (;;) {
    const code = b.u8()
    if (code === 0) break
    const value = b.cstr()
    const name = FIELD_NAMES[code]
    // Unknown field types must be ignored: later servers may add some.
    if (name === undefined) continue
    if (name === 'position' || name === 'internalPosition' || name === 'line') {
      const n = Number(value)
      out[name] = Number.isFinite(n) ? n : value
    } else {
      out[name] = value
    }
  }
  b.done()
  return out as unknown as NoticeFields
}
