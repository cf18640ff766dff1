// The public connection, a thin shell around the engine: opens the socket
// and TLS, feeds what it receives to the session and writes what the engine
// gives, turns AbortSignals and timeouts into aborts (watchdog.ts), and
// exposes the public methods. Which messages each operation sends, when it
// may be written, and how it settles is the engine's (session/engine.ts).

import type net from 'node:net'
import { ConnectionError, DatabaseError, InterfaceError, ProtocolError, type PglineError } from '../errors/base.js'
import { parseUrl, resolveConfig, type ResolvedConfig } from '../config/config.js'
import { sessionSettings } from '../config/session-settings.js'
import { connectToHosts, sessionMatches } from './connect-hosts.js'
import { Decoder } from '../protocol/decoder.js'
import * as fe from '../protocol/frontend.js'
import type { NoticeFields } from '../protocol/messages.js'
import { Writer } from '../protocol/writer.js'
import { Engine } from '../session/engine.js'
import type { Description } from '../session/ops/describe.js'
import type { Op } from '../session/pending.js'
import { checkResultFormat, type QueryOptions } from '../session/query-options.js'
import { Session, type Notification, type Request, type StartupSettings } from '../session/session.js'
import type { CachedStatement } from '../session/statement-cache.js'
import type { Wire } from '../session/wire.js'
import { sendCancel } from '../transport/cancel.js'
import { describeTarget, isUnixSocketHost, openSocket } from '../transport/socket.js'
import { serverEndPoint, sslRequest, startTls, type TlsOptions } from '../transport/tls.js'
import type tls from 'node:tls'
import { defaultTypeMap, TypeMap } from '../types/type-map.js'
import type { ColumnsResult, Result, Row } from '../types/result.js'
import { rejectionWithCallerFrames } from './caller-frames.js'
import { emit } from './emit.js'
import { debugFlags, QueryLog, writeLine } from './query-log.js'
import { ProtocolTrace } from './protocol-trace.js'
import { answerPasswordRequest } from './password.js'
import { connectChannel, finishQuery, queryChannel, TRACE_INFO, traceParents, transactionOf, traceCallbacks, tracePromise, type ConnectionTraceInfo, type ConnectTraceContext, type QueryTraceContext } from './diagnostics.js'
import { Pipeline, PipelineLink } from './pipeline.js'
import type { ConnectionOptions, PreparedStatement, StatementDescription } from './connection-options.js'
import { prepareStatement } from './prepared.js'
import { quoteIdentifier } from './quote.js'
import { simpleText, toQuery, type SqlQuery } from './sql.js'
import { runTransaction, type Transaction, type TransactionHost, type TransactionOptions } from './transaction.js'
import { Cursor, ServerCursor, type ServerCursorOptions } from './cursor.js'
import type { CopyIn, CopyOut } from './copy.js'
import type { CopyOptions } from './copy-setup.js'
import { copyFrom, copyTo, exchange, openStream, type Flow, type HeldHost } from './held.js'
import { loadType, registerCustom, type CustomCodec, type LoadedType } from './type-loader.js'
import type { RowStream, StreamOptions } from './stream.js'
import { Watchdog } from './watchdog.js'

export type { QueryOptions, ResultFormat } from '../session/query-options.js'
export type { ConnectionOptions, PreparedStatement, StatementDescription } from './connection-options.js'
export { quoteIdentifier } from './quote.js'

type Listener<T> = (value: T) => void

const EMPTY: readonly unknown[] = []
const NO_OPTIONS: QueryOptions = {}
const DEFAULT_CANCEL_GRACE = 5_000

/** The key of Connection's hook for pgline/pg (see [EXCHANGE] below). */
export const EXCHANGE: unique symbol = Symbol('pgline.exchange')

function checkPrintNotices(v: unknown): 'warning' | 'all' | 'none' {
  if (v === undefined) return 'warning'
  if (v === 'warning' || v === 'all' || v === 'none') return v
  throw new InterfaceError(`printNotices must be 'warning', 'all' or 'none', got ${JSON.stringify(v)}`)
}

export class Connection {
  /** The connection's type map: register codecs here to affect only this connection. */
  readonly types: TypeMap
  private readonly writer = new Writer()
  private readonly decoder: Decoder
  private readonly session: Session
  private readonly engine: Engine
  private readonly watchdog: Watchdog
  private readonly pooler: 'transaction' | undefined
  private readonly queryTimeout: number
  private readonly cancelGrace: number
  private socket: net.Socket | undefined
  private flushScheduled = false
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
  private readonly tls: TlsOptions
  private readonly startup: StartupSettings
  private encrypted = false
  /** LISTEN subscriptions by channel. */
  private readonly channels = new Map<string, Set<(payload: string, n: Notification) => void>>()
  /** Chunks received so far: a grace period ends only in silence. */
  private received = 0
  /** What transaction handles use of the connection (on their token's behalf). */
  private readonly host: TransactionHost
  /** What streams and COPY use of it. */
  private readonly held: HeldHost
  /** The write side as streams and COPY see it. */
  private readonly wire: Wire
  /** The first close() call's promise. */
  private closing: Promise<void> | undefined
  /** Statements logged (debug 'query', slowQueryMs), if asked for. */
  private readonly queryLog: QueryLog | undefined
  /** Message types and lengths logged (debug 'protocol'), if asked for. */
  private readonly protocolTrace: ProtocolTrace | undefined
  private readonly printNotices: 'warning' | 'all' | 'none'
  private readonly log: (line: string) => void

  private constructor(
    readonly config: ResolvedConfig,
    options: ConnectionOptions,
  ) {
    this.types = config.types ?? new TypeMap(defaultTypeMap, options.typeOptions)
    this.decoder = new Decoder({ maxMessageSize: config.maxMessageSize, reuseDataRows: true })
    this.pooler = options.pooler
    this.queryTimeout = options.queryTimeout ?? 0
    this.cancelGrace = options.cancelGrace ?? DEFAULT_CANCEL_GRACE
    if (typeof this.cancelGrace !== 'number' || !(this.cancelGrace >= 0)) {
      throw new InterfaceError(`cancelGrace must be a non-negative number of milliseconds, got ${String(options.cancelGrace)}`)
    }
    if (config.onNotice) this.noticeListeners.push(config.onNotice)
    const flags = debugFlags(options.debug)
    const log = options.log ?? ((line: string) => console.error(line))
    if (typeof log !== 'function') throw new InterfaceError(`log must be a function taking a line of text, got ${typeof log}`)
    this.printNotices = flags.notice ? 'all' : checkPrintNotices(options.printNotices)
    this.log = log
    const slow = options.slowQueryMs
    if (slow !== undefined && (typeof slow !== 'number' || !(slow >= 0))) throw new InterfaceError(`slowQueryMs must be a non-negative number of milliseconds, got ${String(slow)}`)
    if (flags.query || slow !== undefined) this.queryLog = new QueryLog(flags.query, slow, log, () => this.session.processId)
    if (flags.protocol) this.protocolTrace = new ProtocolTrace(log)
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve))
    const settings = sessionSettings(config, options)
    this.tls = settings.tls
    this.startup = settings.startup
    this.session = new Session(this.writer, this.startup, {
      notice: (n) => {
        if (this.printNotices === 'all' || (this.noticeListeners.length === 0 && this.printNotices === 'warning' && (n.severityNonLocalized ?? n.severity) === 'WARNING')) {
          writeLine(this.log, `pgline: ${n.severity}: ${n.message}${n.detail ? ` (${n.detail})` : ''}`)
        }
        emit(this.noticeListeners, n)
      },
      notification: (n) => {
        const subscribers = this.channels.get(n.channel)
        if (subscribers !== undefined) emit([...subscribers].map((f) => (x: Notification) => f(x.payload, x)), n)
        emit(this.notificationListeners, n)
      },
      parameterStatus: () => {},
      ready: () => this.readyWaiter?.resolve(),
      fatal: (err) => this.destroy(err),
      passwordNeeded: () => answerPasswordRequest(this.config, this.session, () => this.flush()),
      completed: (req) => this.engine.completed(req),
    })
    this.engine = new Engine(
      this.session,
      this.writer,
      {
        types: this.types,
        statementCacheSize: options.statementCacheSize ?? 256,
        prepare: options.prepare ?? this.pooler !== 'transaction',
        resultFormat: checkResultFormat(options.resultFormat ?? 'auto'),
        maxInFlight: options.maxInFlight ?? 1000,
        maxRows: options.maxRows,
        maxResultBytes: options.maxResultBytes,
      },
      {
        send: (now) => (now && !this.flushScheduled ? this.flush() : this.scheduleFlush()),
        cancel: (settled) => void sendCancel(this.config, this.session.processId, this.session.secretKey!).then(settled, settled),
      },
    )
    const conn = this
    this.watchdog = new Watchdog({
      engine: this.engine,
      cancelGrace: this.cancelGrace,
      get received() {
        return conn.received
      },
      kill: (err) => this.destroy(err),
      onClose: (fn) => {
        this.closeListeners.push(fn)
        return () => {
          const i = this.closeListeners.indexOf(fn)
          if (i !== -1) this.closeListeners.splice(i, 1)
        }
      },
    })
    this.wire = {
      writer: this.writer,
      flush: () => this.flush(),
      scheduleFlush: () => this.scheduleFlush(),
      drained: () => {
        const s = this.socket
        return s !== undefined && s.writableNeedDrain && !s.destroyed ? this.drained(s) : undefined
      },
      lost: () => (this.destroyed ? this.copyLost() : undefined),
    }
    this.held = {
      engine: this.engine,
      types: this.types,
      wire: this.wire,
      watchdog: this.watchdog,
      checkOpen: () => this.checkOpen(),
      run: (token, op) => this.run(token, op),
      start: (token, op, resolve, reject) => this.start(token, op, resolve, reject),
      traceInfo: () => this[TRACE_INFO](),
      // Not once closing: the server's answer and its close must be read.
      pause: () => {
        if (!this.isClosed) this.socket?.pause()
      },
      resume: () => this.socket?.resume(),
    }
    this.host = {
      runQuery: (token, sql, params, options) => this.runQuery(token, sql, params, options),
      runSimple: (token, sql, options) => this.runSimple(token, sql, options),
      streamFor: (token, sql, params, options) => openStream(this.held, token, sql, params, options),
      copyFromFor: (token, sql, a, b) => copyFrom(this.held, token, sql, a, b),
      copyToFor: (token, sql, options) => copyTo(this.held, token, sql, options),
      openPipeline: (token) => this.openPipeline(token),
      claimOwner: (token, parent) => {
        this.checkOpen()
        this.engine.claim(token, parent, 'transaction()')
      },
      releaseOwner: (token, parent) => this.engine.release(token, parent),
      get closed() {
        return conn.isClosed
      },
      get transactionStatus() {
        return conn.session.transactionStatus
      },
      traceInfo: () => this[TRACE_INFO](),
    }
  }

  /** Opens a connection and waits until the server is ready for queries. */
  static async connect(input: string | ConnectionOptions = {}, extra: ConnectionOptions = {}): Promise<Connection> {
    const options: ConnectionOptions = typeof input === 'string' ? { ...parseUrl(input), ...extra } : { ...input, ...extra }
    const config = resolveConfig(options)
    const run = (): Promise<Connection> =>
      connectToHosts(config, {
        open: async (one) => {
          const conn = new Connection(one, options)
          await conn.open()
          return conn
        },
        matches: sessionMatches,
      })
    if (!connectChannel.hasSubscribers) return run()
    // With several hosts, the first is named at the start and the one connected to at the end.
    const ctx: ConnectTraceContext = { host: config.host, port: config.port, database: config.database, user: config.user }
    return tracePromise(connectChannel, ctx, run, (c, conn) => {
      Object.assign(c, conn[TRACE_INFO]())
      c.authMethod = conn.session.authMethod
      c.serverVersion = conn.serverVersion
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
    return this.engine.busy
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
    this.protocolTrace?.incoming(chunk)
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

  private get isClosed(): boolean {
    const life = this.engine.life
    return life === 'closed' || life === 'dead'
  }

  private get destroyed(): boolean {
    return this.engine.life === 'dead'
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
   * A sql`...` fragment (or `{ text, values }`) carries its own values:
   * `query(fragment, options?)` or `query(fragment, undefined, options)`.
   */
  query<R extends unknown[] = unknown[]>(sql: SqlQuery, options: QueryOptions & { rowMode: 'array' }): Promise<Result<R>>
  query(sql: SqlQuery, options: QueryOptions & { rowMode: 'columns' }): Promise<ColumnsResult>
  query<R = Row>(sql: SqlQuery, options?: QueryOptions): Promise<Result<R>>
  query<R extends unknown[] = unknown[]>(sql: string | SqlQuery, params: readonly unknown[] | undefined, options: QueryOptions & { rowMode: 'array' }): Promise<Result<R>>
  query(sql: string | SqlQuery, params: readonly unknown[] | undefined, options: QueryOptions & { rowMode: 'columns' }): Promise<ColumnsResult>
  query<R = Row>(sql: string | SqlQuery, params?: readonly unknown[], options?: QueryOptions): Promise<Result<R>>
  query<R = Row>(sql: string | SqlQuery, params: readonly unknown[] | QueryOptions = EMPTY, options?: QueryOptions): Promise<Result<R>> {
    if (typeof sql !== 'string') {
      // A bad fragment (or one with a params array too) rejects, as every other refusal of query() does.
      try {
        ;({ text: sql, values: params, options } = toQuery(sql, params, options))
      } catch (err) {
        return Promise.reject(err)
      }
    }
    return this.runQuery<R>(undefined, sql, params as readonly unknown[], options)
  }

  /**
   * Runs SQL through the simple protocol: several statements separated by
   * semicolons, no parameters, one Result per statement. A sql`...`
   * fragment is taken only without values (sql.ident, sql.literal...): one
   * with values is refused, since the simple protocol has no parameters.
   */
  simpleQuery<R extends unknown[] = unknown[]>(sql: string | SqlQuery, options: Omit<QueryOptions, 'prepare'> & { rowMode: 'array' }): Promise<Result<R>[]>
  simpleQuery(sql: string | SqlQuery, options: Omit<QueryOptions, 'prepare'> & { rowMode: 'columns' }): Promise<ColumnsResult[]>
  simpleQuery<R = Row>(sql: string | SqlQuery, options?: Omit<QueryOptions, 'prepare'>): Promise<Result<R>[]>
  simpleQuery<R = Row>(sql: string | SqlQuery, options: Omit<QueryOptions, 'prepare'> = {}): Promise<Result<R>[]> {
    // A fragment without values only: the simple protocol has no parameters.
    if (typeof sql !== 'string') {
      try {
        sql = simpleText(sql)
      } catch (err) {
        return Promise.reject(err)
      }
    }
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
    const token = {}
    this.engine.claim(token, parent, 'pipeline()')
    const tx = transactionOf(parent)
    if (tx !== undefined) traceParents.set(token, tx)
    const pipe = new Pipeline(new PipelineLink(this.held, token)) as Pipeline & AsyncDisposable
    pipe[Symbol.asyncDispose] = async () => {
      try {
        await pipe.finish()
      } finally {
        this.engine.release(token, parent)
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
  prepare(sql: string): Promise<PreparedStatement> {
    return prepareStatement(this.held, sql, () => !this.isClosed && this.closing === undefined)
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
  stream<R extends unknown[] = unknown[]>(sql: SqlQuery, options: StreamOptions & { rowMode: 'array' }): RowStream<R>
  stream<R = Row>(sql: SqlQuery, options?: StreamOptions): RowStream<R>
  stream<R extends unknown[] = unknown[]>(sql: string | SqlQuery, params: readonly unknown[] | undefined, options: StreamOptions & { rowMode: 'array' }): RowStream<R>
  stream<R = Row>(sql: string | SqlQuery, params?: readonly unknown[], options?: StreamOptions): RowStream<R>
  stream<R = Row>(sql: string | SqlQuery, params: readonly unknown[] | StreamOptions = EMPTY, options?: StreamOptions): RowStream<R> {
    if (typeof sql !== 'string') ({ text: sql, values: params, options } = toQuery(sql, params, options))
    return openStream<R>(this.held, undefined, sql, params as readonly unknown[], options)
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
    return copyFrom(this.held, undefined, sql, a, b)
  }

  /**
   * For pgline/pg's node-postgres submittables and the replication stream:
   * gives the connection to `req` until its ReadyForQuery. `start` writes its
   * first messages; it may write more through the Wire meanwhile, and pause
   * reading through the Flow. Keyed by a symbol: not public API.
   */
  [EXCHANGE](sql: string, req: Request, start: (wire: Wire, flow: Flow) => void): Promise<void> {
    return exchange(this.held, sql, req, start)
  }

  /**
   * COPY ... TO STDOUT: iterate it for raw chunks, or rows() for decoded
   * rows. Breaking out early cancels the COPY and leaves the connection usable.
   */
  copyTo(sql: string, options: CopyOptions = {}): CopyOut {
    return copyTo(this.held, undefined, sql, options)
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
    this.engine.cache.closeAll()
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
   * Runs one operation on behalf of `token` (a transaction, pipeline, stream
   * or COPY handle's, or undefined for the connection itself). Resolves with
   * the operation's own result; a failure carries the caller's frames.
   */
  private run(token: object | undefined, op: Op): Promise<unknown> {
    return new Promise<unknown>((resolve) => this.start(token, op, resolve, (err) => resolve(rejectionWithCallerFrames(err))))
  }

  /** run() for a caller that brings its own settle functions (a pipeline statement); throws what it refuses at once. */
  private start(token: object | undefined, op: Op, resolve: (value: unknown) => void, reject: (err: Error) => void): void {
    this.checkOpen()
    if (op.kind === 'extended' || op.kind === 'pipelined' || op.kind === 'simple') {
      if (this.queryLog !== undefined) [resolve, reject] = this.queryLog.wrap(op.kind === 'extended' ? 'query' : op.kind, op.sql, resolve, reject)
      if (queryChannel.hasSubscribers) {
        const ctx: QueryTraceContext = {
          kind: op.kind,
          sql: op.sql,
          statementName: op.kind === 'extended' ? op.statement?.name : undefined,
          paramCount: op.kind === 'simple' ? 0 : op.params.length,
          connection: this[TRACE_INFO](),
          transaction: transactionOf(token),
        }
        traceCallbacks(queryChannel, ctx, resolve, reject, finishQuery, (res, rej) => this.admit(token, op, op.options, res, rej))
        return
      }
      this.admit(token, op, op.options, resolve, reject)
      return
    }
    this.admit(token, op, NO_OPTIONS, resolve, reject)
  }

  private admit(token: object | undefined, op: Op, options: QueryOptions, resolve: (value: unknown) => void, reject: (err: Error) => void): void {
    const p = this.engine.admit(token, op, resolve, reject)
    this.watchdog.watch(p, options.signal, options.timeout ?? this.queryTimeout)
    this.engine.submit(p)
  }

  /** Where this connection goes, for tracing contexts (symbol-keyed: not public API). */
  [TRACE_INFO](): ConnectionTraceInfo {
    return { host: this.config.host, port: this.config.port, database: this.config.database, user: this.config.user, processId: this.session.processId, tls: this.encrypted }
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
    if (this.engine.groupsOpen) fe.flush(this.writer)
    const out = this.writer.flush()
    this.protocolTrace?.outgoing(out)
    s.write(out)
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
    this.engine.to('closing')
    // Queries still waiting in the client go first; then Terminate.
    if (this.engine.settling) await new Promise<void>((resolve) => this.engine.whenIdle(resolve))
    this.markClosed()
    // Queued by a transaction or pipeline after close() was called: never sent.
    this.engine.dropQueued(() => new ConnectionError('the connection was closed before the query was sent', { retrySafe: true }))
    const socket = this.socket
    if (socket === undefined || socket.destroyed) return
    this.closeError ??= new ConnectionError('the connection was closed by close() before the server answered', { retrySafe: false })
    fe.terminate(this.writer)
    this.flushScheduled = false
    if (this.writer.length > 0) {
      const out = this.writer.flush()
      this.protocolTrace?.outgoing(out)
      socket.write(out)
    }
    socket.end()
    // A socket paused by a slow consumer (COPY TO, a replication stream) must
    // be read again, or the server's answer and its close are never seen.
    socket.resume()
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
      inFlight: this.engine.inFlight,
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
    if (!this.isClosed) this.engine.to('closed')
  }

  /** Tears the connection down at once; pending requests fail with `err`. */
  private destroy(err: PglineError): void {
    if (this.destroyed) return
    const byClient = this.isClosed && this.socket !== undefined
    this.closeError ??= err
    if (!byClient) this.lostError = err
    this.readyWaiter?.reject(err)
    this.engine.fail(err)
    if (this.socket !== undefined && !this.socket.destroyed) this.socket.destroy()
    emit([...this.closeListeners], byClient && this.session.pending === 0 ? undefined : err)
  }
}

/** The message of a query refused because the server or the network ended the connection. */
function describeLoss(err: PglineError): string {
  if (err instanceof DatabaseError) return `the server closed the connection: ${err.message} (SQLSTATE ${err.code})`
  return `the connection was lost: ${err.message}`
}



export function connect(input: string | ConnectionOptions = {}, extra: ConnectionOptions = {}): Promise<Connection> {
  return Connection.connect(input, extra)
}

export type { Notification }
