// COPY I/O. COPY FROM STDIN: the server answers the Query with
// CopyInResponse, we send CopyData until CopyDone (or CopyFail), and
// CommandComplete tells the row count. COPY TO STDOUT: CopyOutResponse,
// one CopyData per row, CopyDone, CommandComplete. The connection is held
// for the whole exchange: any other message would end the copy.

import { Readable, Writable } from 'node:stream'
import { InterfaceError, ParameterError } from '../errors/base.js'
import { createDatabaseError } from '../errors.js'
import type { BackendMessage, TransactionStatus } from '../protocol/messages.js'
import type { Request } from '../session/session.js'
import type { Decoder } from '../types/codec.js'
import { isWellFormed, LONE_SURROGATE, valueType } from '../types/param.js'
import type { TypeMap } from '../types/type-map.js'
import { MULTIRANGE_RANGE } from '../types/copy-binary-more.js'
import * as fe from '../protocol/frontend.js'
import { inspectCustom, summary, type InspectFn } from './inspect.js'
import type { Wire } from '../session/wire.js'
import {
  BinaryRowReader,
  binaryHeader,
  binaryTrailer,
  checkRowLength,
  CsvParser,
  csvLine,
  parseTextLine,
  textLine,
  type CopyFormatOptions,
} from './copy-format.js'

interface CopyInfo {
  format: 0 | 1
  columns: number
}

/** Collects the server's side of COPY FROM STDIN. */
export class CopyInRequest implements Request {
  private info: CopyInfo | undefined
  private error: Error | undefined
  private count = 0
  private notCopyIn = false
  private readyWaiters: { resolve: (i: CopyInfo) => void; reject: (e: Error) => void }[] = []
  private doneWaiters: { resolve: (n: number) => void; reject: (e: Error) => void }[] = []
  private finished = false

  constructor(readonly sql: string) {}

  handle(msg: BackendMessage): void {
    switch (msg.type) {
      case 'CopyInResponse':
        this.info = { format: msg.format, columns: msg.columnFormats.length }
        for (const w of this.readyWaiters.splice(0)) w.resolve(this.info)
        return
      case 'ErrorResponse':
        this.error ??= createDatabaseError(msg.fields, this.sql)
        for (const w of this.readyWaiters.splice(0)) w.reject(this.error)
        return
      case 'CommandComplete': {
        const n = Number(msg.tag.split(' ')[1])
        this.count = Number.isInteger(n) ? n : 0
        if (!msg.tag.startsWith('COPY')) this.notCopyIn = true
        return
      }
      default:
        // Rows or a COPY TO: the statement was not COPY FROM STDIN.
        this.notCopyIn = true
    }
  }

  /** Fails at once if the server already refused the copy. */
  get failure(): Error | undefined {
    return this.error
  }

  /** CopyDone was sent: the outcome is the server's to tell from now on. */
  doneSent = false

  /** Its ReadyForQuery arrived (or the connection failed): nothing more may be written for it. */
  get settled(): boolean {
    return this.finished
  }

  /** Ends the COPY with `err` (its signal or timeout); the caller sends CopyFail. */
  abort(err: Error): void {
    if (this.finished || this.doneSent) return
    this.error ??= err
    for (const w of this.readyWaiters.splice(0)) w.reject(err)
  }

  ready(): Promise<CopyInfo> {
    if (this.info) return Promise.resolve(this.info)
    if (this.error) return Promise.reject(this.error)
    if (this.finished) return Promise.reject(this.notCopyError())
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }))
  }

  done(): Promise<number> {
    if (this.finished) return this.error ? Promise.reject(this.error) : Promise.resolve(this.count)
    return new Promise((resolve, reject) => this.doneWaiters.push({ resolve, reject }))
  }

  private notCopyError(): InterfaceError {
    return new InterfaceError('copyFrom() needs a COPY ... FROM STDIN statement')
  }

  complete(_status: TransactionStatus): void {
    this.finish(this.error ?? (this.notCopyIn || this.info === undefined ? this.notCopyError() : undefined))
  }

  fail(err: Error): void {
    this.error ??= err
    this.finish(this.error)
  }

  private finish(err: Error | undefined): void {
    this.finished = true
    if (err !== undefined) this.error = err
    for (const w of this.readyWaiters.splice(0)) w.reject(err ?? this.notCopyError())
    for (const w of this.doneWaiters.splice(0)) (err ? w.reject(err) : w.resolve(this.count))
  }
}

/** What COPY needs from its connection. */
export interface CopyHost {
  /** Appends a CopyData message; resolves when the socket can take more. */
  sendData(data: Buffer | string): Promise<void>
  sendDone(): void
  sendFail(reason: string): void
}

/** COPY FROM STDIN's messages over the connection's wire; nothing is written for a COPY that has ended. */
export class CopyInWire implements CopyHost {
  constructor(
    private readonly wire: Wire,
    private readonly req: CopyInRequest,
  ) {}

  async sendData(data: Buffer | string): Promise<void> {
    const lost = this.wire.lost()
    if (lost !== undefined) throw lost
    if (this.req.settled) throw this.req.failure ?? new InterfaceError('the COPY has ended')
    fe.copyData(this.wire.writer, data)
    if (this.wire.writer.length >= 256 * 1024) this.wire.flush()
    else this.wire.scheduleFlush()
    await this.wire.drained()
  }

  sendDone(): void {
    if (this.req.settled) return
    this.req.doneSent = true
    fe.copyDone(this.wire.writer)
    this.wire.flush()
  }

  sendFail(reason: string): void {
    // Late (the COPY already ended): it would hit whatever runs next.
    if (this.req.settled || this.req.doneSent) return
    fe.copyFail(this.wire.writer, reason)
    this.wire.flush()
  }
}

export interface RowEncoder {
  /** Encodes one value of column i to its text form (text and csv COPY). */
  text(value: unknown, column: number): string
  /** Encodes one value of column i to binary, or throws when the type has no binary encoder. */
  binary(value: unknown, column: number): Buffer
}

const CHUNK = 64 * 1024

/** The encoders know the column, not the row: the row goes in front ('row 7, column 2: ...'). */
function inRow(err: ParameterError, row: number): ParameterError {
  return new ParameterError(`row ${row}, ${err.message}`, {
    index: err.index,
    valueType: err.valueType,
    ...(err.typeOid === undefined ? {} : { typeOid: err.typeOid }),
    row,
    cause: err,
  })
}

/** The writer side of COPY FROM STDIN. */
export class CopyIn {
  private ended = false
  /** writeRow() calls so far, refused ones included: the row number in errors. */
  private rowsGiven = 0
  /** The one end(): a second call (say, after writable() ended the COPY) gets the same count. */
  private ending: Promise<number> | undefined
  private parts: (Buffer | string)[] = []
  private partsLength = 0
  private headerSent = false

  constructor(
    private readonly host: CopyHost,
    private readonly req: CopyInRequest,
    private readonly info: CopyInfo,
    private readonly format: CopyFormatOptions,
    private readonly encoder: RowEncoder,
  ) {}

  [inspectCustom](depth: number, options: object, inspect: InspectFn): string {
    return summary('CopyIn', depth, options, inspect, { format: this.format.format, columns: this.info.columns, ended: this.ended })
  }

  /** Number of columns the server expects per row. */
  get columns(): number {
    return this.info.columns
  }

  private check(): void {
    if (this.ended) throw new InterfaceError('the COPY has ended')
    const err = this.req.failure
    if (err !== undefined) throw err
  }

  /** Sends raw data in the COPY's own format (bytes or text). */
  async write(data: Buffer | Uint8Array | string): Promise<void> {
    this.check()
    if (typeof data === 'string' && !isWellFormed(data)) throw new InterfaceError(`COPY data: the string contains ${LONE_SURROGATE}`)
    await this.flushRows()
    await this.host.sendData(typeof data === 'string' ? data : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length))
  }

  /** Encodes one row with the type map and sends it (gathered into larger messages). */
  async writeRow(values: readonly unknown[]): Promise<void> {
    this.check()
    checkRowLength(values, this.info.columns)
    // Counted before encoding: a refused row keeps its number, so errors match the caller's own count.
    const row = ++this.rowsGiven
    try {
      if (this.format.format === 'binary') this.addBinaryRow(values)
      else this.addTextRow(values, row)
    } catch (err) {
      throw err instanceof ParameterError && err.row === undefined ? inRow(err, row) : err
    }
    if (this.partsLength >= CHUNK) await this.flushRows()
  }

  private addTextRow(values: readonly unknown[], row: number): void {
    const texts = new Array<string | null>(values.length)
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      const t = v === null || v === undefined ? null : this.encoder.text(v, i)
      // Once per value, on what the encoder made of it: the line is written as UTF-8.
      if (t !== null && !isWellFormed(t)) {
        const what = typeof v === 'string' ? 'the string' : 'its text form'
        throw new ParameterError(`row ${row}, column ${i + 1}: ${what} contains ${LONE_SURROGATE}`, { index: i, valueType: valueType(v), row })
      }
      texts[i] = t
    }
    const line = this.format.format === 'csv' ? csvLine(texts, this.format.delimiter) : textLine(texts, this.format.delimiter)
    this.parts.push(line)
    this.partsLength += line.length
  }

  private addBinaryRow(values: readonly unknown[]): void {
    if (!this.headerSent) {
      this.headerSent = true
      this.parts.push(binaryHeader())
      this.partsLength += 19
    }
    const fields: Buffer[] = new Array(values.length)
    let size = 2
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      if (v === null || v === undefined) {
        size += 4
        continue
      }
      const b = this.encoder.binary(v, i)
      fields[i] = b
      size += 4 + b.length
    }
    const row = Buffer.allocUnsafe(size)
    row.writeInt16BE(values.length, 0)
    let pos = 2
    for (let i = 0; i < values.length; i++) {
      const b = fields[i]
      if (b === undefined) {
        row.writeInt32BE(-1, pos)
        pos += 4
      } else {
        row.writeInt32BE(b.length, pos)
        b.copy(row, pos + 4)
        pos += 4 + b.length
      }
    }
    this.parts.push(row)
    this.partsLength += size
  }

  private async flushRows(): Promise<void> {
    if (this.parts.length === 0) return
    const parts = this.parts
    this.parts = []
    this.partsLength = 0
    const data = parts.every((p) => typeof p === 'string')
      ? (parts as string[]).join('')
      : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)))
    await this.host.sendData(data)
  }

  /**
   * Finishes the COPY; resolves with the number of rows the server stored.
   * Once the COPY is ended (by end() or by writable() finishing), calling
   * it again gives the same count.
   */
  end(): Promise<number> {
    return (this.ending ??= this.finish())
  }

  private async finish(): Promise<number> {
    this.check()
    await this.flushRows()
    if (this.format.format === 'binary' && this.headerSent) await this.host.sendData(binaryTrailer())
    this.ended = true
    this.host.sendDone()
    return this.req.done()
  }

  /** Abandons the COPY (CopyFail): nothing of it is stored. */
  async abort(reason = 'aborted by the client'): Promise<void> {
    if (this.ended) return
    this.ended = true
    this.parts = []
    this.host.sendFail(reason)
    await this.req.done().then(
      () => undefined,
      (err: Error & { code?: string }) => {
        // The server's answer to CopyFail is the expected error; anything else is news.
        if (err.code !== '57014') throw err
      },
    )
  }

  /** Pumps a source: a Readable or (async) iterable of chunks (Buffer/string) or rows (arrays). */
  async from(source: AsyncIterable<unknown> | Iterable<unknown>): Promise<number> {
    try {
      for await (const item of source as AsyncIterable<unknown>) {
        if (Array.isArray(item)) await this.writeRow(item)
        else if (typeof item === 'string' || item instanceof Uint8Array) await this.write(item)
        else throw new InterfaceError(`a COPY source must give Buffers, strings or row arrays, got ${item === null ? 'null' : typeof item}`)
      }
    } catch (err) {
      if (source instanceof Readable) source.destroy()
      // The server's own error (a bad row) explains more than the write that ran into it.
      const serverError = this.req.failure
      if (serverError !== undefined) {
        await this.req.done().catch(() => undefined)
        throw serverError
      }
      await this.abort(`source failed: ${(err as Error).message ?? String(err)}`).catch(() => undefined)
      throw err
    }
    return this.end()
  }

  /** A Writable for stream.pipeline(): chunks are raw COPY data; ending it ends the COPY. */
  writable(): Writable {
    return new Writable({
      write: (chunk: Buffer | string, _enc, cb) => {
        this.write(chunk).then(() => cb(), cb)
      },
      final: (cb) => {
        this.end().then(() => cb(), cb)
      },
      destroy: (err, cb) => {
        if (err && !this.ended) this.abort(err.message).then(() => cb(err), () => cb(err))
        else cb(err)
      },
    })
  }
}

// ---------------------------------------------------------------------------
// COPY TO STDOUT

export interface CopyOutHost {
  /** Stops reading the socket (backpressure from a slow consumer). */
  pause(): void
  resume(): void
  /** Asks the server to stop the COPY (a cancel), for a consumer that broke out early. */
  cancel(req: CopyOutRequest): void
  /** Ends a COPY FROM STDIN this request cannot feed (CopyFail). */
  refuseCopyIn(): void
}

const HIGH_WATER = 1024 * 1024

export class CopyOutRequest implements Request {
  private readonly chunks: Buffer[] = []
  private buffered = 0
  private waiter: (() => void) | undefined
  private error: Error | undefined
  private ended = false
  private paused = false
  count = 0
  format: 0 | 1 = 0
  canceled = false
  /** Ended by its signal or timeout. */
  private aborted = false
  private notCopyOut = false
  private endWaiters: (() => void)[] = []

  constructor(
    readonly sql: string,
    private readonly host: CopyOutHost,
  ) {}

  handle(msg: BackendMessage): void {
    switch (msg.type) {
      case 'CopyOutResponse':
        this.format = msg.format
        return
      case 'CopyData':
        if (this.canceled) return
        this.chunks.push(msg.data)
        this.buffered += msg.data.length
        if (this.buffered > HIGH_WATER && !this.paused) {
          this.paused = true
          this.host.pause()
        }
        return this.wake()
      case 'CopyDone':
        return
      case 'CommandComplete': {
        const n = Number(msg.tag.split(' ')[1])
        this.count = Number.isInteger(n) ? n : 0
        if (!msg.tag.startsWith('COPY')) this.notCopyOut = true
        return
      }
      case 'ErrorResponse':
        this.error ??= createDatabaseError(msg.fields, this.sql)
        return
      case 'CopyInResponse':
        // Refuse to feed a COPY FROM through copyTo(): end it, or the server waits for data.
        this.error ??= new InterfaceError('copyTo() needs a COPY ... TO STDOUT statement')
        this.host.refuseCopyIn()
        return
      default:
        this.notCopyOut = true
    }
  }

  private wake(): void {
    const w = this.waiter
    this.waiter = undefined
    w?.()
  }

  /**
   * The next chunk, or null at the end. With `join`, every chunk already
   * queued comes as one Buffer: the server sends a message per row, and a
   * loop step per row is what made raw COPY TO slow.
   */
  async next(join = false): Promise<Buffer | null> {
    for (;;) {
      if (this.aborted) throw this.error!
      if (this.chunks.length > 0) {
        const c = join && this.chunks.length > 1 ? Buffer.concat(this.chunks.splice(0)) : this.chunks.shift()!
        this.buffered -= c.length
        if (this.paused && this.buffered < HIGH_WATER / 2) {
          this.paused = false
          this.host.resume()
        }
        return c
      }
      if (this.ended) {
        const err = this.finalError()
        if (err) throw err
        return null
      }
      await new Promise<void>((r) => (this.waiter = r))
    }
  }

  /** Ends the COPY with `err` (its signal or timeout): what is queued is dropped, the reader gets `err`. */
  abort(err: Error): void {
    if (this.ended || this.aborted) return
    this.aborted = true
    this.error ??= err
    this.stop()
    this.wake()
  }

  /** What ended the COPY, once it has: undefined when it ended well (or was stopped early on purpose). */
  get failure(): Error | undefined {
    return this.finalError()
  }

  private finalError(): Error | undefined {
    if (this.aborted) return this.error
    if (this.error && !(this.canceled && (this.error as { code?: string }).code === '57014')) return this.error
    if (this.notCopyOut && !this.error) return new InterfaceError('copyTo() needs a COPY ... TO STDOUT statement')
    return undefined
  }

  /** Stop early: discard what is left and cancel the COPY on the server. */
  stop(): void {
    if (this.ended || this.canceled) return
    this.canceled = true
    this.chunks.length = 0
    this.buffered = 0
    if (this.paused) {
      this.paused = false
      this.host.resume()
    }
    this.host.cancel(this)
  }

  whenEnded(): Promise<void> {
    if (this.ended) return Promise.resolve()
    return new Promise((r) => this.endWaiters.push(r))
  }

  complete(_status: TransactionStatus): void {
    this.end()
  }

  fail(err: Error): void {
    this.error ??= err
    this.end()
  }

  private end(): void {
    this.ended = true
    if (this.paused) {
      this.paused = false
      this.host.resume()
    }
    this.wake()
    for (const r of this.endWaiters.splice(0)) r()
  }
}

export interface CopyOutStarter {
  /** Queues the COPY TO statement; resolves once it is written. */
  start(req: CopyOutRequest): Promise<void>
  /** Column decoders for rows(), described from the statement or the types given. */
  decoders(format: 0 | 1): Promise<Decoder[] | undefined>
}

/** COPY TO STDOUT: iterate raw chunks, or rows() for decoded rows. */
export class CopyOut implements AsyncIterable<Buffer> {
  private used = false
  private req: CopyOutRequest | undefined

  constructor(
    private readonly sql: string,
    private readonly starter: CopyOutStarter,
    private readonly host: CopyOutHost,
    private readonly format: CopyFormatOptions,
  ) {}

  // The SQL stays out: it may hold literals.
  [inspectCustom](depth: number, options: object, inspect: InspectFn): string {
    return summary('CopyOut', depth, options, inspect, { format: this.format.format, started: this.used, rowCount: this.rowCount })
  }

  /** Rows reported by the server once the COPY has finished. */
  get rowCount(): number | undefined {
    return this.req?.count
  }

  /** Raw data in chunks as large as what has arrived (several rows per chunk). */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this.chunks(true)
  }

  /** One chunk per CopyData message (one row each): what rows() parses. */
  private async *chunks(join: boolean): AsyncGenerator<Buffer> {
    if (this.used) throw new InterfaceError('a COPY TO result can be read only once')
    this.used = true
    const req = new CopyOutRequest(this.sql, this.host)
    this.req = req
    await this.starter.start(req)
    let finished = false
    try {
      for (let c = await req.next(join); c !== null; c = await req.next(join)) yield c
      finished = true
    } finally {
      if (!finished) {
        req.stop()
        await req.whenEnded()
      }
    }
  }

  /** Decoded rows (arrays of values), using the column types of the statement. */
  async *rows(): AsyncGenerator<unknown[]> {
    const decoders = await this.starter.decoders(this.format.format === 'binary' ? 1 : 0)
    if (this.format.format === 'binary') {
      const reader = new BinaryRowReader(decoders)
      for await (const chunk of this.chunks(false)) {
        const row = reader.read(chunk)
        if (row !== null) yield row
      }
      return
    }
    const decode = (raw: (string | null)[]): unknown[] =>
      raw.map((v, i) => {
        if (v === null) return null
        const d = decoders?.[i]
        if (d === undefined) return v
        const b = Buffer.from(v)
        return d(b, 0, b.length)
      })
    if (this.format.format === 'csv') {
      const parser = new CsvParser(this.format.delimiter)
      for await (const chunk of this) for (const raw of parser.push(chunk.toString('utf8'))) yield decode(raw)
      for (const raw of parser.end()) yield decode(raw)
      return
    }
    for await (const chunk of this) {
      const text = chunk.toString('utf8')
      // The server sends one row per message in text format; split defensively anyway.
      for (const line of text.split('\n')) {
        if (line === '') continue
        yield decode(parseTextLine(line, this.format.delimiter))
      }
    }
  }

  /** A Readable of raw chunks for stream.pipeline() users. */
  readable(): Readable {
    return Readable.from(this)
  }
}

/** Encodes row values to text with the type map's untyped encoder (arrays, bytea, JSON...). */
export function textRowEncoder(
  types: TypeMap,
  binary: ((value: unknown, column: number) => Buffer) | undefined,
  oids?: readonly number[],
): RowEncoder {
  // Text-format encoders of the column types, where known; binary ones cannot serve text COPY.
  const typed = oids?.map((oid) => {
    const e = types.encoder(oid)
    return e !== undefined && e.format === 0 ? e : undefined
  })
  return {
    text(value, column) {
      const enc = typed?.[column]
      if (enc !== undefined) return enc.encode(value, column) as string
      if (typeof value === 'string') return value
      // A multirange's text form lists its ranges unquoted, unlike an array's elements.
      if (Array.isArray(value) && oids !== undefined && MULTIRANGE_RANGE.has(oids[column]!)) {
        return '{' + value.map((r) => String(types.encode(r, column).value)).join(',') + '}'
      }
      const p = types.encode(value, column)
      if (p.value === null) return '' // not reached: nulls are handled by the caller
      if (typeof p.value === 'string') return p.value
      // Bytes (bytea) in the text form the server reads back.
      return '\\x' + p.value.toString('hex')
    },
    binary(value, column) {
      if (binary === undefined) {
        throw new ParameterError(`column ${column + 1}: binary COPY needs the column types (pass { types } or use a table name the driver can describe)`, {
          index: column,
          valueType: typeof value,
        })
      }
      return binary(value, column)
    },
  }
}

