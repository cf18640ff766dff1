// Tracing through node:diagnostics_channel. Each operation has a
// TracingChannel (start, end, asyncStart, asyncEnd, error); a context object
// is published on each, as Node's tracePromise does, and the subscriber may
// keep its own state on it (a span). With no subscriber nothing is built:
// the callers check `hasSubscribers` first.
//
// The contexts carry what the operation is, never parameter values, rows or
// passwords: the SQL text (as written, with its $n placeholders), counts,
// where the connection goes, and on the end the command tag and row count.
//
// A subscriber that throws: diagnostics_channel reports it to the process
// as an uncaught exception on the next tick; the operation itself goes on.
import dc from 'node:diagnostics_channel'

/** The method of a Connection that describes it for a tracing context. */
export const TRACE_INFO: unique symbol = Symbol('pgline.traceInfo')

/** Where a traced operation runs: the connection's server and session. */
export interface ConnectionTraceInfo {
  host: string
  port: number
  database: string
  user: string
  /** The server process of the session (0 before it is known). */
  processId: number
  /** Whether the connection is encrypted (TLS). */
  tls: boolean
}

export interface QueryTraceContext {
  /** 'extended' (query(), prepared or not), 'simple' (simpleQuery(): maybe several statements), 'pipelined' (a statement of a pipeline) or 'stream' (stream(): ends when the stream does, no command or count). */
  kind: 'extended' | 'simple' | 'pipelined' | 'stream'
  sql: string
  /** The named prepared statement's name, when one was given to prepare(). */
  statementName: string | undefined
  paramCount: number
  connection: ConnectionTraceInfo
  /** The context of the transaction it runs in (pgline's transaction() only), to parent it by. */
  transaction: TransactionTraceContext | undefined
  /** On asyncEnd: the command tag's verb ('SELECT', 'INSERT' ...), the last statement's for a simple query. */
  command?: string
  /** On asyncEnd: rows returned or affected (null where the tag has no count). */
  rowCount?: number | null
  /** On error (and asyncEnd after it). */
  error?: unknown
}

export interface ConnectTraceContext {
  host: string
  port: number
  database: string
  user: string
  /** On asyncEnd: the session's server process id. */
  processId?: number
  /** On asyncEnd: whether TLS is in use. */
  tls?: boolean
  /** On asyncEnd: the authentication method the server asked for ('scram-sha-256', 'md5', 'password', 'none' ...). */
  authMethod?: string
  /** On asyncEnd: the server_version parameter. */
  serverVersion?: string
  error?: unknown
}

export interface PoolAcquireTraceContext {
  /** Where the pool connects. */
  pool: { host: string; port: number; database: string; user: string }
  /** On asyncEnd: milliseconds waited for the connection. */
  waitedMs?: number
  /** On asyncEnd: the connection handed out. */
  connection?: ConnectionTraceInfo
  error?: unknown
}

export interface PipelineSyncTraceContext {
  /** Statements in the group this Sync ends. */
  statements: number
  connection: ConnectionTraceInfo
  transaction: TransactionTraceContext | undefined
  error?: unknown
}

export interface CopyTraceContext {
  direction: 'in' | 'out'
  sql: string
  connection: ConnectionTraceInfo
  transaction: TransactionTraceContext | undefined
  /** On asyncEnd: rows copied, as the server counted them. */
  rowCount?: number
  error?: unknown
}

export interface TransactionTraceContext {
  /** Whether this is a nested transaction (a savepoint). */
  savepoint: boolean
  /** The BEGIN (or SAVEPOINT) statement, options included. */
  begin: string
  connection: ConnectionTraceInfo
  /** The enclosing transaction's context, for a savepoint. */
  transaction: TransactionTraceContext | undefined
  /** On asyncEnd: 'commit' or 'rollback'. */
  outcome?: 'commit' | 'rollback'
  error?: unknown
}

/** The channel names, as subscribers find them with `diagnostics_channel.tracingChannel(name)`. */
export const CHANNELS = {
  query: 'pgline:query',
  connect: 'pgline:connect',
  poolAcquire: 'pgline:pool:acquire',
  pipelineSync: 'pgline:pipeline:sync',
  copy: 'pgline:copy',
  transaction: 'pgline:transaction',
} as const

export const queryChannel = dc.tracingChannel<unknown, QueryTraceContext & object>(CHANNELS.query)
export const connectChannel = dc.tracingChannel<unknown, ConnectTraceContext & object>(CHANNELS.connect)
export const poolAcquireChannel = dc.tracingChannel<unknown, PoolAcquireTraceContext & object>(CHANNELS.poolAcquire)
export const pipelineSyncChannel = dc.tracingChannel<unknown, PipelineSyncTraceContext & object>(CHANNELS.pipelineSync)
export const copyChannel = dc.tracingChannel<unknown, CopyTraceContext & object>(CHANNELS.copy)
export const transactionChannel = dc.tracingChannel<unknown, TransactionTraceContext & object>(CHANNELS.transaction)

/**
 * The transaction context of each token (a transaction's, and a pipeline's
 * opened inside one), so what runs on its behalf names the transaction it
 * belongs to; filled only while someone subscribes to the transaction channel.
 */
export const traceParents = new WeakMap<object, TransactionTraceContext>()

/** The transaction a token's operation runs in, if traced. */
export function transactionOf(token: object | undefined): TransactionTraceContext | undefined {
  return token === undefined ? undefined : traceParents.get(token)
}

type Traced<C> = dc.TracingChannel<unknown, C & object>

/**
 * The callback form of tracePromise, for operations that settle through
 * resolve/reject functions rather than a promise: publishes start around
 * `begin` (in the caller's context, so a subscriber sees its active span),
 * then end; returns through the settle functions given to `begin`, which
 * publish (error,) asyncStart and asyncEnd. Those wait until end is out when
 * the operation settles within `begin` (refused at once). `finish` fills the
 * context from the value first. Unlike Node's tracePromise, the value itself
 * is never put on the context: it may hold rows.
 */
export function traceCallbacks<C extends { error?: unknown }, V>(
  channel: Traced<C>,
  ctx: C,
  resolve: (value: V) => void,
  reject: (err: Error) => void,
  finish: (ctx: C, value: V) => void,
  begin: (resolve: (value: V) => void, reject: (err: Error) => void) => void,
): void {
  let held: (() => void) | undefined
  let beginning = true
  const settle = (publishError: boolean, then: () => void): void => {
    const go = (): void => {
      if (publishError) channel.error.publish(ctx)
      channel.asyncStart.publish(ctx)
      try {
        then()
      } finally {
        channel.asyncEnd.publish(ctx)
      }
    }
    if (beginning) held = go
    else go()
  }
  const done = (value: V): void => {
    try {
      finish(ctx, value)
    } catch {
      // A context we could not fill is still published.
    }
    settle(false, () => resolve(value))
  }
  const failed = (err: Error): void => {
    ctx.error = err
    settle(true, () => reject(err))
  }
  channel.start.runStores(ctx, () => {
    try {
      begin(done, failed)
    } catch (err) {
      ctx.error = err
      channel.error.publish(ctx)
      throw err
    } finally {
      beginning = false
      channel.end.publish(ctx)
    }
  })
  held?.()
}

/** tracePromise where the context is filled from the value once it resolves (and never holds the value itself). */
export function tracePromise<C extends { error?: unknown }, V>(channel: Traced<C>, ctx: C, run: () => Promise<V>, finish: (ctx: C, value: V) => void): Promise<V> {
  return new Promise<V>((resolve, reject) => traceCallbacks(channel, ctx, resolve, reject, finish, (res, rej) => run().then(res, rej)))
}

/**
 * For an operation whose end comes later and by another road (a COPY, ended
 * by its request): publishes start and end now, in the caller's context;
 * call the returned function with the error, or undefined, when it ends.
 */
export function traceStarted<C extends { error?: unknown }>(channel: Traced<C>, ctx: C): (err: unknown) => void {
  channel.start.publish(ctx)
  channel.end.publish(ctx)
  let ended = false
  return (err) => {
    if (ended) return
    ended = true
    if (err !== undefined) {
      ctx.error = err
      channel.error.publish(ctx)
    }
    channel.asyncStart.publish(ctx)
    channel.asyncEnd.publish(ctx)
  }
}


/** Fills a query context from what query() or simpleQuery() resolved with. */
export function finishQuery(ctx: QueryTraceContext, value: unknown): void {
  const r = (Array.isArray(value) ? value[value.length - 1] : value) as { command?: string; rowCount?: number | null } | undefined
  if (r === undefined || r === null) return
  ctx.command = r.command
  ctx.rowCount = r.rowCount
}
