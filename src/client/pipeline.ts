// Explicit pipelines: statements are written back to back with no Sync
// between them until sync() is called. The server runs each group of
// statements between two Syncs as one implicit transaction (unless a
// transaction block is open) and, after an error, skips the rest of the
// group: those statements reject with PipelineAborted.

import { InterfaceError, PipelineAborted } from '../errors/base.js'
import type { ColumnsResult, Result, Row } from '../types/result.js'
import type { QueryOptions } from '../session/query-options.js'
import { inspectCustom, summary, type InspectFn } from './inspect.js'
import type { PipelineGroupState } from '../session/ops/pipeline.js'
import type { Runner } from './runner.js'
import { toQuery, type SqlQuery } from './sql.js'
import { pipelineSyncChannel, tracePromise, transactionOf, type PipelineSyncTraceContext } from './diagnostics.js'

/** What a pipeline needs from its connection. */
export interface PipelineHost {
  /** Writes one statement into the open group (creating and enqueuing the group when needed); throws what it refuses at once. */
  pipelineStatement(sql: string, params: readonly unknown[], options: QueryOptions, resolve: (r: Result<unknown>) => void, reject: (err: Error) => void): void
  /** Writes Sync for the open group; resolves when its ReadyForQuery arrives. */
  pipelineSync(): Promise<void>
}

/** A pipeline's statements and Syncs as operations run for its token; the Sync group being written is kept here. */
export class PipelineLink implements PipelineHost {
  private group: PipelineGroupState | undefined
  /** Statements written into the open group, for tracing. */
  private statements = 0

  constructor(
    private readonly runner: Runner,
    private readonly token: object,
  ) {}

  pipelineStatement(sql: string, params: readonly unknown[], options: QueryOptions, resolve: (r: Result<unknown>) => void, reject: (err: Error) => void): void {
    // The group exists once a statement of it was admitted (a refused one leaves none to sync).
    const group = (): PipelineGroupState => (this.group ??= { request: undefined })
    this.runner.start(this.token, { kind: 'pipelined', sql, params, options, group }, resolve as (value: unknown) => void, reject)
    this.statements++
  }

  pipelineSync(): Promise<void> {
    const g = this.group
    const statements = this.statements
    this.group = undefined
    this.statements = 0
    if (g === undefined) return Promise.resolve()
    const run = (): Promise<void> => this.runner.run(this.token, { kind: 'sync', group: () => g }) as Promise<void>
    if (!pipelineSyncChannel.hasSubscribers) return run()
    const ctx: PipelineSyncTraceContext = { statements, connection: this.runner.traceInfo(), transaction: transactionOf(this.token) }
    return tracePromise(pipelineSyncChannel, ctx, run, () => {})
  }
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
  query<R extends unknown[] = unknown[]>(sql: SqlQuery, options: QueryOptions & { rowMode: 'array' }): Promise<Result<R>>
  query(sql: SqlQuery, options: QueryOptions & { rowMode: 'columns' }): Promise<ColumnsResult>
  query<R = Row>(sql: SqlQuery, options?: QueryOptions): Promise<Result<R>>
  query<R extends unknown[] = unknown[]>(sql: string | SqlQuery, params: readonly unknown[] | undefined, options: QueryOptions & { rowMode: 'array' }): Promise<Result<R>>
  query(sql: string | SqlQuery, params: readonly unknown[] | undefined, options: QueryOptions & { rowMode: 'columns' }): Promise<ColumnsResult>
  query<R = Row>(sql: string | SqlQuery, params?: readonly unknown[], options?: QueryOptions): Promise<Result<R>>
  query<R = Row>(sql: string | SqlQuery, params: readonly unknown[] | QueryOptions = [], options?: QueryOptions): Promise<Result<R>> {
    if (this.ended || this.finishing) return Promise.reject(new InterfaceError('the pipeline has ended'))
    if (typeof sql !== 'string') {
      try {
        ;({ text: sql, values: params, options } = toQuery(sql, params, options))
      } catch (err) {
        return Promise.reject(err)
      }
    }
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
          params as readonly unknown[],
          options ?? {},
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
