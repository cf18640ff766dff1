// Explicit pipelines: statements are written back to back with no Sync
// between them until sync() is called. The server runs each group of
// statements between two Syncs as one implicit transaction (unless a
// transaction block is open) and, after an error, skips the rest of the
// group: those statements reject with PipelineAborted.

import { InterfaceError, PipelineAborted, ProtocolError } from '../errors/base.js'
import type { BackendMessage, TransactionStatus } from '../protocol/messages.js'
import type { Request } from '../session/session.js'
import type { QueryRequest } from '../session/ops/query.js'
import type { ColumnsResult, Result, Row } from '../types/result.js'
import type { QueryOptions } from '../session/query-options.js'
import { inspectCustom, summary, type InspectFn } from './inspect.js'

/** The Sync group a pipelined statement belongs to; its request exists once the first statement is written. */
export interface PipelineGroupState {
  request: GroupRequest | undefined
}

/** The messages of one Sync group, handed statement by statement to their requests. */
export class GroupRequest implements Request {
  private readonly statements: QueryRequest[] = []
  private index = 0
  private abortedBy: Error | undefined
  synced = false
  /** Called after the group's ReadyForQuery was handled (the connection's queue). */
  onComplete: (() => void) | undefined
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = []

  /** Statements refused before sending, stood in for by a Bind the server refuses: the error to report. */
  private refusals: Map<QueryRequest, Error> | undefined

  /** A statement the client refused: `q` fails on the server, so the group aborts as for a server error, with `err` as the cause. */
  addRefused(q: QueryRequest, err: Error): void {
    ;(this.refusals ??= new Map()).set(q, err)
    this.add(q)
  }

  add(q: QueryRequest): void {
    this.statements.push(q)
    // After an error the server skips everything up to the Sync: say so now,
    // since a caller awaiting it before sync() would otherwise wait forever.
    if (this.abortedBy !== undefined) this.abortRest()
  }

  /** The statement the server is answering now. */
  get running(): QueryRequest | undefined {
    return this.statements[this.index]
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
        this.abortedBy = this.refusals?.get(q) ?? q.failure
        q.complete('E')
        this.abortRest()
        return
    }
  }

  /** Fails the statements the server will skip (or, at ReadyForQuery, never answered). */
  private abortRest(): void {
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
  }

  complete(_status: TransactionStatus): void {
    this.abortRest()
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
  /** Writes one statement into the open group (creating and enqueuing the group when needed); throws what it refuses at once. */
  pipelineStatement(sql: string, params: readonly unknown[], options: QueryOptions, resolve: (r: Result<unknown>) => void, reject: (err: Error) => void): void
  /** Writes Sync for the open group; resolves when its ReadyForQuery arrives. */
  pipelineSync(): Promise<void>
}

/**
 * A statement's promise that knows whether anyone has asked for its outcome
 * (then, catch, finally, await, Promise.all...): an error nobody is waiting
 * for is raised by sync() instead of vanishing. Being a subclass, `await`
 * goes through `then` too; derived promises are plain ones.
 */
class StatementPromise<T> extends Promise<T> {
  observed = false
  static override get [Symbol.species](): PromiseConstructor {
    return Promise
  }
  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.observed = true
    return super.then(onFulfilled, onRejected)
  }
}

interface Statement {
  promise: StatementPromise<unknown> | undefined
  failure: Error | undefined
}

function noop(): void {}

export class Pipeline {
  private ended = false
  private finishing = false
  /** Statements not settled yet, and who waits for them to be (finish()). */
  private outstanding = 0
  private allSettled: (() => void) | undefined
  private count = 0
  /** Statements since the last sync(), to find an error nobody observed. */
  private group: Statement[] = []
  /** An error a sync() raised that nobody awaited: the pipeline rejects with it. */
  private lost: Error | undefined

  constructor(private readonly host: PipelineHost) {}

  [inspectCustom](depth: number, options: object, inspect: InspectFn): string {
    return summary('Pipeline', depth, options, inspect, { ended: this.ended, statements: this.count })
  }

  /** Queues one statement; its promise settles when its own result arrives. */
  query<R extends unknown[] = unknown[]>(sql: string, params: readonly unknown[] | undefined, options: QueryOptions & { rowMode: 'array' }): Promise<Result<R>>
  query(sql: string, params: readonly unknown[] | undefined, options: QueryOptions & { rowMode: 'columns' }): Promise<ColumnsResult>
  query<R = Row>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<Result<R>>
  query<R = Row>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<Result<R>> {
    if (this.ended || this.finishing) return Promise.reject(new InterfaceError('the pipeline has ended'))
    const statement: Statement = { promise: undefined, failure: undefined }
    this.outstanding++
    this.count++
    const promise = new StatementPromise<Result<R>>((resolve, reject) => {
      const fail = (err: Error): void => {
        statement.failure = err
        this.settled()
        // Not through rejectionWithCallerFrames: awaiting this subclass goes
        // through its own then(), where V8 loses the awaiting functions.
        reject(err)
        // Handled as far as Node is concerned (the pipeline reports it if the
        // caller never looks); whether the caller did is `observed`.
        if (statement.promise !== undefined) Promise.prototype.then.call(statement.promise, undefined, noop)
      }
      try {
        this.host.pipelineStatement(
          sql,
          params,
          options,
          (r) => {
            this.settled()
            resolve(r as Result<R>)
          },
          fail,
        )
      } catch (err) {
        fail(err as Error)
      }
    })
    statement.promise = promise as StatementPromise<unknown>
    if (statement.failure !== undefined) Promise.prototype.then.call(promise, undefined, noop)
    this.group.push(statement)
    return promise
  }

  private settled(): void {
    if (--this.outstanding === 0 && this.allSettled !== undefined) {
      const wake = this.allSettled
      this.allSettled = undefined
      wake()
    }
  }

  /** Runs one statement per row of parameters in this pipeline; resolves with the total row count. */
  async executeMany(sql: string, rows: readonly (readonly unknown[])[]): Promise<number> {
    const results = rows.map((params) => this.query(sql, params))
    let total = 0
    for (const r of await Promise.all(results)) total += r.rowCount ?? 0
    return total
  }

  /**
   * Ends the current group with a Sync: errors stop at this point. Rejects
   * with the group's first error if nobody is waiting on that statement.
   */
  sync(): Promise<void> {
    if (this.ended || this.finishing) return Promise.reject(new InterfaceError('the pipeline has ended'))
    const inner = this.syncGroup()
    const promise = new StatementPromise<void>((resolve, reject) => inner.then(resolve, reject))
    // A sync() nobody awaits (`void p.sync()`) hands its error to the pipeline's end.
    Promise.prototype.then.call(promise, undefined, (err: Error) => {
      if (!promise.observed) this.lost ??= err
    })
    return promise
  }

  private async syncGroup(): Promise<void> {
    const group = this.group
    this.group = []
    // Every statement of the group has settled once its ReadyForQuery is in.
    await this.host.pipelineSync()
    const lost = group.find((s) => s.failure !== undefined && !(s.failure instanceof PipelineAborted) && !s.promise!.observed)
    if (lost !== undefined) throw lost.failure
  }

  /** @internal Syncs what is left and waits for every statement to settle. */
  async finish(): Promise<void> {
    if (this.ended || this.finishing) return
    // From here on nothing joins: a statement after the last Sync would have none.
    this.finishing = true
    try {
      await this.syncGroup()
    } finally {
      this.ended = true
      if (this.outstanding > 0) await new Promise<void>((resolve) => (this.allSettled = resolve))
    }
    if (this.lost !== undefined) throw this.lost
  }
}
