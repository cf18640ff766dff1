// node-postgres's submittables: objects with submit(connection) that drive
// pg's connection themselves (pg-cursor and pg-query-stream write
// Parse/Bind/Describe/Execute/Sync and are told each reply through
// handleRowDescription, handleDataRow, ...; pg-copy-streams' from() writes
// COPY data). A submittable gets pgline's connection to itself until its
// ReadyForQuery; ProtocolConnection stands in for pg's connection object, and
// SubmitRequest hands it the replies the way pg's client does.

import { EventEmitter } from 'node:events'
import { InterfaceError } from '../errors/base.js'
import { createDatabaseError } from '../errors.js'
import type { BackendMessage, TransactionStatus } from '../protocol/messages.js'
import * as fe from '../protocol/frontend.js'
import { Writer } from '../protocol/writer.js'
import type { Request } from '../session/session.js'
import type { Wire } from '../session/wire.js'
import { toPgError } from './errors.js'
import { fieldDef, type FieldDef } from './result.js'
import { prepareValue } from './values.js'

/** What node-postgres calls on a submitted query; each is optional here. */
interface Handlers {
  submit(connection: unknown): void
  handleRowDescription?(msg: unknown): void
  handleDataRow?(msg: unknown): void
  handleCommandComplete?(msg: unknown, connection: unknown): void
  handleEmptyQuery?(connection: unknown): void
  handlePortalSuspended?(connection: unknown): void
  handleError?(err: unknown, connection: unknown): void
  handleReadyForQuery?(connection: unknown): void
  handleCopyInResponse?(connection: unknown): void
  handleCopyData?(msg: unknown, connection: unknown): void
}

/** Where a submittable's writes go once the connection under it has ended. */
const NOWHERE: Wire = {
  writer: new Writer(0),
  flush: () => undefined,
  scheduleFlush() {
    // Nothing is ever sent: the bytes are dropped.
    NOWHERE.writer.pos = 0
  },
  drained: () => undefined,
  lost: () => undefined,
}

const notRunning = (what: string): InterfaceError =>
  new InterfaceError(`pgline/pg: client.connection.${what}() writes to the server only while a submittable (pg-cursor, pg-query-stream) runs on this client`)

const SOCKET_READERS = "pgline/pg: this submittable reads the server's bytes from the socket itself (pg-copy-streams' to() and both()), which pgline keeps to itself: use pgline's copyTo() and copyFrom()"

/**
 * The `stream` of pg's connection as pg-copy-streams' from() uses it: raw,
 * already framed bytes written to the socket, and 'drain'.
 */
class RawStream extends EventEmitter {
  constructor(private readonly wire: Wire) {
    super()
  }

  // pg-copy-streams' to() and both() take the socket's incoming bytes over; pgline's are its own.
  read(): never {
    throw new InterfaceError(SOCKET_READERS)
  }

  pause(): never {
    throw new InterfaceError(SOCKET_READERS)
  }

  write(chunk: Uint8Array): boolean {
    this.wire.writer.bytes(chunk)
    this.wire.scheduleFlush()
    const drained = this.wire.drained()
    if (drained === undefined) return true
    drained.then(
      () => this.emit('drain'),
      () => undefined,
    )
    return false
  }
}

/**
 * node-postgres's connection object, as far as submittables and ORMs use it:
 * an emitter of the messages of a running submittable (and parameterStatus),
 * and the writers pg-cursor and pg-copy-streams call.
 */
export class ProtocolConnection extends EventEmitter {
  private wire: Wire | undefined
  private raw: RawStream | undefined
  /** The connection ended under a submittable: what it writes now (pg-cursor's Sync after the error) goes nowhere, as on pg's closed socket. */
  private gone = false

  constructor(private readonly ending: () => void) {
    super()
  }

  /** @internal */
  attach(wire: Wire | undefined, gone = false): void {
    this.wire = wire
    this.raw = undefined
    this.gone = gone
  }

  private answering = false

  private out(what: string): Wire {
    if (this.wire !== undefined) return this.wire
    if (this.gone) {
      // What a submittable writes after its end (pg-cursor closing its portal
      // after an error) goes nowhere; what it then waits for, a
      // readyForQuery, comes at once, so its close() settles.
      if (!this.answering) {
        this.answering = true
        setImmediate(() => {
          this.answering = false
          this.emit('readyForQuery', { name: 'readyForQuery', length: 5, status: 'I' })
        })
      }
      return NOWHERE
    }
    throw notRunning(what)
  }

  /** For JSON.stringify: nothing of the connection's buffers. */
  toJSON(): object {
    return { running: this.wire !== undefined }
  }

  get stream(): RawStream {
    const wire = this.out('stream.write')
    this.raw ??= new RawStream(wire)
    return this.raw
  }

  parse(config: { text: string; name?: string; types?: readonly number[] }): void {
    const wire = this.out('parse')
    fe.parse(wire.writer, config.name ?? '', config.text, config.types ?? [])
    wire.scheduleFlush()
  }

  bind(config: { portal?: string; statement?: string; values?: readonly unknown[] | null; binary?: boolean; valueMapper?: (v: unknown, i: number) => unknown } = {}): void {
    const wire = this.out('bind')
    const given = config.values ?? []
    const values: (string | Buffer | null)[] = new Array(given.length)
    for (let i = 0; i < given.length; i++) {
      const v = config.valueMapper === undefined ? given[i] : config.valueMapper(given[i], i)
      values[i] = typeof v === 'string' || v === null ? v : prepareValue(v)
    }
    // As pg: a Buffer goes in binary, everything else as text.
    const formats = values.some(Buffer.isBuffer) ? values.map((v) => (Buffer.isBuffer(v) ? 1 : 0)) : []
    fe.bind(wire.writer, config.portal ?? '', config.statement ?? '', formats, values, [config.binary === true ? 1 : 0])
    wire.scheduleFlush()
  }

  describe(config: { type: 'P' | 'S'; name?: string }): void {
    const wire = this.out('describe')
    fe.describe(wire.writer, config.type, config.name ?? '')
    wire.scheduleFlush()
  }

  execute(config: { portal?: string; rows?: number } = {}): void {
    const wire = this.out('execute')
    fe.execute(wire.writer, config.portal ?? '', config.rows ?? 0)
    wire.scheduleFlush()
  }

  close(config: { type: 'P' | 'S'; name?: string }): void {
    const wire = this.out('close')
    fe.close(wire.writer, config.type, config.name ?? '')
    wire.scheduleFlush()
  }

  flush(): void {
    const wire = this.out('flush')
    fe.flush(wire.writer)
    wire.scheduleFlush()
  }

  sync(): void {
    const wire = this.out('sync')
    fe.sync(wire.writer)
    wire.scheduleFlush()
  }

  query(text: string): void {
    const wire = this.out('query')
    fe.query(wire.writer, text)
    wire.scheduleFlush()
  }

  sendCopyFromChunk(chunk: Uint8Array): void {
    const wire = this.out('sendCopyFromChunk')
    fe.copyData(wire.writer, chunk)
    wire.scheduleFlush()
  }

  endCopyFrom(): void {
    const wire = this.out('endCopyFrom')
    fe.copyDone(wire.writer)
    wire.scheduleFlush()
  }

  sendCopyFail(message: string): void {
    const wire = this.out('sendCopyFail')
    fe.copyFail(wire.writer, message)
    wire.scheduleFlush()
  }

  /** pg's connection.end(): ends the client (pg-cursor's deprecated end() calls it); 'end' follows. */
  end(): void {
    this.ending()
  }

  /** @internal The client ended: as pg's connection, say so. */
  ended(): void {
    this.emit('end')
  }
}

/** Runs one submittable: its replies go to its handlers, and to the connection's listeners as pg names them. */
export class SubmitRequest implements Request {
  private binary: boolean[] = []
  /** submit() threw: its error is reported once the Sync written in its stead is answered. */
  startError: Error | undefined
  private ended!: () => void
  /** Settles when the submittable has let the connection go (its ReadyForQuery, or the connection's end). */
  readonly done = new Promise<void>((resolve) => (this.ended = resolve))

  constructor(
    private readonly s: Handlers,
    private readonly con: ProtocolConnection,
    private readonly sql: string,
    /** Where an error goes when the submittable has no handleError (the client's 'error'). */
    private readonly unhandled: (err: unknown) => void,
  ) {}

  private report(err: unknown): void {
    this.errored = true
    if (typeof this.s.handleError === 'function') this.s.handleError(err, this.con)
    else this.unhandled(err)
  }

  /** Hands the connection to the submittable; called when its turn comes. */
  start(wire: Wire): void {
    this.con.attach(wire)
    try {
      this.s.submit(this.con)
    } catch (err) {
      // Nothing it wrote can be trusted to end in a ReadyForQuery: a Sync does.
      this.startError = new InterfaceError(
        `pgline/pg: ${this.s.constructor?.name ?? 'the submittable'} could not start on pgline's connection (${(err instanceof Error ? err.message : String(err)).split("\n", 1)[0]}). ` +
          "Submittables that read the socket themselves (pg-copy-streams' to() and both()) cannot run here: use pgline's copyTo() and copyFrom().",
      )
      fe.sync(wire.writer)
      wire.scheduleFlush()
    }
  }

  /** An error was reported: the submittable is done. */
  private errored = false

  handle(msg: BackendMessage): void {
    const s = this.s
    const con = this.con
    if (this.errored && msg.type !== 'ErrorResponse') return
    switch (msg.type) {
      case 'DataRow': {
        const { buf, offsets } = msg
        const n = offsets.length >> 1
        const fields: (string | Buffer | null)[] = new Array(n)
        for (let i = 0; i < n; i++) {
          const start = offsets[2 * i]!
          const end = offsets[2 * i + 1]!
          // Copied out: the message's bytes are reused once this returns.
          fields[i] = end === -1 ? null : this.binary[i] === true ? Buffer.from(buf.subarray(start, end)) : buf.toString('utf8', start, end)
        }
        const m = { name: 'dataRow', length: 0, fieldCount: n, fields }
        if (con.listenerCount('dataRow') > 0) con.emit('dataRow', m)
        return s.handleDataRow?.(m)
      }
      case 'RowDescription': {
        const fields: FieldDef[] = msg.fields.map(fieldDef)
        this.binary = fields.map((f) => f.format === 'binary')
        const m = { name: 'rowDescription', length: 0, fieldCount: fields.length, fields }
        con.emit('rowDescription', m)
        return s.handleRowDescription?.(m)
      }
      case 'CommandComplete': {
        const m = { name: 'commandComplete', length: 0, text: msg.tag }
        con.emit('commandComplete', m)
        return s.handleCommandComplete?.(m, con)
      }
      case 'PortalSuspended':
        con.emit('portalSuspended', { name: 'portalSuspended', length: 0 })
        return s.handlePortalSuspended?.(con)
      case 'EmptyQueryResponse':
        con.emit('emptyQuery', { name: 'emptyQuery', length: 0 })
        return s.handleEmptyQuery?.(con)
      case 'ErrorResponse': {
        const err = toPgError(createDatabaseError(msg.fields, this.sql))
        con.emit('errorMessage', err)
        // As node-postgres: the error ends the submittable's part; it hears
        // nothing more (no readyForQuery after it, no second error).
        if (this.errored) return
        this.errored = true
        return this.report(err)
      }
      case 'CopyInResponse':
        con.emit('copyInResponse', { name: 'copyInResponse', length: 0, binary: msg.format === 1, columnTypes: msg.columnFormats })
        return s.handleCopyInResponse?.(con)
      case 'CopyData': {
        const m = { name: 'copyData', length: 0, chunk: Buffer.from(msg.data) }
        con.emit('copyData', m)
        return s.handleCopyData?.(m, con)
      }
      case 'ParseComplete':
        return void con.emit('parseComplete', { name: 'parseComplete', length: 0 })
      case 'BindComplete':
        return void con.emit('bindComplete', { name: 'bindComplete', length: 0 })
      case 'CloseComplete':
        return void con.emit('closeComplete', { name: 'closeComplete', length: 0 })
      case 'NoData':
        return void con.emit('noData', { name: 'noData', length: 0 })
      case 'ParameterDescription':
        return void con.emit('parameterDescription', { name: 'parameterDescription', length: 0, parameterCount: msg.typeOids.length, dataTypeIDs: msg.typeOids })
      case 'CopyOutResponse':
      case 'CopyBothResponse':
        // Only a submittable reading the socket itself could take these rows; none can here.
        this.startError ??= new InterfaceError("pgline/pg: COPY TO through a submittable is not supported (pg-copy-streams' to() reads pg's socket); use pgline's copyTo()")
        return
      default:
        return
    }
  }

  complete(status: TransactionStatus): void {
    // After an error, what the submittable still writes (a portal's Close) goes nowhere.
    this.con.attach(undefined, this.errored)
    this.ended()
    this.con.emit('readyForQuery', { name: 'readyForQuery', length: 5, status })
    if (this.startError !== undefined) return this.report(this.startError)
    if (!this.errored) this.s.handleReadyForQuery?.(this.con)
  }

  /** It never got the connection (closed, or never connected): later queries need not wait for it. */
  refused(): void {
    this.ended()
  }

  fail(err: Error): void {
    this.con.attach(undefined, true)
    this.ended()
    if (!this.errored) {
      this.errored = true
      this.report(toPgError(err))
    }
  }
}
