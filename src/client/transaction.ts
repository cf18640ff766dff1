// Transactions as callbacks: BEGIN, the callback, COMMIT; ROLLBACK when it
// throws. Nested calls become savepoints. While a callback runs, its handle
// owns the connection, so a query through the outer connection (which would
// land inside this transaction by accident) is refused.

import { traceParents, tracePromise, transactionChannel, transactionOf, type ConnectionTraceInfo, type TransactionTraceContext } from './diagnostics.js'
import { InterfaceError } from '../errors.js'
import { retryDelay, type RetryOptions } from './retry.js'
import type { Pipeline } from './pipeline.js'
import { Cursor, ServerCursor, type ServerCursorOptions } from './cursor.js'
import type { CopyIn, CopyOut } from './copy.js'
import type { CopyOptions } from './copy-setup.js'
import type { RowStream, StreamOptions } from './stream.js'
import type { ColumnsResult, Result, Row } from '../types/result.js'
import type { QueryOptions } from '../session/query-options.js'
import { simpleText, toQuery, type SqlQuery } from './sql.js'
import { inspectCustom, summary, type InspectFn } from './inspect.js'

export type IsolationLevel = 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable'

export type { RetryOptions }

export interface TransactionOptions {
  isolation?: IsolationLevel
  readOnly?: boolean
  deferrable?: boolean
  /** Run the callback again after a serialization failure or a deadlock (top-level transactions only). */
  retry?: RetryOptions
}

/** What a transaction needs from its connection. */
export interface TransactionHost {
  runQuery<R>(token: object | undefined, sql: string, params: readonly unknown[], options?: QueryOptions): Promise<Result<R>>
  runSimple<R>(token: object | undefined, sql: string, options?: QueryOptions): Promise<Result<R>[]>
  streamFor<R>(parent: object | undefined, sql: string, params?: readonly unknown[], options?: StreamOptions): RowStream<R>
  copyFromFor(parent: object | undefined, sql: string, a?: CopyOptions | AsyncIterable<unknown> | Iterable<unknown>, b?: CopyOptions): Promise<CopyIn | number>
  copyToFor(parent: object | undefined, sql: string, options?: CopyOptions): CopyOut
  openPipeline(parent: object | undefined): Pipeline & AsyncDisposable
  claimOwner(token: object, parent: object | undefined): void
  releaseOwner(token: object, parent: object | undefined): void
  readonly closed: boolean
  readonly transactionStatus: 'I' | 'T' | 'E'
  /** Where the connection goes, for tracing contexts. */
  traceInfo(): ConnectionTraceInfo
}

const LEVELS = new Set<string>(['read uncommitted', 'read committed', 'repeatable read', 'serializable'])

export function beginStatement(o: TransactionOptions): string {
  const parts = ['begin']
  if (o.isolation !== undefined) {
    if (!LEVELS.has(o.isolation)) throw new InterfaceError(`unknown isolation level ${JSON.stringify(o.isolation)} (use ${[...LEVELS].join(', ')})`)
    parts.push(`isolation level ${o.isolation}`)
  }
  if (o.readOnly !== undefined) parts.push(o.readOnly ? 'read only' : 'read write')
  if (o.deferrable !== undefined) parts.push(o.deferrable ? 'deferrable' : 'not deferrable')
  return parts.join(' ')
}

let savepointCounter = 0

export class Transaction {
  private state: 'active' | 'committed' | 'rolled back' = 'active'

  constructor(
    private readonly host: TransactionHost,
    private readonly token: object,
    /** The savepoint name for a nested transaction; undefined at the top level. */
    readonly savepoint: string | undefined,
  ) {}

  [inspectCustom](depth: number, options: object, inspect: InspectFn): string {
    const fields = { state: this.state, ...(this.savepoint === undefined ? {} : { savepoint: this.savepoint }), transactionStatus: this.transactionStatus }
    return summary('Transaction', depth, options, inspect, fields)
  }

  get transactionStatus(): 'I' | 'T' | 'E' {
    return this.host.transactionStatus
  }

  /** Streams rows in this transaction (see Connection.stream). */
  stream<R extends unknown[] = unknown[]>(sql: SqlQuery, options: StreamOptions & { rowMode: 'array' }): RowStream<R>
  stream<R = Row>(sql: SqlQuery, options?: StreamOptions): RowStream<R>
  stream<R extends unknown[] = unknown[]>(sql: string | SqlQuery, params: readonly unknown[] | undefined, options: StreamOptions & { rowMode: 'array' }): RowStream<R>
  stream<R = Row>(sql: string | SqlQuery, params?: readonly unknown[], options?: StreamOptions): RowStream<R>
  stream<R = Row>(sql: string | SqlQuery, params: readonly unknown[] | StreamOptions = [], options?: StreamOptions): RowStream<R> {
    this.check('stream()')
    if (typeof sql !== 'string') ({ text: sql, values: params, options } = toQuery(sql, params, options))
    return this.host.streamFor<R>(this.token, sql, params as readonly unknown[], options)
  }

  /** COPY FROM STDIN in this transaction (see Connection.copyFrom). */
  copyFrom(sql: string, options?: CopyOptions): Promise<CopyIn>
  copyFrom(sql: string, source: AsyncIterable<unknown> | Iterable<unknown>, options?: CopyOptions): Promise<number>
  copyFrom(sql: string, a?: CopyOptions | AsyncIterable<unknown> | Iterable<unknown>, b?: CopyOptions): Promise<CopyIn | number> {
    this.check('copyFrom()')
    return this.host.copyFromFor(this.token, sql, a, b)
  }

  /** COPY TO STDOUT in this transaction (see Connection.copyTo). */
  copyTo(sql: string, options: CopyOptions = {}): CopyOut {
    this.check('copyTo()')
    return this.host.copyToFor(this.token, sql, options)
  }

  /** A client-side cursor running its queries in this transaction. */
  cursor<R = Row>(): Cursor<R> {
    return new Cursor<R>(this)
  }

  /** A server-side cursor declared in this transaction. */
  serverCursor<R = Row>(name?: string, options: ServerCursorOptions = {}): ServerCursor<R> {
    return new ServerCursor<R>(this, name, options)
  }

  get active(): boolean {
    return this.state === 'active'
  }

  private check(what: string): void {
    if (this.state !== 'active') throw new InterfaceError(`${what} on a transaction that has already ${this.state === 'committed' ? 'committed' : 'rolled back'}`)
  }

  query<R extends unknown[] = unknown[]>(sql: SqlQuery, options: QueryOptions & { rowMode: 'array' }): Promise<Result<R>>
  query(sql: SqlQuery, options: QueryOptions & { rowMode: 'columns' }): Promise<ColumnsResult>
  query<R = Row>(sql: SqlQuery, options?: QueryOptions): Promise<Result<R>>
  query<R extends unknown[] = unknown[]>(sql: string | SqlQuery, params: readonly unknown[] | undefined, options: QueryOptions & { rowMode: 'array' }): Promise<Result<R>>
  query(sql: string | SqlQuery, params: readonly unknown[] | undefined, options: QueryOptions & { rowMode: 'columns' }): Promise<ColumnsResult>
  query<R = Row>(sql: string | SqlQuery, params?: readonly unknown[], options?: QueryOptions): Promise<Result<R>>
  query<R = Row>(sql: string | SqlQuery, params: readonly unknown[] | QueryOptions = [], options?: QueryOptions): Promise<Result<R>> {
    try {
      this.check('query()')
      if (typeof sql !== 'string') ({ text: sql, values: params, options } = toQuery(sql, params, options))
    } catch (err) {
      return Promise.reject(err)
    }
    return this.host.runQuery<R>(this.token, sql, params as readonly unknown[], options)
  }

  simpleQuery<R extends unknown[] = unknown[]>(sql: string | SqlQuery, options: Omit<QueryOptions, 'prepare'> & { rowMode: 'array' }): Promise<Result<R>[]>
  simpleQuery(sql: string | SqlQuery, options: Omit<QueryOptions, 'prepare'> & { rowMode: 'columns' }): Promise<ColumnsResult[]>
  simpleQuery<R = Row>(sql: string | SqlQuery, options?: Omit<QueryOptions, 'prepare'>): Promise<Result<R>[]>
  simpleQuery<R = Row>(sql: string | SqlQuery, options: Omit<QueryOptions, 'prepare'> = {}): Promise<Result<R>[]> {
    try {
      this.check('simpleQuery()')
      if (typeof sql !== 'string') sql = simpleText(sql)
    } catch (err) {
      return Promise.reject(err)
    }
    return this.host.runSimple<R>(this.token, sql, options)
  }

  /** A pipeline inside this transaction. */
  async pipeline<T>(fn: (p: Pipeline) => Promise<T>): Promise<T> {
    this.check('pipeline()')
    const p = this.host.openPipeline(this.token)
    try {
      return await fn(p)
    } finally {
      await p[Symbol.asyncDispose]()
    }
  }

  /** A nested transaction: a savepoint, released on return, rolled back to on throw. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    this.check('transaction()')
    return runNested(this.host, this.token, fn)
  }

  /** Commits now (or releases the savepoint); the callback's return will not commit again. */
  async commit(): Promise<void> {
    this.check('commit()')
    this.state = 'committed'
    const sql = this.savepoint ? `release savepoint ${this.savepoint}` : 'commit'
    const [r] = await this.host.runSimple(this.token, sql)
    if (r?.command === 'ROLLBACK') throw failedCommit()
  }

  /** Rolls back now (to the savepoint when nested). */
  async rollback(): Promise<void> {
    this.check('rollback()')
    this.state = 'rolled back'
    if (this.savepoint) {
      await this.host.runSimple(this.token, `rollback to savepoint ${this.savepoint}; release savepoint ${this.savepoint}`)
    } else {
      await this.host.runSimple(this.token, 'rollback')
    }
  }

  /** @internal How it ended ('active' until then), for tracing. */
  get ended(): 'active' | 'committed' | 'rolled back' {
    return this.state
  }

  /** @internal Ends the transaction after its callback: commit unless already ended. */
  async settle(ok: boolean): Promise<void> {
    if (this.state !== 'active') return
    if (ok) return this.commit()
    if (this.host.closed) {
      this.state = 'rolled back'
      return
    }
    await this.rollback()
  }
}

function failedCommit(): InterfaceError {
  return new InterfaceError('the transaction had failed (an error was caught inside it), so COMMIT rolled it back')
}

export async function runTransaction<T>(host: TransactionHost, fn: (tx: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const begin = beginStatement(options)
  for (let attempt = 0; ; attempt++) {
    try {
      return await runOnce(host, undefined, undefined, begin, fn)
    } catch (err) {
      const wait = retryDelay(err, attempt, options.retry, host.closed)
      if (wait === undefined) throw err
      await new Promise((r) => setTimeout(r, wait))
    }
  }
}

/** Claims the connection, opens the transaction (or savepoint), runs fn, commits or rolls back, releases. */
function runOnce<T>(host: TransactionHost, parent: object | undefined, savepoint: string | undefined, open: string, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  if (!transactionChannel.hasSubscribers) return runTraced(host, parent, savepoint, open, fn, undefined)
  const ctx: TransactionTraceContext = { savepoint: savepoint !== undefined, begin: open, connection: host.traceInfo(), transaction: transactionOf(parent) }
  return tracePromise(transactionChannel, ctx, () => runTraced(host, parent, savepoint, open, fn, ctx), () => {})
}

async function runTraced<T>(
  host: TransactionHost,
  parent: object | undefined,
  savepoint: string | undefined,
  open: string,
  fn: (tx: Transaction) => Promise<T>,
  trace: TransactionTraceContext | undefined,
): Promise<T> {
  const token = {}
  if (trace !== undefined) traceParents.set(token, trace)
  host.claimOwner(token, parent)
  const tx = new Transaction(host, token, savepoint)
  try {
    await host.runSimple(token, open)
    let result: T
    try {
      result = await fn(tx)
    } catch (err) {
      if (trace !== undefined) trace.outcome = 'rollback'
      await tx.settle(false).catch(() => undefined)
      throw err
    }
    await tx.settle(true)
    // The callback may have rolled back itself and returned.
    if (trace !== undefined) trace.outcome = tx.ended === 'rolled back' ? 'rollback' : 'commit'
    return result
  } finally {
    host.releaseOwner(token, parent)
  }
}

function runNested<T>(host: TransactionHost, parent: object, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  const name = `pgline_sp_${++savepointCounter}`
  return runOnce(host, parent, name, `savepoint ${name}`, fn)
}
