// The public connection: owns the socket, the decoder, the session and the
// write buffer. Every query is appended to the buffer and flushed once per
// tick, so concurrent callers share round trips without asking.

import type net from 'node:net'
import { ConnectionError, InterfaceError, ProtocolError, type PglineError } from '../errors/base.js'
import { parseUrl, resolveConfig, type ConnectOptions, type ResolvedConfig } from '../config/config.js'
import { Decoder } from '../protocol/decoder.js'
import * as fe from '../protocol/frontend.js'
import type { NoticeFields } from '../protocol/messages.js'
import { Writer } from '../protocol/writer.js'
import { Session, type Notification } from '../session/session.js'
import { describeTarget, openSocket } from '../transport/socket.js'
import { defaultTypeMap, TypeMap } from '../types/type-map.js'
import { maxPlaceholder } from './placeholders.js'
import { QueryRequest, type QueryHooks } from './query.js'
import type { Result, Row, RowMode } from './result.js'
import { StatementCache, type CachedStatement } from './statement-cache.js'

export interface QueryOptions {
  /** 'object' (default) gives rows keyed by column name; 'array' gives value arrays. */
  rowMode?: RowMode
  /** Use (and cache) a named prepared statement; default: the connection's setting. */
  prepare?: boolean
  /** A type map for this query only (usually a child of conn.types). */
  types?: TypeMap
}

export interface ConnectionOptions extends ConnectOptions {
  /** Cache prepared statements by SQL text (default true). False suits transaction-mode poolers. */
  prepare?: boolean
  /** How many prepared statements to keep per connection (default 256). */
  statementCacheSize?: number
}

type Listener<T> = (value: T) => void

const EMPTY: readonly unknown[] = []

export class Connection {
  /** The connection's type map: register codecs here to affect only this connection. */
  readonly types: TypeMap
  private readonly writer = new Writer()
  private readonly decoder: Decoder
  private readonly session: Session
  private readonly cache: StatementCache
  private readonly prepareByDefault: boolean
  private socket: net.Socket | undefined
  private flushScheduled = false
  private isClosed = false
  private destroyed = false
  private closeError: PglineError | undefined
  private readonly closedPromise: Promise<void>
  private resolveClosed!: () => void
  private readonly noticeListeners: Listener<NoticeFields>[] = []
  private readonly notificationListeners: Listener<Notification>[] = []
  private readonly closeListeners: Listener<PglineError | undefined>[] = []
  private readyWaiter: { resolve: () => void; reject: (e: PglineError) => void } | undefined

  private constructor(
    readonly config: ResolvedConfig,
    options: ConnectionOptions,
  ) {
    this.types = config.types ?? new TypeMap(defaultTypeMap)
    this.decoder = new Decoder({ maxMessageSize: config.maxMessageSize })
    this.cache = new StatementCache(Math.max(0, options.statementCacheSize ?? 256))
    this.prepareByDefault = (options.prepare ?? true) && this.cache.capacity > 0
    if (config.onNotice) this.noticeListeners.push(config.onNotice)
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve))
    this.session = new Session(
      this.writer,
      {
        user: config.user,
        password: config.password,
        database: config.database,
        protocolVersion: config.protocolVersion,
        applicationName: config.applicationName,
        options: config.options,
        parameters: config.parameters,
      },
      {
        notice: (n) => emit(this.noticeListeners, n),
        notification: (n) => emit(this.notificationListeners, n),
        parameterStatus: () => {},
        ready: () => this.readyWaiter?.resolve(),
        fatal: (err) => this.destroy(err),
      },
    )
  }

  /** Opens a connection and waits until the server is ready for queries. */
  static async connect(input: string | ConnectionOptions = {}, extra: ConnectionOptions = {}): Promise<Connection> {
    const options: ConnectionOptions = typeof input === 'string' ? { ...parseUrl(input), ...extra } : { ...input, ...extra }
    const conn = new Connection(resolveConfig(options), options)
    await conn.open()
    return conn
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
    this.socket = socket
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', (err) => this.destroy(new ConnectionError(`connection to ${target} failed: ${err.message}`, { retrySafe: false, cause: err })))
    socket.on('close', () => {
      this.destroy(this.closeError ?? new ConnectionError(`the server closed the connection to ${target}`, { retrySafe: false }))
      this.resolveClosed()
    })
    const ready = new Promise<void>((resolve, reject) => (this.readyWaiter = { resolve, reject }))
    const onTimeout = (): void => this.destroy(timedOut())
    timeout?.addEventListener('abort', onTimeout, { once: true })
    this.session.start()
    this.flush()
    try {
      await ready
    } catch (err) {
      // Startup refused (bad password, no such database): the error from the
      // server is the most useful thing to give back.
      throw err
    } finally {
      timeout?.removeEventListener('abort', onTimeout)
      this.readyWaiter = undefined
    }
  }

  private onData(chunk: Buffer): void {
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

  /**
   * Runs one statement with the extended protocol. `$1..$n` placeholders
   * take `params` in order.
   */
  query<R = Row>(sql: string, params: readonly unknown[] = EMPTY, options: QueryOptions = {}): Promise<Result<R>> {
    return new Promise<Result<unknown>[]>((resolve, reject) => {
      this.checkOpen()
      if (typeof sql !== 'string') throw new InterfaceError(`query text must be a string, got ${typeof sql}`)
      if (!Array.isArray(params)) throw new InterfaceError('query parameters must be an array')
      const expected = maxPlaceholder(sql)
      if (params.length !== expected) {
        throw new InterfaceError(
          `the query uses ${expected} parameter${expected === 1 ? '' : 's'} ($1..$${expected}) but ${params.length} ${params.length === 1 ? 'was' : 'were'} given`,
        )
      }
      this.extendedQuery(sql, params, options, resolve, reject)
    }).then((results) => results[0] as Result<R>)
  }

  /**
   * Runs SQL through the simple protocol: several statements separated by
   * semicolons, no parameters, one Result per statement.
   */
  simpleQuery<R = Row>(sql: string, options: Pick<QueryOptions, 'rowMode' | 'types'> = {}): Promise<Result<R>[]> {
    return new Promise<Result<unknown>[]>((resolve, reject) => {
      this.checkOpen()
      if (typeof sql !== 'string') throw new InterfaceError(`query text must be a string, got ${typeof sql}`)
      const req = new QueryRequest(sql, options.types ?? this.types, options.rowMode ?? 'object', this.hooksFor(undefined), resolve, reject)
      this.closePendingStatements()
      fe.query(this.writer, sql)
      this.session.enqueue(req)
      this.scheduleFlush()
    }) as Promise<Result<R>[]>
  }

  private extendedQuery(
    sql: string,
    params: readonly unknown[],
    options: QueryOptions,
    resolve: (r: Result<unknown>[]) => void,
    reject: (e: Error) => void,
  ): void {
    const types = options.types ?? this.types
    const n = params.length
    const oids = new Array<number>(n)
    const formats = new Array<number>(n)
    const values = new Array<fe.ParamValue>(n)
    for (let i = 0; i < n; i++) {
      const p = types.encode(params[i], i)
      oids[i] = p.oid
      formats[i] = p.format
      values[i] = p.value
    }
    const w = this.writer
    this.closePendingStatements()
    const mode = options.rowMode ?? 'object'
    const prepare = (options.prepare ?? this.prepareByDefault) && this.cache.capacity > 0
    let stmt: CachedStatement | undefined
    if (prepare) {
      const key = StatementCache.key(sql, oids)
      stmt = this.cache.get(key)
      if (stmt === undefined) {
        stmt = this.cache.add(key)
        this.closePendingStatements()
        fe.parse(w, stmt.name, sql, oids)
        fe.describe(w, 'S', stmt.name)
        fe.bind(w, '', stmt.name, formats, values, EMPTY as number[])
        fe.execute(w, '', 0)
        fe.sync(w)
        this.session.enqueue(new QueryRequest(sql, types, mode, this.hooksFor(stmt), resolve, reject))
        this.scheduleFlush()
        return
      }
      if (stmt.ready) {
        fe.bind(w, '', stmt.name, formats, values, stmt.resultFormats)
        fe.execute(w, '', 0)
        fe.sync(w)
        this.session.enqueue(new QueryRequest(sql, types, mode, this.hooksFor(undefined), resolve, reject, stmt.fields))
        this.scheduleFlush()
        return
      }
      // Being prepared by an earlier request still in flight: go unnamed this once.
    }
    fe.parse(w, '', sql, oids)
    fe.bind(w, '', '', formats, values, EMPTY as number[])
    fe.describe(w, 'P', '')
    fe.execute(w, '', 0)
    fe.sync(w)
    this.session.enqueue(new QueryRequest(sql, types, mode, this.hooksFor(undefined), resolve, reject))
    this.scheduleFlush()
  }

  private hooksFor(stmt: CachedStatement | undefined): QueryHooks {
    const copyInRefused = (): void => {
      fe.copyFail(this.writer, 'COPY FROM STDIN is not supported through query(); use the COPY API')
      this.scheduleFlush()
    }
    if (stmt === undefined) return { copyInRefused }
    let parsed = false
    return {
      copyInRefused,
      parsed: () => {
        parsed = true
      },
      described: (paramOids, fields) => {
        if (!parsed) return
        stmt.paramOids = paramOids
        stmt.fields = fields === null ? null : fields.map((f) => ({ ...f, format: this.types.hasBinary(f.typeOid) ? 1 : 0 }))
        stmt.resultFormats = stmt.fields === null ? [] : stmt.fields.map((f) => f.format)
        stmt.ready = true
      },
      // A Parse that failed leaves nothing on the server to close.
      parseFailed: () => {
        if (!stmt.ready) this.cache.delete(stmt.key)
      },
    }
  }

  private closePendingStatements(): void {
    const names = this.cache.toClose
    if (names.length === 0) return
    for (const name of names) fe.close(this.writer, 'S', name)
    names.length = 0
  }

  private checkOpen(): void {
    if (this.isClosed) {
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
    if (this.writer.length === 0 || this.socket === undefined || this.socket.destroyed) return
    this.socket.write(this.writer.flush())
  }

  /** Sends Terminate after the queries already queued and closes the socket. */
  async close(): Promise<void> {
    if (this.isClosed) return this.closedPromise
    this.markClosed()
    const socket = this.socket
    if (socket === undefined || socket.destroyed) return
    fe.terminate(this.writer)
    this.flush()
    socket.end()
    await this.closedPromise
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
    this.readyWaiter?.reject(err)
    this.session.die(err)
    if (this.socket !== undefined && !this.socket.destroyed) this.socket.destroy()
    emit(this.closeListeners, byClient && this.session.pending === 0 ? undefined : err)
  }
}

export function connect(input: string | ConnectionOptions = {}, extra: ConnectionOptions = {}): Promise<Connection> {
  return Connection.connect(input, extra)
}

// Re-exported so the public surface can name it without reaching into session/.
export type { Notification }

/**
 * Calls user listeners so that one that throws cannot break the protocol
 * dispatch it is called from: its error is rethrown on its own tick, as an
 * EventEmitter listener's would be.
 */
function emit<T>(listeners: readonly Listener<T>[], value: T): void {
  for (const l of listeners) {
    try {
      l(value)
    } catch (err) {
      process.nextTick(() => {
        throw err
      })
    }
  }
}
