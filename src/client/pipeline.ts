// Explicit pipelines: statements are written back to back with no Sync
// between them until sync() is called. The server runs each group of
// statements between two Syncs as one implicit transaction (unless a
// transaction block is open) and, after an error, skips the rest of the
// group: those statements reject with PipelineAborted.

import { InterfaceError, PipelineAborted, ProtocolError } from '../errors/base.js'
import type { BackendMessage, TransactionStatus } from '../protocol/messages.js'
import type { Request } from '../session/session.js'
import type { QueryRequest } from './query.js'
import type { Result, Row } from './result.js'
import type { QueryOptions } from './connection.js'

/** The messages of one Sync group, handed statement by statement to their requests. */
export class GroupRequest implements Request {
  private readonly statements: QueryRequest[] = []
  private index = 0
  private abortedBy: Error | undefined
  synced = false
  /** Called after the group's ReadyForQuery was handled (the connection's queue). */
  onComplete: (() => void) | undefined
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = []

  add(q: QueryRequest): void {
    this.statements.push(q)
  }

  get size(): number {
    return this.statements.length
  }

  /** Resolves when this group's ReadyForQuery arrives. */
  done(): Promise<void> {
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }))
  }

  handle(msg: BackendMessage): void {
    const q = this.statements[this.index]
    if (q === undefined) {
      if (msg.type === 'CloseComplete') return
      throw new ProtocolError(`unexpected ${msg.type} after the last pipelined statement`, msg.type)
    }
    q.handle(msg)
    switch (msg.type) {
      case 'CommandComplete':
      case 'EmptyQueryResponse':
      case 'PortalSuspended':
        this.index++
        q.complete('T')
        return
      case 'ErrorResponse':
        this.index++
        this.abortedBy = q.failure
        q.complete('E')
        return
    }
  }

  complete(_status: TransactionStatus): void {
    const rest = this.statements.slice(this.index)
    this.index = this.statements.length
    for (const q of rest) {
      q.abandoned()
      q.fail(
        this.abortedBy
          ? new PipelineAborted(`not run: an earlier statement in the pipeline failed (${this.abortedBy.message})`, { cause: this.abortedBy })
          : new ProtocolError('the pipeline ended before this statement was answered'),
      )
    }
    for (const w of this.waiters.splice(0)) w.resolve()
    this.onComplete?.()
  }

  fail(err: Error): void {
    const rest = this.statements.slice(this.index)
    this.index = this.statements.length
    for (const q of rest) q.fail(err)
    for (const w of this.waiters.splice(0)) w.reject(err)
  }
}

/** What a pipeline needs from its connection. */
export interface PipelineHost {
  /** Writes one statement into the open group (creating and enqueuing the group when needed). */
  pipelineStatement(sql: string, params: readonly unknown[], options: QueryOptions): Promise<Result<unknown>[]>
  /** Writes Sync for the open group; resolves when its ReadyForQuery arrives. */
  pipelineSync(): Promise<void>
}

export class Pipeline {
  private ended = false
  private readonly pending: Promise<unknown>[] = []

  constructor(private readonly host: PipelineHost) {}

  /** Queues one statement; its promise settles when its own result arrives. */
  query<R = Row>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<Result<R>> {
    if (this.ended) return Promise.reject(new InterfaceError('the pipeline has ended'))
    const p = this.host.pipelineStatement(sql, params, options).then((r) => r[0] as Result<R>)
    // Rejections are the caller's to handle; the pipeline only waits for settling.
    this.pending.push(p.catch(() => undefined))
    return p
  }

  /** Runs one statement per row of parameters in this pipeline; resolves with the total row count. */
  async executeMany(sql: string, rows: readonly (readonly unknown[])[]): Promise<number> {
    const results = rows.map((params) => this.query(sql, params))
    let total = 0
    for (const r of await Promise.all(results)) total += r.rowCount ?? 0
    return total
  }

  /** Ends the current group with a Sync: errors stop at this point. */
  sync(): Promise<void> {
    if (this.ended) return Promise.reject(new InterfaceError('the pipeline has ended'))
    return this.host.pipelineSync()
  }

  /** @internal Syncs what is left and waits for every statement to settle. */
  async finish(): Promise<void> {
    if (this.ended) return
    await this.host.pipelineSync()
    this.ended = true
    await Promise.all(this.pending)
  }
}
