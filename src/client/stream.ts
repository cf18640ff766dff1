// Streaming a result through a portal: Execute with a row limit, Flush, and
// the server stops after that many rows with PortalSuspended. The next batch
// is asked for only when the consumer has room for it (one batch ahead), so
// memory stays flat however large the result. The portal lives until Sync,
// so the connection is held while the stream is open; breaking out of the
// loop closes the portal and syncs, leaving the connection usable.

import { Readable } from 'node:stream'
import { ProtocolError } from '../errors/base.js'
import { createDatabaseError } from '../errors.js'
import type { BackendMessage, TransactionStatus } from '../protocol/messages.js'
import type { Request } from '../session/session.js'
import type { TypeMap } from '../types/type-map.js'
import * as fe from '../protocol/frontend.js'
import { RowDecoder, type Field, type RowMode } from '../types/result.js'
import type { Wire } from '../session/wire.js'

interface Batch {
  rows: unknown[]
  /** The portal is exhausted (CommandComplete) or failed. */
  last: boolean
}

export interface StreamControl {
  /** Ask for up to n more rows from the portal (Execute + Flush). */
  more(n: number): void
  /** End the cycle: Sync (after Close of the portal when it is not exhausted). */
  finish(closePortal: boolean): void
}

/** A portal's batches over the connection's wire: Execute with a row limit and Flush; Close and Sync at the end. */
export class PortalControl implements StreamControl {
  constructor(private readonly wire: Wire) {}

  more(n: number): void {
    fe.execute(this.wire.writer, '', n)
    fe.flush(this.wire.writer)
    this.wire.scheduleFlush()
  }

  finish(closePortal: boolean): void {
    if (closePortal) fe.close(this.wire.writer, 'P', '')
    fe.sync(this.wire.writer)
    this.wire.scheduleFlush()
  }
}

export class StreamRequest implements Request {
  private plan: RowDecoder | undefined
  private rows: unknown[] = []
  private readonly batches: Batch[] = []
  private waiter: { resolve: (b: Batch) => void; reject: (e: Error) => void } | undefined
  private error: Error | undefined
  private ended = false
  fields: Field[] = []
  private closedWaiters: (() => void)[] = []

  constructor(
    readonly sql: string,
    private readonly types: TypeMap,
    private readonly mode: RowMode,
    private readonly control: StreamControl,
  ) {}

  private finished = false

  /** The error that ended the stream, if one did (for tracing). */
  get failure(): Error | undefined {
    return this.error
  }

  /** Ask for up to n more rows. */
  more(n: number): void {
    if (!this.finished) this.control.more(n)
  }

  /** Ends the cycle once: Sync, after closing the portal when it is not exhausted. */
  finish(closePortal: boolean): void {
    if (this.finished) return
    this.finished = true
    this.control.finish(closePortal)
  }

  handle(msg: BackendMessage): void {
    switch (msg.type) {
      case 'ParseComplete':
      case 'BindComplete':
      case 'CloseComplete':
        return
      case 'RowDescription':
        this.fields = msg.fields
        this.plan = new RowDecoder(msg.fields, this.types, this.mode === 'columns' ? 'object' : this.mode)
        return
      case 'NoData':
        return
      case 'DataRow':
        if (this.plan === undefined) throw new ProtocolError('DataRow without a row description', 'D')
        if (this.error === undefined) {
          try {
            this.rows.push(this.plan.decode(msg.buf, msg.offsets))
          } catch (err) {
            this.error = err as Error
          }
        }
        return
      case 'PortalSuspended':
        return this.deliver({ rows: this.take(), last: false })
      case 'CommandComplete':
      case 'EmptyQueryResponse':
        this.deliver({ rows: this.take(), last: true })
        this.finish(false)
        return
      case 'ErrorResponse':
        this.plan?.discard()
        this.error ??= createDatabaseError(msg.fields, this.sql)
        // The server now skips everything until Sync.
        this.finish(false)
        this.deliver({ rows: [], last: true })
        return
      default:
        throw new ProtocolError(`unexpected ${msg.type} while streaming`, msg.type)
    }
  }

  private take(): unknown[] {
    if (this.error === undefined) {
      try {
        this.plan?.flush()
      } catch (err) {
        this.error = err as Error
      }
    }
    const out = this.rows
    this.rows = []
    return out
  }

  private deliver(b: Batch): void {
    if (this.error !== undefined && this.waiter !== undefined) {
      const w = this.waiter
      this.waiter = undefined
      return w.reject(this.error)
    }
    if (this.waiter !== undefined) {
      const w = this.waiter
      this.waiter = undefined
      w.resolve(b)
    } else this.batches.push(b)
  }

  /** The next batch (rows in arrival order). */
  next(): Promise<Batch> {
    const b = this.batches.shift()
    if (b !== undefined) return Promise.resolve(b)
    if (this.error !== undefined) return Promise.reject(this.error)
    if (this.ended) return Promise.resolve({ rows: [], last: true })
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }))
  }

  /** Resolves when the cycle is over (ReadyForQuery or failure). */
  closed(): Promise<void> {
    if (this.ended) return Promise.resolve()
    return new Promise((r) => this.closedWaiters.push(r))
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
    if (this.waiter !== undefined) {
      const w = this.waiter
      this.waiter = undefined
      if (this.error !== undefined) w.reject(this.error)
      else w.resolve({ rows: [], last: true })
    }
    for (const r of this.closedWaiters.splice(0)) r()
  }

  get failed(): Error | undefined {
    return this.error
  }

  /** Ends the stream with `err` (its signal or timeout): the reader gets it now, the portal is closed. */
  abort(err: Error): void {
    // Synced already (exhausted, failed, or closed early): nothing to end.
    if (this.ended || this.finished) return
    this.error ??= err
    this.finish(true)
    this.deliver({ rows: [], last: true })
  }
}

/** What a RowStream needs from its connection. */
export interface StreamHost {
  /** Queues the stream behind earlier queries; resolves once its first Execute is written. */
  openStream(req: StreamRequest, params: readonly unknown[], batchSize: number): Promise<void>
}

export interface StreamOptions {
  /** Rows per Execute (default 1000). */
  batchSize?: number
  rowMode?: 'object' | 'array'
  types?: TypeMap
  /** Aborting ends the stream: it rejects with QueryCanceled whose `cause` is the abort reason. */
  signal?: AbortSignal
  /**
   * Milliseconds the whole stream may stay open before it is aborted as by
   * `signal` (default: none; the connection's queryTimeout does not apply).
   */
  timeout?: number
}

export class RowStream<R> implements AsyncIterable<R> {
  private req: StreamRequest | undefined
  private started = false

  constructor(
    private readonly host: StreamHost,
    private readonly makeRequest: () => StreamRequest,
    private readonly params: readonly unknown[],
    private readonly batchSize: number,
  ) {}

  /** Column descriptions, once the first batch has arrived. */
  get fields(): Field[] {
    return this.req?.fields ?? []
  }

  async *[Symbol.asyncIterator](): AsyncIterator<R> {
    if (this.started) throw new ProtocolError('a stream can be iterated only once')
    this.started = true
    const req = this.makeRequest()
    this.req = req
    await this.host.openStream(req, this.params, this.batchSize)
    let exhausted = false
    try {
      for (;;) {
        const batch = await req.next()
        // Ask for the next batch before handing these rows out: one batch ahead.
        if (!batch.last) req.more(this.batchSize)
        for (const row of batch.rows) yield row as R
        if (batch.last) {
          exhausted = true
          break
        }
      }
    } finally {
      if (!exhausted && req.failed === undefined) req.finish(true)
      await req.closed()
    }
    if (req.failed !== undefined) throw req.failed
  }

  /** A Node Readable in object mode, for stream.pipeline() users. */
  toReadable(): Readable {
    return Readable.from(this, { objectMode: true, highWaterMark: this.batchSize })
  }
}
