// The public connection: owns the socket, the decoder, the session and the
// write buffer. Queries are written as soon as nothing ahead of them forbids
// it and flushed once per tick, so concurrent callers share round trips
// without asking. A query waits in the client's queue only while a statement
// is being described, a cancel is settling, or too many are in flight.

import type net from 'node:net'
import { ConnectionError, DatabaseError, InterfaceError, ProtocolError, TimeoutError, type PglineError } from '../errors/base.js'
import { parseUrl, resolveConfig, type ConnectOptions, type ResolvedConfig } from '../config/config.js'
import { sessionSettings } from '../config/session-settings.js'
import { connectToHosts, sessionMatches } from './connect-hosts.js'
import { Decoder } from '../protocol/decoder.js'
import * as fe from '../protocol/frontend.js'
import type { NoticeFields } from '../protocol/messages.js'
import { Writer } from '../protocol/writer.js'
import { Session, type Notification, type Request, type StartupSettings } from '../session/session.js'
import { sendCancel } from '../transport/cancel.js'
import { describeTarget, isUnixSocketHost, openSocket } from '../transport/socket.js'
import { serverEndPoint, sslRequest, startTls, type SslMode, type TlsOptions } from '../transport/tls.js'
import type tls from 'node:tls'
import { defaultTypeMap, TypeMap } from '../types/type-map.js'
import type { TypeOptions } from '../types/codec.js'
import { DescribeRequest, type Description } from '../session/ops/describe.js'
import { checkParamCount, checkSqlText, encodeTyped, encodeUntyped } from '../session/params.js'
import { canceledError, isStaleStatement, type Pending } from '../session/pending.js'
import { maxPlaceholder } from '../session/placeholders.js'
import { rejectionWithCallerFrames } from './caller-frames.js'
import { emit } from './emit.js'
import { GroupRequest, Pipeline, type PipelineGroupState, type PipelineHost } from './pipeline.js'
import { QueryRequest, type QueryHooks } from '../session/ops/query.js'
import { runTransaction, type Transaction, type TransactionHost, type TransactionOptions } from './transaction.js'
import { Cursor, ServerCursor, type ServerCursorOptions } from './cursor.js'
import { CopyIn, CopyInRequest, CopyInWire, CopyOut, textRowEncoder, type CopyOutHost } from './copy.js'
import { formatOf } from './copy-format.js'
import { binaryColumns, copyTarget, isIterable, type CopyOptions } from './copy-setup.js'
import { copyBinaryEncoder } from '../types/copy-binary.js'
import { loadType, registerCustom, type CustomCodec, type LoadedType } from './type-loader.js'
import { PortalControl, RowStream, StreamRequest, type StreamHost, type StreamOptions } from './stream.js'
import type { Wire } from '../session/wire.js'
import { checkResultFormat, type QueryOptions, type ResultFormat } from '../session/query-options.js'
import { RowDecoder, type ColumnsResult, type Field, type Result, type Row, type RowMode } from '../types/result.js'
import { describeInto, formatsOf, StatementCache, withFormats, type CachedStatement } from '../session/statement-cache.js'

export type { QueryOptions, ResultFormat } from '../session/query-options.js'

export interface ConnectionOptions extends ConnectOptions {
  /** Cache prepared statements by SQL text (default true, false with `pooler: 'transaction'`). */
  prepare?: boolean
  /** The format results are asked in; see QueryOptions.resultFormat. Default 'auto'. */
  resultFormat?: ResultFormat
  /**
   * 'transaction': the server is reached through a transaction-mode pooler
   * (PgBouncer pool_mode=transaction). Implies `prepare: false` unless given,
   * and listen() rejects, since notifications cannot reach a session the
   * pooler hands to other clients. See README, "Poolers".
   */
  pooler?: 'transaction'
  /** How many prepared statements to keep per connection (default 256). */
  statementCacheSize?: number
  /** Default per-query timeout in milliseconds (0: none). */
  queryTimeout?: number
  /**
   * Milliseconds to wait for the server's answer after a query was canceled
   * (its timeout, queryTimeout or signal): past that the server or the
   * network is taken for gone, the connection is closed and every request
   * on it rejects with ConnectionError. Default 5000; 0 or Infinity: wait
   * for the server however long it takes.
   */
  cancelGrace?: number
  /** The server's statement_timeout, set at startup (milliseconds). */
  statementTimeout?: number
  /** Queries written but not yet answered before further ones wait in the client (default 1000). */
  maxInFlight?: number
  /** TLS: an sslmode ('prefer' by default, as libpq) or the full settings. Unix sockets never use TLS. */
  tls?: SslMode | TlsOptions
  /** Send a cleartext password over an unencrypted TCP connection (default: only over unix sockets or TLS). */
  allowCleartextPassword?: boolean
  /** How some types map to JS on this connection (int8, numeric, date, timestamp, json); see README. */
  typeOptions?: TypeOptions
  /** Print notices to stderr (also with PGLINE_DEBUG=1 in the environment); otherwise they only reach listeners. */
  debug?: boolean
}

type Listener<T> = (value: T) => void

export interface StatementDescription {
  /** Type OIDs of $1..$n as the server inferred them. */
  paramTypes: number[]
  /** Result columns; null for a statement that returns no rows. */
  fields: Field[] | null
}

export interface PreparedStatement extends StatementDescription {
  readonly name: string
  readonly sql: string
  execute<R extends unknown[] = unknown[]>(params: readonly unknown[] | undefined, options: QueryOptions & { rowMode: 'array' }): Promise<Result<R>>
  execute(params: readonly unknown[] | undefined, options: QueryOptions & { rowMode: 'columns' }): Promise<ColumnsResult>
  execute<R = Row>(params?: readonly unknown[], options?: QueryOptions): Promise<Result<R>>
  close(): Promise<void>
}

let preparedCounter = 0


const EMPTY: readonly unknown[] = []
const NO_OPTIONS: QueryOptions = {}

/** What a caller asks the connection to run: one shape per kind of request. */
type Op =
  | { kind: 'extended'; sql: string; params: readonly unknown[]; options: QueryOptions; statement: CachedStatement | undefined }
  | { kind: 'simple'; sql: string; options: QueryOptions }
  | { kind: 'pipelined'; sql: string; params: readonly unknown[]; options: QueryOptions; group: () => PipelineGroupState }
  | { kind: 'sync'; group: () => PipelineGroupState }
  | { kind: 'describe'; sql: string; statement: CachedStatement | undefined }
  | { kind: 'stream'; sql: string; params: readonly unknown[]; types: TypeMap; stream: NonNullable<Pending['stream']> }
  | { kind: 'copy'; sql: string; copy: NonNullable<Pending['copy']> }
const DEFAULT_CANCEL_GRACE = 5_000
/** A prepared statement name nothing ever prepares (see refuseInGroup). */
const REFUSED_STATEMENT = 'pgline refused'

export class Connection {
  /** The connection's type map: register codecs here to affect only this connection. */
  readonly types: TypeMap
  private readonly writer = new Writer()
  private readonly decoder: Decoder
  private readonly session: Session
  private readonly cache: StatementCache
  private readonly prepareByDefault: boolean
  private readonly resultFormat: ResultFormat
  private readonly pooler: 'transaction' | undefined
  private readonly queryTimeout: number
  private readonly cancelGrace: number
  private readonly maxInFlight: number
  private socket: net.Socket | undefined
  private flushScheduled = false
  private isClosed = false
  private destroyed = false
  private closeError: PglineError | undefined
  /** Why the server or the network ended the connection (undefined if we closed it). */
  private lostError: PglineError | undefined
  /** close() or terminate() was called. */
  private closedByUser = false
  private readonly closedPromise: Promise<void>
  private resolveClosed!: () => void
  private readonly noticeListeners: Listener<NoticeFields>[] = []
  private readonly notificationListeners: Listener<Notification>[] = []
  private readonly closeListeners: Listener<PglineError | undefined>[] = []
  private readyWaiter: { resolve: () => void; reject: (e: PglineError) => void } | undefined
  /** Queries waiting to be written, in call order. */
  private readonly waiting: Pending[] = []
  /** While > 0, nothing new is written (a describe or a cancel is settling). */
  private holds = 0
  private readonly tls: TlsOptions
  private readonly startup: StartupSettings
  private encrypted = false
  /** Whoever holds the connection: a transaction or pipeline handle's token, or undefined. */
  private owner: object | undefined
  /** LISTEN subscriptions by channel. */
  private readonly channels = new Map<string, Set<(payload: string, n: Notification) => void>>()
  /** Pipeline groups written without their Sync yet. */
  private openGroups = 0
  /** Queries that were sent and asked to be canceled, in the order they run. */
  private readonly cancelWanted = new Set<Request>()
  /** Streams and COPYs a CancelRequest was sent for (once is enough). */
  private readonly canceled = new WeakSet<Request>()
  /** Chunks received so far: a grace period ends only in silence. */
  private received = 0
  /** What transaction handles use of the connection (its private methods, on their token's behalf). */
  private readonly host: TransactionHost = this.makeHost()
  /** The write side as streams and COPY see it. */
  private readonly wire: Wire = this.makeWire()
  /** The first close() call's promise. */
  private closing: Promise<void> | undefined
  /** close() waits for the client's queue to empty: called by drain() when it has, or by destroy(). */
  private onIdle: (() => void) | undefined

  private constructor(
    readonly config: ResolvedConfig,
    options: ConnectionOptions,
  ) {
    this.types = config.types ?? new TypeMap(defaultTypeMap, options.typeOptions)
    this.decoder = new Decoder({ maxMessageSize: config.maxMessageSize, reuseDataRows: true })
    this.cache = new StatementCache(Math.max(0, options.statementCacheSize ?? 256))
    this.pooler = options.pooler
    this.prepareByDefault = (options.prepare ?? this.pooler !== 'transaction') && this.cache.capacity > 0
    this.resultFormat = checkResultFormat(options.resultFormat ?? 'auto')
    this.queryTimeout = options.queryTimeout ?? 0
    this.cancelGrace = options.cancelGrace ?? DEFAULT_CANCEL_GRACE
    if (typeof this.cancelGrace !== 'number' || !(this.cancelGrace >= 0)) {
      throw new InterfaceError(`cancelGrace must be a non-negative number of milliseconds, got ${String(options.cancelGrace)}`)
    }
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 1000)
    if (config.onNotice) this.noticeListeners.push(config.onNotice)
    if (options.debug ?? process.env.PGLINE_DEBUG === '1') {
      this.noticeListeners.push((n) => console.error(`pgline: ${n.severity}: ${n.message}${n.detail ? ` (${n.detail})` : ''}`))
    }
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve))
    const settings = sessionSettings(config, options)
    this.tls = settings.tls
    this.startup = settings.startup
    this.session = new Session(
      this.writer,
      this.startup,
      {
        notice: (n) => emit(this.noticeListeners, n),
        notification: (n) => {
          const subscribers = this.channels.get(n.channel)
          if (subscribers !== undefined) emit([...subscribers].map((f) => (x: Notification) => f(x.payload, x)), n)
          emit(this.notificationListeners, n)
        },
        parameterStatus: () => {},
        ready: () => this.readyWaiter?.resolve(),
        fatal: (err) => this.destroy(err),
      },
    )
  }

  /** Opens a connection and waits until the server is ready for queries. */
  static async connect(input: string | ConnectionOptions = {}, extra: ConnectionOptions = {}): Promise<Connection> {
    const options: ConnectionOptions = typeof input === 'string' ? { ...parseUrl(input), ...extra } : { ...input, ...extra }
    return connectToHosts(resolveConfig(options), {
      open: async (one) => {
        const conn = new Connection(one, options)
        await conn.open()
        return conn
      },
      matches: sessionMatches,
    })
  }

  private async open(): Promise<void> {
    const cfg = this.config
    const target = describeTarget(cfg)
    const timeout = cfg.connectTimeout > 0 ? AbortSignal.timeout(cfg.connectTimeout) : undefined
    const timedOut = (): ConnectionError =>
      new ConnectionError(`timed out after ${cfg.connectTimeout} ms connecting to ${target}`, { retrySafe: true })
    let socket: net.Socket
    try {
      socket = await openSocket(cfg, timeout)
    } catch (err) {
      this.markClosed()
      if (timeout?.aborted) throw timedOut()
      throw err
    }
    const cut = (): void => {
      socket.destroy()
    }
    timeout?.addEventListener('abort', cut, { once: true })
    try {
      socket = await this.negotiateTls(socket)
    } catch (err) {
      socket.destroy()
      this.markClosed()
      if (timeout?.aborted) throw timedOut()
      throw err
    } finally {
      timeout?.removeEventListener('abort', cut)
    }
    this.socket = socket
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.resume() // sslRequest() paused it to read its one-byte answer
    socket.on('drain', () => this.flush())
    socket.on('error', (err) =>
      this.destroy(new ConnectionError(`connection to ${target} failed: ${err.message}`, { retrySafe: false, cause: err })),
    )
    socket.on('close', () => {
      this.destroy(this.closeError ?? this.session.farewell ?? new ConnectionError(`the server closed the connection to ${target}`, { retrySafe: false }))
      this.resolveClosed()
    })
    const ready = new Promise<void>((resolve, reject) => (this.readyWaiter = { resolve, reject }))
    const onTimeout = (): void => this.destroy(timedOut())
    timeout?.addEventListener('abort', onTimeout, { once: true })
    this.session.start()
    this.flush()
    try {
      await ready
    } finally {
      timeout?.removeEventListener('abort', onTimeout)
      this.readyWaiter = undefined
    }
  }

  /** SSLRequest or direct TLS per sslmode; records channel-binding data for SCRAM-SHA-256-PLUS. */
  private async negotiateTls(socket: net.Socket): Promise<net.Socket> {
    const o = this.tls
    if (o.mode === 'disable' || o.mode === 'allow' || isUnixSocketHost(this.config.host)) return socket
    let secured: tls.TLSSocket
    if (o.negotiation === 'direct') secured = await startTls(socket, this.config.host, o)
    else if (await sslRequest(socket)) secured = await startTls(socket, this.config.host, o)
    else if (o.mode === 'prefer') return socket
    else throw new ConnectionError(`the server at ${describeTarget(this.config)} does not accept TLS, and sslmode is ${o.mode}`, { retrySafe: false })
    this.startup.channelBinding = serverEndPoint(secured)
    this.startup.allowCleartext = true
    this.encrypted = true
    return secured
  }

  /** Lets this connection's socket stop keeping the process alive (an idle pooled connection), or start again. */
  unref(): this {
    this.socket?.unref()
    return this
  }

  ref(): this {
    this.socket?.ref()
    return this
  }

  /** True while anything is in flight or queued, or a transaction, pipeline, stream or COPY holds the connection. */
  get busy(): boolean {
    return this.session.pending > 0 || this.waiting.length > 0 || this.owner !== undefined
  }

  /** Ends the connection at once, without Terminate: whatever is pending fails with a ConnectionError. */
  terminate(reason = 'the connection was terminated by the client'): void {
    this.closedByUser = true
    this.markClosed()
    this.destroy(new ConnectionError(reason, { retrySafe: false }))
  }

  /** Whether the connection runs over TLS. */
  get ssl(): boolean {
    return this.encrypted
  }

  private onData(chunk: Buffer): void {
    this.received++
    this.decoder.push(chunk)
    try {
      for (let msg = this.decoder.next(); msg !== null; msg = this.decoder.next()) {
        this.session.handle(msg)
      }
    } catch (err) {
      const e = err instanceof ProtocolError ? err : new ProtocolError(`failed to process a server message: ${(err as Error).message}`)
      this.session.die(e)
      return
    }
    if (this.writer.length > 0) this.flush()
  }

  /** True once the connection cannot be used any more (closed by us, by the server, or broken). */
  get closed(): boolean {
    return this.isClosed
  }

  /** Run-time parameters the server reported (server_version, TimeZone, ...). */
  get parameters(): ReadonlyMap<string, string> {
    return this.session.parameters
  }

  get serverVersion(): string | undefined {
    return this.session.parameters.get('server_version')
  }

  /** 'I' idle, 'T' in a transaction, 'E' in a failed transaction (as of the last completed request). */
  get transactionStatus(): 'I' | 'T' | 'E' {
    return this.session.transactionStatus
  }

  /** The backend's process id (for pg_stat_activity, cancellation). */
  get processId(): number {
    return this.session.processId
  }

  /** '3.0' or '3.2': the protocol version in use after negotiation. */
  get protocolVersion(): string {
    return `3.${this.session.protocolMinor}`
  }

  on(event: 'notice', listener: Listener<NoticeFields>): this
  on(event: 'notification', listener: Listener<Notification>): this
  on(event: 'close', listener: Listener<PglineError | undefined>): this
  on(event: 'notice' | 'notification' | 'close', listener: Listener<never>): this {
    if (event === 'notice') this.noticeListeners.push(listener as Listener<NoticeFields>)
    else if (event === 'notification') this.notificationListeners.push(listener as Listener<Notification>)
    else this.closeListeners.push(listener as Listener<PglineError | undefined>)
    return this
  }

  off(event: 'notice' | 'notification' | 'close', listener: Listener<never>): this {
    const list: Listener<never>[] =
      event === 'notice' ? this.noticeListeners : event === 'notification' ? this.notificationListeners : this.closeListeners
    const i = list.indexOf(listener)
    if (i !== -1) list.splice(i, 1)
    return this
  }

  /**
   * Runs one statement with the extended protocol. `$1..$n` placeholders
   * take `params` in order. Rows are objects; with `rowMode: 'array'`
   * arrays (`R` a tuple if you like), with `'columns'` in `result.columns`.
   */
  query<R extends unknown[] = unknown[]>(sql: string, params: readonly unknown[] | undefined, options: QueryOptions & { rowMode: 'array' }): Promise<Result<R>>
  query(sql: string, params: readonly unknown[] | undefined, options: QueryOptions & { rowMode: 'columns' }): Promise<ColumnsResult>
  query<R = Row>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<Result<R>>
  query<R = Row>(sql: string, params: readonly unknown[] = EMPTY, options: QueryOptions = {}): Promise<Result<R>> {
    return this.runQuery<R>(undefined, sql, params, options)
  }

  /**
   * Runs SQL through the simple protocol: several statements separated by
   * semicolons, no parameters, one Result per statement.
   */
  simpleQuery<R extends unknown[] = unknown[]>(sql: string, options: Omit<QueryOptions, 'prepare'> & { rowMode: 'array' }): Promise<Result<R>[]>
  simpleQuery(sql: string, options: Omit<QueryOptions, 'prepare'> & { rowMode: 'columns' }): Promise<ColumnsResult[]>
  simpleQuery<R = Row>(sql: string, options?: Omit<QueryOptions, 'prepare'>): Promise<Result<R>[]>
  simpleQuery<R = Row>(sql: string, options: Omit<QueryOptions, 'prepare'> = {}): Promise<Result<R>[]> {
    return this.runSimple<R>(undefined, sql, options)
  }

  /**
   * An explicit pipeline. With a callback: statements queued through `p`
   * are written without waiting, `p.sync()` ends a group, and the pipeline
   * is synced and closed when the callback returns. Without one, use
   * `await using p = conn.pipeline()`.
   */
  pipeline(): Pipeline & AsyncDisposable
  pipeline<T>(fn: (p: Pipeline) => Promise<T>): Promise<T>
  pipeline<T>(fn?: (p: Pipeline) => Promise<T>): (Pipeline & AsyncDisposable) | Promise<T> {
    const p = this.openPipeline(undefined)
    if (fn === undefined) return p
    return (async () => {
      try {
        return await fn(p)
      } finally {
        await p[Symbol.asyncDispose]()
      }
    })()
  }

  /** A pipeline owned by `parent` (undefined: the connection itself, or a transaction's token). */
  private openPipeline(parent: object | undefined): Pipeline & AsyncDisposable {
    this.checkOpen()
    this.checkOwner(parent, 'pipeline()')
    const token = {}
    this.owner = token
    let group: PipelineGroupState | undefined
    const host: PipelineHost = {
      pipelineStatement: (sql, params, options, resolve, reject) =>
        this.start(token, { kind: 'pipelined', sql, params, options, group: () => (group ??= { request: undefined }) }, resolve as (value: unknown) => void, reject),
      pipelineSync: () => {
        const g = group
        group = undefined
        if (g === undefined) return Promise.resolve()
        return this.run(token, { kind: 'sync', group: () => g }) as Promise<void>
      },
    }
    const pipe = new Pipeline(host) as Pipeline & AsyncDisposable
    pipe[Symbol.asyncDispose] = async () => {
      try {
        await pipe.finish()
      } finally {
        if (this.owner === token) this.owner = parent
      }
    }
    return pipe
  }

  /**
   * Runs `fn` in a transaction: BEGIN, then COMMIT when it returns or
   * ROLLBACK when it throws. Use `tx` for every query inside; nested
   * `tx.transaction()` calls become savepoints.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return runTransaction(this.host, fn, options)
  }

  private makeWire(): Wire {
    const conn = this
    return {
      writer: this.writer,
      flush: () => conn.flush(),
      scheduleFlush: () => conn.scheduleFlush(),
      drained: () => {
        const s = conn.socket
        return s !== undefined && s.writableNeedDrain && !s.destroyed ? conn.drained(s) : undefined
      },
      lost: () => (conn.destroyed ? conn.copyLost() : undefined),
    }
  }

  private makeHost(): TransactionHost {
    const conn = this
    return {
      runQuery: (token, sql, params, options) => conn.runQuery(token, sql, params, options),
      runSimple: (token, sql, options) => conn.runSimple(token, sql, options),
      streamFor: (token, sql, params, options) => conn.streamFor(token, sql, params, options),
      copyFromFor: (token, sql, a, b) => conn.copyFromFor(token, sql, a, b),
      copyToFor: (token, sql, options) => conn.copyToFor(token, sql, options),
      openPipeline: (token) => conn.openPipeline(token),
      claimOwner: (token, parent) => conn.claimOwner(token, parent),
      releaseOwner: (token, parent) => conn.releaseOwner(token, parent),
      get closed() {
        return conn.isClosed
      },
      get transactionStatus() {
        return conn.session.transactionStatus
      },
    }
  }

  private claimOwner(token: object, parent: object | undefined): void {
    this.checkOpen()
    this.checkOwner(parent, 'transaction()')
    this.owner = token
  }

  private releaseOwner(token: object, parent: object | undefined): void {
    if (this.owner === token) this.owner = parent
  }

  /**
   * Subscribes to a NOTIFY channel (the name is quoted, so any string is
   * safe). Resolves once LISTEN has run; the returned function unsubscribes.
   */
  async listen(channel: string, onPayload: (payload: string, n: Notification) => void): Promise<() => Promise<void>> {
    if (this.pooler === 'transaction') {
      throw new InterfaceError(
        "listen() is not available with pooler: 'transaction': LISTEN belongs to a server session, and a transaction-mode pooler " +
          'hands that session to other clients after each transaction, so notifications would be lost; ' +
          'listen on a direct or session-pooled connection (notify() works through the pooler)',
      )
    }
    const quoted = quoteIdentifier(channel)
    let set = this.channels.get(channel)
    if (set === undefined) {
      set = new Set()
      this.channels.set(channel, set)
      try {
        await this.simpleQuery(`listen ${quoted}`)
      } catch (err) {
        this.channels.delete(channel)
        throw err
      }
    }
    set.add(onPayload)
    return async () => {
      const s = this.channels.get(channel)
      if (s === undefined || !s.delete(onPayload) || s.size > 0) return
      this.channels.delete(channel)
      if (!this.isClosed && this.closing === undefined) await this.simpleQuery(`unlisten ${quoted}`)
    }
  }

  /** Sends a notification (pg_notify, so the payload needs no quoting). */
  async notify(channel: string, payload = ''): Promise<void> {
    await this.query('select pg_notify($1, $2)', [channel, payload])
  }

  /** Asks the server for a statement's parameter types and result fields, without running it. */
  async describe(sql: string): Promise<StatementDescription> {
    const d = await this.runDescribe(undefined, sql)
    return { paramTypes: d.paramOids, fields: d.fields }
  }

  /**
   * Prepares a named statement outside the automatic cache (never evicted);
   * `execute()` runs it with typed parameters, `close()` deallocates it.
   */
  async prepare(sql: string): Promise<PreparedStatement> {
    const stmt: CachedStatement = { name: `pgline_p${++preparedCounter}`, key: sql, ready: false, paramOids: [], fields: null, resultFormats: [], used: 0 }
    const d = await this.runDescribe(undefined, sql, stmt)
    describeInto(stmt, d.paramOids, d.fields, this.types)
    let closed = false
    return {
      name: stmt.name,
      sql,
      paramTypes: d.paramOids,
      fields: d.fields,
      // The cast gives it the rowMode overloads of PreparedStatement.execute.
      execute: (<R = Row>(params: readonly unknown[] = EMPTY, options: QueryOptions = {}) => {
        if (closed) return Promise.reject(new InterfaceError(`prepared statement ${stmt.name} was closed`))
        return this.runQuery<R>(undefined, sql, params, options, stmt)
      }) as PreparedStatement['execute'],
      close: async () => {
        if (closed) return
        closed = true
        if (!this.isClosed && this.closing === undefined) await this.simpleQuery(`deallocate ${quoteIdentifier(stmt.name)}`)
      },
    }
  }

  /** Runs one statement per row of parameters, pipelined; resolves with the total row count. */
  executeMany(sql: string, rows: readonly (readonly unknown[])[]): Promise<number> {
    return this.pipeline((p) => p.executeMany(sql, rows))
  }

  /** A client-side DB-API cursor: execute() then fetchone/fetchmany/fetchall, nextset() for several statements. */
  cursor<R = Row>(): Cursor<R> {
    return new Cursor<R>(this)
  }

  /** A named cursor on the server (DECLARE/FETCH/MOVE), inside a transaction unless withHold. */
  serverCursor<R = Row>(name?: string, options: ServerCursorOptions = {}): ServerCursor<R> {
    return new ServerCursor<R>(this, name, options)
  }

  /**
   * Streams the rows of one statement in batches (Execute with a row limit),
   * so memory stays flat. The connection is held until the loop ends;
   * `break` closes the portal and leaves the connection usable.
   */
  stream<R extends unknown[] = unknown[]>(sql: string, params: readonly unknown[] | undefined, options: StreamOptions & { rowMode: 'array' }): RowStream<R>
  stream<R = Row>(sql: string, params?: readonly unknown[], options?: StreamOptions): RowStream<R>
  stream<R = Row>(sql: string, params: readonly unknown[] = EMPTY, options: StreamOptions = {}): RowStream<R> {
    return this.streamFor<R>(undefined, sql, params, options)
  }

  /** stream() on behalf of a transaction handle's token (or undefined). */
  private streamFor<R = Row>(parent: object | undefined, sql: string, params: readonly unknown[] = EMPTY, options: StreamOptions = {}): RowStream<R> {
    const batchSize = options.batchSize ?? 1000
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InterfaceError(`batchSize must be a positive integer, got ${batchSize}`)
    const types = options.types ?? this.types
    const timeout = checkTimeout(options.timeout)
    const host: StreamHost = {
      openStream: (req, ps, batch) =>
        this.submitHeld(parent, req, sql, { signal: options.signal, timeout }, (token) => this.run(token, { kind: 'stream', sql, params: ps, types, stream: { req, batchSize: batch } }), {
          // Close and Sync follow a running batch; the cancel cuts it short.
          stop: (err) => req.abort(err),
          cancel: () => this.cancelIfRunning(req, req.closed()),
        }),
    }
    return new RowStream<R>(host, () => new StreamRequest(sql, types, options.rowMode ?? 'object', new PortalControl(this.wire)), params, batchSize)
  }

  /**
   * COPY ... FROM STDIN. Without a source, resolves with a CopyIn to
   * write() raw data or writeRow() typed rows to, then end(). With a source
   * (a Readable, or an iterable of chunks or rows) pumps it and resolves
   * with the row count.
   */
  copyFrom(sql: string, options?: CopyOptions): Promise<CopyIn>
  copyFrom(sql: string, source: AsyncIterable<unknown> | Iterable<unknown>, options?: CopyOptions): Promise<number>
  copyFrom(sql: string, a?: CopyOptions | AsyncIterable<unknown> | Iterable<unknown>, b?: CopyOptions): Promise<CopyIn | number> {
    return this.copyFromFor(undefined, sql, a, b)
  }

  /** copyFrom() on behalf of a transaction handle's token (or undefined). */
  private async copyFromFor(
    parent: object | undefined,
    sql: string,
    a?: CopyOptions | AsyncIterable<unknown> | Iterable<unknown>,
    b?: CopyOptions,
  ): Promise<CopyIn | number> {
    const source = isIterable(a) ? a : undefined
    const options = (source === undefined ? a : b) as CopyOptions | undefined
    // Checked before anything is claimed or sent.
    const abortOptions = { signal: options?.signal, timeout: checkTimeout(options?.timeout) }
    const format = formatOf(sql)
    let binary: ((value: unknown, column: number) => Buffer) | undefined
    // Column types let typed rows use each type's own encoder (text forms of
    // geometry, ranges... as the server reads them); raw data needs none.
    const oids = source !== undefined || options?.columnTypes !== undefined || format.format === 'binary' ? await this.columnTypes(sql, options?.columnTypes, parent) : undefined
    if (format.format === 'binary') {
      if (oids !== undefined) {
        const elements = await this.runQuery<{ oid: number; elem: number }>(
          parent,
          'select oid::int8::float8 as oid, typelem::int8::float8 as elem from pg_type where oid = any($1::int8[]::oid[])',
          [oids],
        )
        const elementOf = new Map(elements.rows.map((r) => [r.oid, r.elem]))
        binary = binaryColumns(oids, oids.map((oid) => copyBinaryEncoder(this.types, oid, elementOf)))
      }
    }
    const encoder = textRowEncoder(this.types, binary, oids)
    const req = new CopyInRequest(sql)
    await this.submitHeld(parent, req, sql, abortOptions, (token) => this.run(token, { kind: 'copy', sql, copy: req }), {
      // CopyFail ends a COPY the server is reading (not once CopyDone is
      // sent: then the server's answer decides); the cancel, one it is busy with.
      stop: (err) => {
        if (req.doneSent) return
        req.abort(err)
        fe.copyFail(this.writer, err.message)
      },
      cancel: () => this.cancelIfRunning(req, req.done()),
    })
    let info
    try {
      info = await req.ready()
    } catch (err) {
      await req.done().catch(() => undefined)
      throw err
    }
    const w = new CopyIn(new CopyInWire(this.wire, req), req, info, format, encoder)
    return source === undefined ? w : w.from(source)
  }

  /**
   * COPY ... TO STDOUT: iterate it for raw chunks, or rows() for decoded
   * rows. Breaking out early cancels the COPY and leaves the connection usable.
   */
  copyTo(sql: string, options: CopyOptions = {}): CopyOut {
    return this.copyToFor(undefined, sql, options)
  }

  /** copyTo() on behalf of a transaction handle's token (or undefined). */
  private copyToFor(parent: object | undefined, sql: string, options: CopyOptions = {}): CopyOut {
    const format = formatOf(sql)
    const abortOptions = { signal: options.signal, timeout: checkTimeout(options.timeout) }
    const host: CopyOutHost = {
      pause: () => this.socket?.pause(),
      resume: () => this.socket?.resume(),
      cancel: (req) => this.cancelCurrent(req),
      refuseCopyIn: () => {
        fe.copyFail(this.writer, 'COPY FROM STDIN is not supported through copyTo(); use copyFrom()')
        this.scheduleFlush()
      },
    }
    return new CopyOut(
      sql,
      {
        start: (req) =>
          this.submitHeld(parent, req, sql, abortOptions, (token) => this.run(token, { kind: 'copy', sql, copy: req }), {
            stop: (err) => req.abort(err),
            cancel: () => this.cancelCurrent(req),
          }),
        decoders: async (fmt) => {
          const oids = await this.columnTypes(sql, options.columnTypes, parent)
          return oids?.map((oid) => this.types.decoder(oid, fmt))
        },
      },
      host,
      format,
    )
  }

  /**
   * Resolves when the socket takes more data; rejects with a ConnectionError
   * if the connection ends first (a raw 'drain' wait would never settle, and
   * the socket's own error is a bare ECONNRESET/EPIPE).
   */
  private drained(s: net.Socket): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false
      const done = (): void => {
        // Both the socket's 'close' and the connection's may call this.
        if (settled) return
        settled = true
        s.off('drain', onDrain)
        s.off('close', onEnd)
        const i = this.closeListeners.indexOf(onEnd)
        if (i !== -1) this.closeListeners.splice(i, 1)
      }
      const onDrain = (): void => {
        done()
        resolve()
      }
      const onEnd = (): void => {
        done()
        reject(this.copyLost())
      }
      s.on('drain', onDrain)
      s.on('close', onEnd)
      this.closeListeners.push(onEnd)
    })
  }

  private copyLost(): ConnectionError {
    const why = this.closeError ?? this.lostError
    return new ConnectionError(`the connection ended during COPY FROM STDIN${why ? `: ${why.message}` : ''}`, { retrySafe: false, cause: why })
  }

  /** Column type OIDs of a COPY: the ones given (OIDs or type names), or described from its table or query. */
  private async columnTypes(sql: string, given: readonly (number | string)[] | undefined, parent: object | undefined): Promise<number[] | undefined> {
    if (given !== undefined) {
      return Promise.all(
        given.map(async (t) => {
          if (typeof t === 'number') return t
          const r = await this.runQuery<{ oid: number }>(parent, 'select $1::regtype::oid::int8::float8 as oid', [t])
          return r.rows[0]!.oid
        }),
      )
    }
    const target = copyTarget(sql)
    if (target === undefined) return undefined
    try {
      const d = await this.runDescribe(parent, target)
      return d.fields?.map((f) => f.typeOid)
    } catch {
      return undefined
    }
  }

  /**
   * Runs a stream's or COPY's request, which holds the connection to itself
   * until its ReadyForQuery: claims the connection (released then, or at
   * once if the request is refused), submits it, and watches its signal and
   * timeout for as long.
   */
  private async submitHeld(
    parent: object | undefined,
    req: Request & { onComplete: (() => void) | undefined },
    sql: string,
    abort: { signal: AbortSignal | undefined; timeout: number },
    submit: (token: object) => Promise<unknown>,
    stopper: Stopper,
  ): Promise<void> {
    const token = {}
    this.claimOwner(token, parent)
    const disarm = this.guard(req, sql, abort, stopper)
    const done = (): void => {
      disarm()
      this.releaseOwner(token, parent)
    }
    req.onComplete = done
    try {
      await submit(token)
    } catch (err) {
      done()
      throw err
    }
  }

  /**
   * A stream's or COPY's signal and timeout: when either fires, the
   * operation ends with QueryCanceled (cause: the reason) and is canceled on
   * the server once it runs; if the server then stays silent for
   * cancelGrace ms, the connection is closed, as for a query. Returns the
   * function that stops watching (at ReadyForQuery, or when refused).
   */
  private guard(req: Request, sql: string, abort: { signal: AbortSignal | undefined; timeout: number }, stopper: Stopper): () => void {
    const { signal, timeout } = abort
    if (signal === undefined && !(timeout > 0 && timeout !== Infinity)) return noop
    let ended = false
    let silence: (() => void) | undefined
    const fire = (reason: unknown): void => {
      // After close() or a failure the connection's end settles it.
      if (ended || this.isClosed) return
      const queued = this.waiting.findIndex((p) => p.stream?.req === req || p.copy === req)
      if (queued !== -1) {
        // Not written yet: drop it, as a queued query; the server never hears of it.
        const [p] = this.waiting.splice(queued, 1)
        this.finish(p!, canceledError(sql, reason ?? new InterfaceError('aborted'), false))
        this.drain()
        return
      }
      // Its messages are on the wire, so what ends it may follow them.
      if (!this.session.has(req)) return
      stopper.stop(canceledError(sql, reason ?? new InterfaceError('aborted'), true))
      this.scheduleFlush()
      silence = this.watchSilence(reason, () => this.session.current === req, () => ended, stopper.cancel)
    }
    const onAbort = (): void => fire(signal!.reason)
    const timer = timeout > 0 && timeout !== Infinity ? setTimeout(() => fire(new TimeoutError(`timed out after ${timeout} ms`)), timeout) : undefined
    // The socket keeps the process alive while the request is out.
    timer?.unref()
    if (signal?.aborted) queueMicrotask(onAbort)
    else signal?.addEventListener('abort', onAbort, { once: true })
    const onClose = (): void => disarm()
    this.closeListeners.push(onClose)
    const disarm = (): void => {
      if (ended) return
      ended = true
      if (timer !== undefined) clearTimeout(timer)
      silence?.()
      signal?.removeEventListener('abort', onAbort)
      const i = this.closeListeners.indexOf(onClose)
      if (i !== -1) this.closeListeners.splice(i, 1)
    }
    return disarm
  }

  /**
   * After an abort: once the request is the one the server works on, calls
   * `cancel` and then closes the connection if nothing at all arrives for
   * cancelGrace ms (a stalled network, a black-holed cancel). While it waits
   * behind other requests, their own timeouts rule. Returns the stop function.
   */
  private watchSilence(reason: unknown, running: () => boolean, done: () => boolean, cancel?: () => void): () => void {
    const grace = this.cancelGrace
    let armed = false
    let seen = this.received
    let timer: ReturnType<typeof setTimeout> | undefined
    const check = (): void => {
      if (done() || this.destroyed) return
      const heard = this.received !== seen
      seen = this.received
      if (running()) {
        if (!armed) {
          armed = true
          cancel?.()
        } else if (!heard) {
          const why = reason instanceof Error ? reason.message : 'the query was canceled'
          return this.destroy(
            new ConnectionError(`${why}, and the server did not answer within ${grace} ms of the cancel (cancelGrace): the connection was closed`, {
              retrySafe: false,
              cause: reason,
            }),
          )
        }
      }
      if (grace > 0 && grace !== Infinity) {
        timer = setTimeout(check, grace)
        timer.unref()
      } else if (!armed) {
        // No grace: only the cancel remains to be sent once it runs.
        timer = setTimeout(check, 50)
        timer.unref()
      }
    }
    check()
    return () => clearTimeout(timer)
  }

  /**
   * Sends a CancelRequest if `req` is the request the server is working on,
   * holding new writes until both the cancel and `req` (`ended`) have
   * settled, so that a late cancel cannot reach a later query.
   */
  private cancelIfRunning(req: Request, ended: Promise<unknown>): void {
    const key = this.session.secretKey
    if (key === undefined || this.destroyed || this.session.current !== req || this.canceled.has(req)) return
    this.canceled.add(req)
    this.holds++
    let left = 2
    const release = (): void => {
      if (--left === 0) {
        this.holds--
        this.drain()
      }
    }
    ended.then(release, release)
    sendCancel(this.config, this.session.processId, key).then(release, release)
  }

  /** Cancels the request running now (used to stop a COPY TO early), holding new writes until it settles. */
  private cancelCurrent(req: Request & { whenEnded(): Promise<void> }): void {
    if (this.isClosed) return
    this.cancelIfRunning(req, req.whenEnded())
  }

  /**
   * Loads a type from the catalog by name and registers its codecs on this
   * connection: enums, composites (nested ones too), domains, ranges, and
   * extension types pgline knows (hstore, citext). Cached statements are
   * forgotten so results pick the new codecs up.
   */
  async loadType(name: string): Promise<LoadedType> {
    const t = await loadType(this, this.types, name)
    this.forgetStatements()
    return t
  }

  /** Registers your own codecs for a type by name (looked up once) or OID, on this connection only. */
  async registerType(type: string | number, codec: CustomCodec): Promise<LoadedType> {
    const t = await registerCustom(this, this.types, type, codec)
    this.forgetStatements()
    return t
  }

  /** Cached statements chose their result formats from the old codecs: close them and start over. */
  private forgetStatements(): void {
    this.cache.closeAll()
  }

  /** One statement (extended protocol) on behalf of `token`; see run(). */
  private runQuery<R = Row>(token: object | undefined, sql: string, params: readonly unknown[], options: QueryOptions = NO_OPTIONS, statement?: CachedStatement): Promise<Result<R>> {
    return this.run(token, { kind: 'extended', sql, params, options, statement }) as Promise<Result<R>>
  }

  /** Simple-protocol SQL on behalf of `token`: one result per statement. */
  private runSimple<R = Row>(token: object | undefined, sql: string, options: QueryOptions = NO_OPTIONS): Promise<Result<R>[]> {
    return this.run(token, { kind: 'simple', sql, options }) as Promise<Result<R>[]>
  }

  /** Parse and Describe (into `statement` when given: prepare()). */
  private runDescribe(token: object | undefined, sql: string, statement?: CachedStatement): Promise<Description> {
    return this.run(token, { kind: 'describe', sql, statement }) as Promise<Description>
  }

  /**
   * Runs one request on behalf of `token` (a transaction, pipeline, stream or
   * COPY handle's, or undefined for the connection itself). Resolves with
   * the request's own result: a Result (extended, pipelined), a list of
   * them (simple), a Description (describe), or nothing.
   */
  private run(token: object | undefined, op: Op): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => this.start(token, op, resolve, reject))
  }

  /** run() for a caller that brings its own settle functions (a pipeline statement); throws what it refuses at once. */
  private start(token: object | undefined, op: Op, resolve: (value: unknown) => void, reject: (err: Error) => void): void {
    this.checkOpen()
    this.checkOwner(token, 'query()')
    const kind = op.kind
    const sql = kind === 'sync' ? '' : op.sql
    const params = kind === 'extended' || kind === 'pipelined' || kind === 'stream' ? op.params : EMPTY
    const options = kind === 'extended' || kind === 'pipelined' || kind === 'simple' ? op.options : NO_OPTIONS
    const statement = kind === 'extended' || kind === 'describe' ? op.statement : undefined
    if (typeof sql !== 'string') throw new InterfaceError(`query text must be a string, got ${typeof sql}`)
    checkSqlText(sql)
    if ((kind === 'extended' || kind === 'pipelined' || kind === 'stream') && statement === undefined) {
      if (!Array.isArray(params)) throw new InterfaceError('query parameters must be an array')
      const expected = maxPlaceholder(sql)
      // Past 65535 the server would read a wrapped count: refuse before writing anything.
      checkParamCount(Math.max(expected, params.length))
      if (params.length !== expected) {
        throw new InterfaceError(
          `the query uses ${expected} parameter${expected === 1 ? '' : 's'} ($1..$${expected}) but ${params.length} ${params.length === 1 ? 'was' : 'were'} given`,
        )
      }
    } else if (kind === 'describe') {
      checkParamCount(maxPlaceholder(sql))
    }
    const p: Pending = {
      sql,
      params,
      mode: options.rowMode ?? 'object',
      format: options.resultFormat === undefined ? this.resultFormat : checkResultFormat(options.resultFormat),
      types: kind === 'stream' ? op.types : (options.types ?? this.types),
      prepare: kind !== 'simple' && (options.prepare ?? this.prepareByDefault) && this.cache.capacity > 0,
      kind,
      group: kind === 'pipelined' || kind === 'sync' ? op.group() : undefined,
      statement,
      stream: kind === 'stream' ? op.stream : undefined,
      copy: kind === 'copy' ? op.copy : undefined,
      state: 'queued',
      retried: false,
      abortReason: undefined,
      request: undefined,
      cleanup: undefined,
      resolve,
      reject,
    }
    this.watchAbort(p, options.signal, options.timeout ?? this.queryTimeout)
    if (p.state === 'done') return
    if (this.holds > 0 || this.waiting.length > 0 || this.session.pending >= this.maxInFlight) this.waiting.push(p)
    else this.dispatch(p)
  }

  private checkOwner(token: object | undefined, what: string): void {
    if (this.owner === token) return
    if (token === undefined) {
      throw new InterfaceError(
        `${what} called on the connection while a transaction or pipeline holds it; use the handle it gave you (tx or p), or wait until it ends`,
      )
    }
    throw new InterfaceError(`${what} called on a transaction or pipeline handle that is not active (it ended, or a nested one is running)`)
  }

  private watchAbort(p: Pending, signal: AbortSignal | undefined, timeout: number): void {
    if (signal === undefined && !(timeout > 0)) return
    if (signal?.aborted) {
      p.state = 'done'
      p.reject(canceledError(p.sql, signal.reason, false))
      return
    }
    const onAbort = (): void => this.abort(p, signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    const timer = timeout > 0 ? setTimeout(() => this.abort(p, new TimeoutError(`query timed out after ${timeout} ms`)), timeout) : undefined
    p.cleanup = () => {
      signal?.removeEventListener('abort', onAbort)
      if (timer !== undefined) clearTimeout(timer)
    }
  }

  private abort(p: Pending, reason: unknown): void {
    if (p.state === 'done' || p.abortReason !== undefined) return
    p.abortReason = reason ?? new InterfaceError('query aborted')
    if (p.state === 'queued') {
      // Never sent: take it out of the queue; the server never hears of it.
      this.waiting.splice(this.waiting.indexOf(p), 1)
      this.finish(p, canceledError(p.sql, p.abortReason, false))
      this.drain()
    } else if (p.state === 'sent' && p.kind === 'sync') {
      // A pipeline's sync() with a timeout: it waits for the group's ReadyForQuery.
      const group = p.group?.request
      this.giveUpAfterGrace(p, () => group !== undefined && this.session.current === group)
    } else if (p.state === 'sent' && p.kind === 'pipelined') {
      // A statement inside a Sync group: the group is one request to the
      // session, so cancel only while this statement is the one running
      // (an earlier one has a timeout of its own, or none); holding writes
      // here could block the group's own Sync.
      const group = p.group?.request
      let canceled = false
      this.giveUpAfterGrace(p, () => group !== undefined && this.session.current === group && group.running === p.request, () => {
        const key = this.session.secretKey
        if (canceled || key === undefined) return
        canceled = true
        sendCancel(this.config, this.session.processId, key).catch(() => undefined)
      })
    } else if (p.state === 'sent' && p.request !== undefined) {
      // Nothing more is written until the cancel has settled, so it cannot
      // reach a query sent after this one.
      this.cancelWanted.add(p.request)
      this.holds++
      this.maybeSendCancel()
      const req = p.request
      this.giveUpAfterGrace(p, () => this.session.current === req)
    } else {
      // 'describing': the description comes back quickly and dispatch sees
      // abortReason; unless the server is gone.
      this.giveUpAfterGrace(p, () => p.describe !== undefined && this.session.current === p.describe)
    }
  }

  /** A canceled query: see watchSilence; stops with the query. */
  private giveUpAfterGrace(p: Pending, running: () => boolean, cancel?: () => void): void {
    const stop = this.watchSilence(p.abortReason, running, () => p.state === 'done', cancel)
    const previous = p.cleanup
    p.cleanup = () => {
      stop()
      previous?.()
    }
  }

  /** Sends a CancelRequest when the query to cancel is the one running now. */
  private maybeSendCancel(): void {
    const head = this.session.current
    if (head === undefined || !this.cancelWanted.has(head)) return
    this.cancelWanted.delete(head)
    const key = this.session.secretKey
    let cancelSettled = false
    let requestDone = false
    const release = (): void => {
      if (cancelSettled && requestDone) {
        this.holds--
        this.drain()
      }
    }
    ;(head as QueryRequest).onSettled = () => {
      requestDone = true
      release()
    }
    const settle = (): void => {
      cancelSettled = true
      release()
    }
    // After close() the query still runs until Terminate is read: cancel it all the same.
    if (key === undefined || this.destroyed) return settle()
    sendCancel(this.config, this.session.processId, key).then(settle, settle)
  }

  /** Ends a pending query, once. */
  private finish(p: Pending, err: Error | undefined, value?: unknown): void {
    if (p.state === 'done') return
    p.state = 'done'
    p.cleanup?.()
    // A pipeline statement settles the pipeline's own promise (see Pipeline.query).
    if (err !== undefined) p.kind === 'pipelined' ? p.reject(err) : p.resolve(rejectionWithCallerFrames(err))
    else p.resolve(value)
  }

  /** Writes queued queries while nothing forbids it. */
  private drain(): void {
    while (this.waiting.length > 0 && this.holds === 0 && this.session.pending < this.maxInFlight && !this.isClosed) {
      this.dispatch(this.waiting.shift()!)
    }
    if (this.onIdle !== undefined && ((this.waiting.length === 0 && this.holds === 0) || this.owner !== undefined)) {
      const idle = this.onIdle
      this.onIdle = undefined
      idle()
    }
  }

  private dispatch(p: Pending): void {
    if (p.abortReason !== undefined) return this.finish(p, canceledError(p.sql, p.abortReason, false))
    if (p.kind === 'simple') return this.sendSimple(p)
    if (p.kind === 'pipelined') return this.sendPipelined(p)
    if (p.kind === 'sync') return this.sendPipelineSync(p)
    if (p.kind === 'describe') return this.sendDescribe(p)
    if (p.kind === 'stream') return this.sendStream(p)
    if (p.kind === 'copy') return this.sendCopy(p)
    if (p.statement !== undefined) return this.sendPrepared(p, p.statement)
    if (!p.prepare) return this.sendUnnamed(p)
    const stmt = this.cache.get(p.sql)
    if (stmt === undefined) return this.describeThenSend(p)
    if (stmt.ready) return this.sendPrepared(p, stmt)
    this.sendUnnamed(p) // being prepared elsewhere (a pipeline): go unnamed this once
  }

  private sendSimple(p: Pending): void {
    this.closePendingStatements()
    fe.query(this.writer, p.sql)
    this.enqueue(p, new QueryRequest(p.sql, p.types, p.mode, this.plainHooks, ...this.settle(p, undefined)))
  }

  /** Parse, Bind and Describe of the unnamed portal, parameters typed by their JS values; false when they cannot be encoded. */
  private writeUnnamedPortal(p: Pending): boolean {
    let bind
    try {
      bind = encodeUntyped(p.types, p.params)
    } catch (err) {
      this.finish(p, err as Error)
      return false
    }
    const w = this.writer
    this.closePendingStatements()
    fe.parse(w, '', p.sql, bind.oids)
    fe.bind(w, '', '', bind.formats, bind.values, EMPTY as number[])
    fe.describe(w, 'P', '')
    return true
  }

  private sendUnnamed(p: Pending): void {
    if (!this.writeUnnamedPortal(p)) return
    const w = this.writer
    fe.execute(w, '', 0)
    fe.sync(w)
    this.enqueue(p, new QueryRequest(p.sql, p.types, p.mode, this.plainHooks, ...this.settle(p, undefined)))
  }

  private sendPrepared(p: Pending, stmt: CachedStatement): void {
    let bind
    try {
      bind = encodeTyped(p.types, stmt.paramOids, p.params)
    } catch (err) {
      return this.finish(p, err as Error)
    }
    const w = this.writer
    this.closePendingStatements()
    const fields = p.format === 'auto' ? stmt.fields : withFormats(stmt.fields, p.types, p.format)
    fe.bind(w, '', stmt.name, bind.formats, bind.values, fields === stmt.fields ? stmt.resultFormats : formatsOf(fields))
    fe.execute(w, '', 0)
    fe.sync(w)
    // An explicitly prepared statement is the caller's: no silent re-prepare.
    const cached = p.statement === undefined ? stmt : undefined
    const plan = fields === stmt.fields ? this.planFor(stmt, p) : undefined
    this.enqueue(p, new QueryRequest(p.sql, p.types, p.mode, this.plainHooks, ...this.settle(p, cached), fields, plan))
  }

  /** A pipelined statement: no Sync, and no describe round trip (the pipeline must not stall). */
  private sendPipelined(p: Pending): void {
    const g = p.group!
    if (g.request === undefined) {
      g.request = new GroupRequest()
      this.session.enqueue(g.request)
      this.openGroups++
    }
    const w = this.writer
    this.closePendingStatements()
    let stmt = p.prepare ? this.cache.get(p.sql) : undefined
    let bind
    try {
      bind = stmt?.ready ? encodeTyped(p.types, stmt.paramOids, p.params) : encodeUntyped(p.types, p.params)
    } catch (err) {
      this.finish(p, err as Error)
      return this.refuseInGroup(p, g.request, err as Error)
    }
    let hooks = this.plainHooks
    let fields: CachedStatement['fields'] | undefined
    let plan: RowDecoder | undefined
    if (stmt?.ready) {
      fields = p.format === 'auto' ? stmt.fields : withFormats(stmt.fields, p.types, p.format)
      fe.bind(w, '', stmt.name, bind.formats, bind.values, fields === stmt.fields ? stmt.resultFormats : formatsOf(fields))
      if (fields === stmt.fields) plan = this.planFor(stmt, p)
    } else if (p.prepare && stmt === undefined) {
      stmt = this.cache.add(p.sql)
      hooks = this.preparingHooks(stmt)
      fe.parse(w, stmt.name, p.sql, bind.oids)
      fe.describe(w, 'S', stmt.name)
      fe.bind(w, '', stmt.name, bind.formats, bind.values, EMPTY as number[])
    } else {
      fe.parse(w, '', p.sql, bind.oids)
      fe.bind(w, '', '', bind.formats, bind.values, EMPTY as number[])
      fe.describe(w, 'P', '')
    }
    fe.execute(w, '', 0)
    const req = new QueryRequest(p.sql, p.types, p.mode, hooks, ...this.settle(p, undefined), fields, plan)
    p.state = 'sent'
    p.request = req
    g.request.add(req)
    this.scheduleFlush()
  }

  /**
   * A pipelined statement that cannot be encoded: the statements around it
   * in its Sync group must not commit without it, so a Bind of a statement
   * that does not exist stands in for it; the server refuses that, which
   * aborts the group as any error would.
   */
  private refuseInGroup(p: Pending, group: GroupRequest, err: Error): void {
    fe.bind(this.writer, '', REFUSED_STATEMENT, EMPTY as number[], [], EMPTY as number[])
    const stand = new QueryRequest(p.sql, p.types, p.mode, this.plainHooks, noop, noop)
    group.addRefused(stand, err)
    this.scheduleFlush()
  }

  private sendPipelineSync(p: Pending): void {
    const req = p.group!.request
    if (req === undefined) return this.finish(p, undefined)
    fe.sync(this.writer)
    req.synced = true
    this.openGroups--
    p.state = 'sent'
    req.done().then(
      () => this.finish(p, undefined),
      (err: Error) => this.finish(p, err),
    )
    req.onComplete = this.afterRequestFn
    this.scheduleFlush()
  }

  /** Hooks of a pipelined statement that prepares a named statement on the way. */
  private preparingHooks(stmt: CachedStatement): QueryHooks {
    let parsed = false
    return {
      ...this.plainHooks,
      parsed: () => {
        parsed = true
      },
      described: (paramOids, fields) => {
        if (!parsed) return
        describeInto(stmt, paramOids, fields, this.types)
      },
      parseFailed: () => {
        if (!stmt.ready) this.cache.delete(stmt.key)
      },
    }
  }

  /** Parse + Describe + Sync for describe() and prepare(): resolves with the description. */
  private sendDescribe(p: Pending): void {
    const name = p.statement?.name ?? ''
    this.closePendingStatements()
    fe.parse(this.writer, name, p.sql, [])
    fe.describe(this.writer, 'S', name)
    fe.sync(this.writer)
    p.state = 'sent'
    const req = new DescribeRequest(p.sql, (err, d) => {
      if (err !== undefined || d === undefined) return this.finish(p, err ?? new ProtocolError('no description'))
      this.finish(p, undefined, d)
    })
    this.session.enqueue(req)
    this.scheduleFlush()
  }

  /** Opens a portal and asks for its first batch; the connection is held until the stream syncs. */
  private sendStream(p: Pending): void {
    const { req, batchSize } = p.stream!
    if (!this.writeUnnamedPortal(p)) return
    const w = this.writer
    fe.execute(w, '', batchSize)
    fe.flush(w)
    this.sendHolding(p, req)
  }

  /**
   * Enqueues a request that keeps the connection to itself until its
   * ReadyForQuery (a stream's portal, a COPY): nothing else is written
   * meanwhile. The pending call resolves now: the request is under way.
   */
  private sendHolding(p: Pending, req: Request & { onComplete: (() => void) | undefined }): void {
    this.holds++
    const previous = req.onComplete
    req.onComplete = () => {
      this.holds--
      previous?.()
      this.afterRequest()
      this.drain()
    }
    this.session.enqueue(req)
    p.state = 'sent'
    this.finish(p, undefined)
    this.scheduleFlush()
  }

  /** A COPY statement through the simple protocol; the connection is held until its ReadyForQuery. */
  private sendCopy(p: Pending): void {
    const req = p.copy!
    this.closePendingStatements()
    fe.query(this.writer, p.sql)
    this.sendHolding(p, req)
  }

  /** The statement's decode plan for this query's row mode, built once (stateless modes, connection types only). */
  private planFor(stmt: CachedStatement, p: Pending): RowDecoder | undefined {
    if (stmt.fields === null || p.mode === 'columns' || p.types !== this.types) return undefined
    // A codec registered since the plan was built makes it stale.
    if (stmt.plansVersion !== this.types.version) {
      stmt.plans = new Map()
      stmt.plansVersion = this.types.version
    }
    const plans = stmt.plans!
    let plan = plans.get(p.mode)
    if (plan === undefined) {
      plan = new RowDecoder(stmt.fields, this.types, p.mode)
      plans.set(p.mode, plan)
    }
    return plan
  }

  /** Prepares and describes a new statement, holding later queries until its description is back. */
  private describeThenSend(p: Pending): void {
    const stmt = this.cache.add(p.sql)
    this.closePendingStatements()
    fe.parse(this.writer, stmt.name, p.sql, [])
    fe.describe(this.writer, 'S', stmt.name)
    fe.sync(this.writer)
    p.state = 'describing'
    this.holds++
    this.session.enqueue(
      (p.describe = new DescribeRequest(p.sql, (err, d) => {
        this.holds--
        if (err !== undefined || d === undefined) {
          this.cache.delete(stmt.key)
          this.finish(p, err ?? new ProtocolError('no description'))
        } else {
          describeInto(stmt, d.paramOids, d.fields, this.types)
          // This query goes first: it was called before everything now waiting.
          this.dispatch(p)
        }
        this.drain()
      })),
    )
    this.scheduleFlush()
  }

  private readonly plainHooks: QueryHooks = {
    copyInRefused: () => {
      fe.copyFail(this.writer, 'COPY FROM STDIN is not supported through query(); use the COPY API')
      this.scheduleFlush()
    },
    commandTag: (tag) => {
      // The user dropped every prepared statement: forget ours without Close.
      if (tag === 'DISCARD ALL' || tag === 'DEALLOCATE ALL') this.cache.clear()
    },
  }

  /** resolve/reject for a wire request of `p`, with stale-statement retry and cancel bookkeeping. */
  private settle(p: Pending, stmt: CachedStatement | undefined): [(r: Result<unknown>[]) => void, (e: Error) => void] {
    return [
      // One statement, one result; a simple query gives one per statement.
      (results) => this.finish(p, undefined, p.kind === 'simple' ? results : results[0]),
      (err) => {
        const stale = stmt === undefined ? undefined : isStaleStatement(err)
        if (stale !== undefined && stmt !== undefined) {
          this.cache.delete(stmt.key)
          if (stale === 'changed') this.cache.toClose.push(stmt.name)
          // Retrying is only transparent outside a transaction block.
          if (!p.retried && this.session.transactionStatus === 'I' && p.abortReason === undefined && !this.isClosed) {
            p.retried = true
            p.state = 'queued'
            p.request = undefined
            this.waiting.unshift(p)
            this.drain()
            return
          }
        }
        if (p.abortReason !== undefined && 'code' in err && err.code === '57014') {
          Object.defineProperty(err, 'cause', { value: p.abortReason, enumerable: false, writable: true, configurable: true })
        }
        this.finish(p, err)
      },
    ]
  }

  private enqueue(p: Pending, req: QueryRequest): void {
    p.state = 'sent'
    p.request = req
    req.onComplete = this.afterRequestFn
    this.session.enqueue(req)
    // Alone in flight (a sequential caller): write now rather than on the
    // next tick; queries issued together still go out in one write.
    if (this.session.pending === 1 && !this.flushScheduled && this.openGroups === 0) this.flush()
    else this.scheduleFlush()
  }

  /** afterRequest bound once, rather than a closure per query. */
  private readonly afterRequestFn = (): void => this.afterRequest()

  /** A request finished: a cancel may now target the next one, and waiting queries may go. */
  private afterRequest(): void {
    if (this.cancelWanted.size > 0) this.maybeSendCancel()
    if (this.waiting.length > 0) this.drain()
  }

  private closePendingStatements(): void {
    const names = this.cache.toClose
    if (names.length === 0) return
    for (const name of names) fe.close(this.writer, 'S', name)
    names.length = 0
  }

  private checkOpen(): void {
    // Once close() is called nothing new is taken, even while queries queued
    // before it still go out ahead of Terminate.
    if (this.isClosed || this.closing !== undefined) {
      // Closed by the server or the network rather than by close()/terminate():
      // a ConnectionError, like a query in flight gets, and safe to retry
      // elsewhere since nothing was sent.
      const lost = this.lostError
      if (lost !== undefined && !this.closedByUser) throw new ConnectionError(describeLoss(lost), { retrySafe: true, cause: lost })
      throw new InterfaceError('the connection is closed', { cause: this.closeError })
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    process.nextTick(() => {
      this.flushScheduled = false
      this.flush()
    })
  }

  private flush(): void {
    const s = this.socket
    if (this.writer.length === 0 || s === undefined || s.destroyed) return
    // While the kernel buffer is full, keep gathering; 'drain' flushes again.
    if (s.writableNeedDrain) return
    // An open pipeline group has no Sync yet: ask the server to send what it has.
    if (this.openGroups > 0) fe.flush(this.writer)
    s.write(this.writer.flush())
  }

  /**
   * Sends Terminate after the queries already queued or in flight and closes
   * the socket; those queries finish first. A transaction, stream or COPY
   * left open by its owner is not waited for: the server drops it when the
   * connection ends, and its later calls reject. Calling close() again
   * returns the first call's promise.
   */
  close(): Promise<void> {
    this.closedByUser = true // from now on, using the connection is the caller's mistake
    this.closing ??= this.closeNow()
    return this.closing
  }

  private async closeNow(): Promise<void> {
    // Closed already by the server or the network: nothing to say goodbye to.
    if (this.isClosed) return this.socket === undefined || this.destroyed ? undefined : this.closedPromise
    // Queries still waiting in the client go first; then Terminate.
    if ((this.waiting.length > 0 || this.holds > 0) && this.owner === undefined) {
      await new Promise<void>((resolve) => (this.onIdle = resolve))
    }
    this.markClosed()
    // Queued by a transaction or pipeline after close() was called: never sent.
    for (const p of this.waiting.splice(0)) {
      this.finish(p, new ConnectionError('the connection was closed before the query was sent', { retrySafe: true }))
    }
    const socket = this.socket
    if (socket === undefined || socket.destroyed) return
    this.closeError ??= new ConnectionError('the connection was closed by close() before the server answered', { retrySafe: false })
    fe.terminate(this.writer)
    this.flushScheduled = false
    if (this.writer.length > 0) socket.write(this.writer.flush())
    socket.end()
    if (this.session.pending > 0) {
      // Requests in flight: the server answers them before it reads
      // Terminate, then closes; until then the socket keeps the process alive.
      return this.closedPromise
    }
    // Done once Terminate and our FIN are with the kernel, as libpq's
    // PQfinish: waiting for the server's FIN too would add its backend's
    // exit to every close (about a millisecond). The socket, unreferenced,
    // closes when the server's FIN arrives.
    socket.unref()
    await new Promise<void>((resolve) => {
      if (socket.writableFinished || socket.destroyed) return resolve()
      socket.once('finish', resolve)
      socket.once('close', resolve)
    })
  }

  /** For JSON.stringify and inspect: where it is connected and its state; never the config's secrets or the TLS settings. */
  toJSON(): { host: string; port: number; database: string; user: string; processId: number; state: 'idle' | 'busy' | 'closed'; inFlight: number } {
    return {
      host: this.config.host,
      port: this.config.port,
      database: this.config.database,
      user: this.config.user,
      processId: this.session.processId,
      state: this.isClosed ? 'closed' : this.busy ? 'busy' : 'idle',
      inFlight: this.session.pending + this.waiting.length,
    }
  }

  // console.log(conn) prints that summary instead of every internal field
  // (hundreds of lines, the TLS key passphrase among them). Node finds the
  // method by this registered symbol, so node:util need not be imported.
  [Symbol.for('nodejs.util.inspect.custom')](depth: number, options: object, inspect: (value: unknown, options?: object) => string): string {
    return depth < 0 ? '[Connection]' : `Connection ${inspect(this.toJSON(), { ...options, breakLength: Infinity })}`
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  private markClosed(): void {
    if (!this.isClosed) {
      this.isClosed = true
      this.cache.clear()
    }
  }

  /** Tears the connection down at once; pending requests fail with `err`. */
  private destroy(err: PglineError): void {
    if (this.destroyed) return
    this.destroyed = true
    const byClient = this.isClosed && this.socket !== undefined
    this.markClosed()
    this.closeError ??= err
    if (!byClient) this.lostError = err
    this.readyWaiter?.reject(err)
    const waiting = this.waiting.splice(0)
    this.session.die(err)
    for (const p of waiting) this.finish(p, new ConnectionError(`connection lost before the query was sent: ${err.message}`, { retrySafe: true, cause: err }))
    if (this.socket !== undefined && !this.socket.destroyed) this.socket.destroy()
    const idle = this.onIdle
    this.onIdle = undefined
    idle?.()
    emit([...this.closeListeners], byClient && this.session.pending === 0 ? undefined : err)
  }
}

/** How a stream or COPY is ended by its signal or timeout. */
interface Stopper {
  /** Ends it on the client with `err` and writes what ends it on the wire (its own messages are already written). */
  stop(err: DatabaseError): void
  /** Cancels it on the server; called once it is the request running. */
  cancel(): void
}

function noop(): void {}

/** A stream's or COPY's timeout option, checked before anything is claimed or sent. */
function checkTimeout(timeout: unknown): number {
  if (timeout === undefined) return 0
  if (typeof timeout !== 'number' || !(timeout >= 0)) throw new InterfaceError(`timeout must be a non-negative number of milliseconds, got ${typeof timeout === 'number' ? timeout : typeof timeout}`)
  return timeout
}

/** The message of a query refused because the server or the network ended the connection. */
function describeLoss(err: PglineError): string {
  if (err instanceof DatabaseError) return `the server closed the connection: ${err.message} (SQLSTATE ${err.code})`
  return `the connection was lost: ${err.message}`
}

/** Quotes an identifier for SQL text ("a""b"); NUL cannot appear in one. */
export function quoteIdentifier(name: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0')) {
    throw new InterfaceError(`invalid identifier ${JSON.stringify(name)}`)
  }
  return '"' + name.replace(/"/g, '""') + '"'
}


export function connect(input: string | ConnectionOptions = {}, extra: ConnectionOptions = {}): Promise<Connection> {
  return Connection.connect(input, extra)
}

export type { Notification }
