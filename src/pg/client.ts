// node-postgres's Client over a pgline Connection: the same constructor
// config, query() forms, callbacks, events and results, with pgline's
// protocol engine underneath (queries issued together share round trips,
// each with its own Sync, so an error stays with its query).

import { pgConnectionChannel, pgQueryChannel, type PgClientInfo } from './diagnostics.js'
import { EventEmitter } from 'node:events'
import { Connection, EXCHANGE, connect } from '../client/connection.js'
import { ConnectionError } from '../errors/base.js'
import type { ConnectionOptions } from '../client/connection-options.js'
import { quoteIdentifier } from '../client/quote.js'
import type { Notice } from '../config/notice.js'
import type { Result as PglineResult } from '../types/result.js'
import type { PglineError } from '../errors/base.js'
import { resolved, toConnectionOptions, type ClientConfig } from './config.js'
import { defaults } from './defaults.js'
import { TERMINATED, toPgError, toPgNotice } from './errors.js'
import type { PglineSubmittable } from './cursor.js'
import { Result, type QueryResult } from './result.js'
import { TypeOverrides, typeMapFor, type TypeSource } from './types.js'
import { Query } from './query.js'
import { ProtocolConnection, SubmitRequest } from './submit.js'
import { prepareValues } from './values.js'

export interface QueryConfig {
  text: string
  values?: readonly unknown[]
  /** A prepared statement name: node-postgres prepares it once per client; pgline caches by text. */
  name?: string
  rowMode?: 'array'
  types?: TypeSource
  /** 'extended': the extended protocol even without values (one statement only). */
  queryMode?: 'extended'
}

/** An object node-postgres would hand its connection to (pg-cursor, pg-query-stream). */
export interface Submittable {
  submit(connection: unknown): void
}

type Callback<T> = (err: Error | null, result: T) => void

/** node-postgres's escapeIdentifier: "a""b". */
export function escapeIdentifier(s: string): string {
  return quoteIdentifier(s)
}

/** node-postgres's escapeLiteral: 'it''s', and E'...' with doubled backslashes when there are any. */
export function escapeLiteral(s: string): string {
  let hasBackslash = false
  let out = "'"
  for (const c of s) {
    if (c === "'") out += "''"
    else if (c === '\\') {
      out += '\\\\'
      hasBackslash = true
    } else out += c
  }
  out += "'"
  return hasBackslash ? ' E' + out : out
}

/** Makes a config's password and connection string non-enumerable (console.log, JSON.stringify and spreads skip them). */
export function hideSecrets(config: { password?: unknown; connectionString?: string; ssl?: unknown }): void {
  for (const key of ['password', 'connectionString'] as const) {
    if (config[key] === undefined) delete config[key]
    else Object.defineProperty(config, key, { enumerable: false, value: config[key], writable: true, configurable: true })
  }
  // A TLS private key (and its passphrase) is as secret as a password.
  if (config.ssl !== null && typeof config.ssl === 'object') {
    // A copy with every property, hidden ones included (the config may have been through here already).
    const ssl = Object.defineProperties({}, Object.getOwnPropertyDescriptors(config.ssl)) as Record<string, unknown>
    for (const key of ['key', 'passphrase', 'pfx']) {
      if (ssl[key] !== undefined) Object.defineProperty(ssl, key, { enumerable: false, value: ssl[key], writable: true, configurable: true })
    }
    config.ssl = ssl
  }
}

export class Client extends EventEmitter {
  /** Where it connects, as node-postgres exposes it. */
  readonly user: string | undefined
  readonly database: string | undefined
  readonly host: string | undefined
  readonly port: number | undefined
  /** node-postgres's resolved connection settings (never the password). */
  readonly connectionParameters: Record<string, unknown>
  private readonly promises: ClientConfig['Promise']
  /**
   * node-postgres's internal connection: an emitter of parameterStatus
   * (Sequelize waits for it) and of a running submittable's messages, with
   * the writers pg-cursor and pg-query-stream call.
   */
  readonly connection = new ProtocolConnection(() => void this.end().catch(() => undefined))
  _ending = false
  _connecting = false
  _connected = false
  _queryable = true
  private conn: Connection | undefined
  private opening: Promise<Connection> | undefined
  private readonly config: ClientConfig
  private readonly overrides: TypeOverrides
  private readonly source: TypeSource
  private readonly connectWaiters: ((c: Connection | undefined) => void)[] = []

  constructor(config: string | ClientConfig = {}) {
    super()
    // The password is read on its own: Knex makes it non-enumerable (to keep it out of logs), which a spread would drop.
    this.config = typeof config === 'string' ? { connectionString: config } : { ...config, password: config.password, connectionString: config.connectionString }
    // Not enumerable here either, nor the URL that may carry it: a client printed or serialised never shows them.
    hideSecrets(this.config)
    // Not enumerable: a client printed or serialised never shows it.
    const password = this.config.password ?? process.env.PGPASSWORD ?? defaults.password
    Object.defineProperty(this, 'password', { value: password, enumerable: false, writable: true, configurable: true })
    const where = resolved(this.config)
    this.user = where.user
    this.database = where.database
    this.host = where.host
    this.port = where.port
    this.connectionParameters = { user: where.user, database: where.database, host: where.host, port: where.port, ssl: this.config.ssl ?? false, application_name: this.config.application_name, options: this.config.options }
    this.promises = this.config.Promise
    this.source = this.config.types ?? new TypeOverrides()
    this.overrides = this.source instanceof TypeOverrides ? this.source : new TypeOverrides(this.source)
  }

  /** The promise a caller gets: of the configured Promise implementation, if one was given. */
  private wrap<T>(p: Promise<T>): Promise<T> {
    return this.promises === undefined ? p : (this.promises.resolve(p) as Promise<T>)
  }

  /** node-postgres's transaction status: 'I' idle, 'T' in a transaction, 'E' in a failed one. */
  get _txStatus(): 'I' | 'T' | 'E' | null {
    return this.conn?.transactionStatus ?? null
  }

  /** The backend process id, once connected (Knex cancels with it). */
  get processID(): number | null {
    return this.conn?.processId ?? null
  }

  setTypeParser(oid: number, format: 'text' | 'binary' | ((value: string) => unknown), parser?: (value: string) => unknown): void {
    this.overrides.setTypeParser(oid, format, parser)
  }

  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    return this.overrides.getTypeParser(oid, format)
  }

  escapeIdentifier(s: string): string {
    return escapeIdentifier(s)
  }

  escapeLiteral(s: string): string {
    return escapeLiteral(s)
  }

  connect(): Promise<void>
  connect(callback: (err: Error | null) => void): void
  connect(callback?: (err: Error | null) => void): Promise<void> | void {
    const done = (pgConnectionChannel.hasSubscribers ? pgConnectionChannel.tracePromise(() => this.open(), { connection: this.traceInfo() }) : this.open()).then(() => undefined)
    if (callback === undefined) return this.wrap(done)
    done.then(() => callback(null), (err: Error) => callback(err))
  }

  private open(): Promise<Connection> {
    if (this.opening !== undefined) return Promise.reject(new Error('Client has already been connected. You cannot reuse a client.'))
    this._connecting = true
    this.opening = (async () => {
      const options: ConnectionOptions = await toConnectionOptions(this.config)
      options.types = this.overrides === this.source ? typeMapFor(this.overrides) : typeMapFor(this.source)
      options.prepare = false
      options.onNotice = (n: Notice) => this.emit('notice', toPgNotice(n))
      let conn: Connection
      try {
        conn = await connect(options)
      } catch (err) {
        this._connecting = false
        this._queryable = false
        throw toPgError(err, true)
      }
      this.conn = conn
      this._connecting = false
      this._connected = true
      for (const [name, value] of conn.parameters) this.connection.emit('parameterStatus', { parameterName: name, parameterValue: value })
      this.emit('connect')
      conn.on('notification', (n) => this.emit('notification', { processId: n.processId, channel: n.channel, payload: n.payload }))
      conn.on('close', (err: PglineError | undefined) => {
        this._queryable = false
        // As node-postgres: the server's own farewell (a FATAL) when nothing
        // was running, else 'Connection terminated unexpectedly' (the running
        // queries got the server's error themselves).
        const busy = this.active > 0
        // After the failed queries' callbacks, as node-postgres orders them.
        setImmediate(() => {
          if (err !== undefined && !this._ending) {
            const cause = new ConnectionError(err.message, { retrySafe: busy, cause: err })
            this.emit('error', toPgError(cause))
          }
          this.emitEnd()
        })
      })
      return conn
    })()
    // A connect() that fails is reported to its caller; queries waiting on it fail too.
    this.opening.then(
      (c) => this.connectWaiters.splice(0).forEach((w) => w(c)),
      () => this.connectWaiters.splice(0).forEach((w) => w(undefined)),
    )
    return this.opening
  }

  query(query: Query, callback?: (err: Error | null, result?: QueryResult) => void): Query
  query<R = any>(text: string | QueryConfig, values?: readonly unknown[]): Promise<QueryResult<R>>
  query<R = any>(text: string | QueryConfig, callback: Callback<QueryResult<R>>): void
  query<R = any>(text: string | QueryConfig, values: readonly unknown[] | undefined, callback: Callback<QueryResult<R>>): void
  query<T extends Submittable>(submittable: T): T
  query(a: string | QueryConfig | Submittable | Query, b?: readonly unknown[] | Callback<QueryResult>, c?: Callback<QueryResult>): unknown {
    if (a instanceof Query) {
      if (a.callback === undefined && typeof b === 'function') a.callback = b as never
      a.settle(this.run({ text: a.text, values: a.values, name: a.name, rowMode: a.rowMode, types: a.types }))
      return a
    }
    if (a !== null && typeof a === 'object' && typeof (a as Submittable).submit === 'function') return this.submit(a as Submittable)
    const callback = typeof b === 'function' ? b : c
    const values = typeof b === 'function' ? undefined : b
    const config: QueryConfig = typeof a === 'string' ? { text: a, values } : { ...(a as QueryConfig) }
    if (values !== undefined) config.values = values
    const promise = this.run(config)
    if (callback === undefined) return this.wrap(promise)
    promise.then((r) => callback(null, r), (err: Error) => callback(err, undefined as unknown as QueryResult))
    return undefined
  }

  private submit(s: Submittable): Submittable {
    const turn = this.takeTurn()
    const connection = async (): Promise<Connection> => {
      if (turn.before !== undefined) await turn.before
      if (this._ending) throw new Error('Client was closed and is not queryable')
      const conn = this.conn ?? (this.opening !== undefined ? await this.opening.catch(() => undefined) : await this.waitForConnect())
      if (conn === undefined || !this._queryable) throw new Error('Client has encountered a connection error and is not queryable')
      return conn
    }
    const own = s as Partial<PglineSubmittable>
    if (typeof own.pglineSubmit === 'function') {
      own.pglineSubmit(Promise.resolve({ connection, types: this.source, release: turn.release }))
      return s
    }
    // node-postgres's own (pg-cursor, pg-query-stream...): it drives the connection itself.
    const handlers = s as Submittable & { text?: unknown; _result?: { _types?: unknown }; handleError?: (e: unknown, c: unknown) => void }
    // As node-postgres: a result without type parsers of its own takes the client's.
    if (handlers._result !== null && typeof handlers._result === 'object' && !handlers._result._types) handlers._result._types = this.source
    const sql = typeof handlers.text === 'string' ? handlers.text : ''
    const req = new SubmitRequest(handlers, this.connection, sql, (err) => this.emit('error', err))
    void req.done.then(turn.release)
    const refused = (err: unknown): void => {
      req.refused()
      const e = toPgError(err)
      if (typeof handlers.handleError === 'function') handlers.handleError(e, this.connection)
      else this.emit('error', e)
    }
    const start = (conn: Connection): Promise<void> => conn[EXCHANGE](sql, req, (wire) => req.start(wire))
    // On a connected client with nothing ahead of it, it starts now, within
    // query(), as in node-postgres: a close() right after query() then finds
    // it running and ends its portal (begun later, it would wait for a Sync
    // that never comes).
    if (turn.before === undefined && this.conn !== undefined && this._queryable && !this._ending) start(this.conn).catch(refused)
    else connection().then(start).catch(refused)
    return s
  }

  /**
   * A submittable's turn: it starts after the one before has let the
   * connection go, and queries issued meanwhile wait for it.
   */
  private takeTurn(): { before: Promise<void> | undefined; release: () => void } {
    const before = this.barrier
    let resolve!: () => void
    const barrier = new Promise<void>((r) => (resolve = r))
    this.barrier = barrier
    const release = (): void => {
      this.turns.delete(release)
      if (this.barrier === barrier) this.barrier = undefined
      resolve()
    }
    this.turns.add(release)
    return { before, release }
  }

  /** The releases of submittables not done yet: once the client ends, nothing waits for them. */
  private readonly turns = new Set<() => void>()

  private releaseTurns(): void {
    for (const release of [...this.turns]) release()
  }

  /**
   * While a node-postgres submittable has the connection (a cursor between
   * reads), later queries wait for it to let go, as they queue behind it in pg.
   */
  private barrier: Promise<void> | undefined

  /** Queries issued and not yet settled: when the last settles, 'drain'. */
  private active = 0
  /** Parameterless texts run once already: a second run may go prepared, with binary results. */
  private readonly seen = new Set<string>()

  /**
   * Whether a text without values runs through the extended protocol, as a
   * cached prepared statement (binary results, no Parse after the first
   * time), rather than the simple protocol node-postgres uses. Only for a
   * text seen before (a one-off pays no extra round trip to describe it),
   * with no ';' (one statement: the simple protocol alone runs several), and
   * unless `prepare: false`. The values are the same either way.
   */
  private again(text: string): boolean {
    if (this.config.prepare === false || text.includes(';') || text.length > 4096 || text.trim() === '' || /^\s*copy\b/i.test(text)) return false
    if (this.seen.has(text)) return true
    if (this.seen.size >= 256) this.seen.clear()
    this.seen.add(text)
    return false
  }

  /** Texts of named statements, so a later config may give the name alone. */
  private readonly named = new Map<string, string>()

  private run(config: QueryConfig): Promise<QueryResult> {
    if (!pgQueryChannel.hasSubscribers) return this.runCounted(config)
    const ctx = { query: { text: config.text, name: config.name }, client: { ...this.traceInfo(), processID: this.processID } }
    return pgQueryChannel.tracePromise(() => this.runCounted(config), ctx)
  }

  /** What a pg tracing context says of this client (node-postgres's shape). */
  private traceInfo(): PgClientInfo {
    return { database: this.database, host: this.host, port: this.port, user: this.user, ssl: Boolean(this.config.ssl) }
  }

  private async runCounted(config: QueryConfig): Promise<QueryResult> {
    this.active++
    try {
      return await this.runQuery(config)
    } finally {
      // As node-postgres: 'drain' once nothing is queued, after the last
      // query's own callbacks (only worth a timer when someone listens).
      if (--this.active === 0 && this.listenerCount('drain') > 0) {
        setImmediate(() => {
          if (this.active === 0 && !this._ending) this.emit('drain')
        })
      }
    }
  }

  private async runQuery(config: QueryConfig): Promise<QueryResult> {
    if (config.name !== undefined) {
      // A named statement run again may give its name alone, as in node-postgres.
      if (typeof config.text === 'string') this.named.set(config.name, config.text)
      else config = { ...config, text: this.named.get(config.name) as string }
    }
    if (typeof config.text !== 'string') throw new TypeError('Client was passed a null or undefined query')
    if (this._ending) throw new Error('Client was closed and is not queryable')
    if (this.barrier !== undefined) await this.barrier
    const conn = this.conn ?? (this.opening !== undefined ? await this.opening.catch(() => undefined) : await this.waitForConnect())
    if (conn === undefined || !this._queryable) throw new Error('Client has encountered a connection error and is not queryable')
    const types = config.types === undefined ? undefined : typeMapFor(config.types)
    const arrays = config.rowMode === 'array'
    try {
      // As node-postgres: the simple protocol without parameters (several statements allowed), else the extended one.
      if (config.name === undefined && (config.values === undefined || config.values.length === 0) && (config.queryMode ?? this.config.queryMode) !== 'extended' && !this.again(config.text)) {
        const results = await conn.simpleQuery(config.text, arrays ? { rowMode: 'array', types } : { types })
        const out = results.map((r) => Result.of(r as PglineResult<unknown>, arrays))
        if (out.length === 0) return Result.of(undefined, arrays)
        return (out.length === 1 ? out[0] : out) as QueryResult
      }
      const values = prepareValues(config.values)
      const r = await conn.query(config.text, values, {
        rowMode: arrays ? 'array' : 'object',
        types,
        // A Buffer goes in binary with no type named, as node-postgres sends it, which
        // only an unnamed statement allows (a prepared one has its parameter types fixed).
        prepare: (config.name !== undefined || this.config.prepare !== false) && !values.some(Buffer.isBuffer),
      } as never)
      return Result.of(r as PglineResult<unknown>, arrays)
    } catch (err) {
      throw toPgError(err)
    }
  }

  /** A query before connect(): node-postgres queues it until the client connects. */
  private waitForConnect(): Promise<Connection | undefined> {
    return new Promise((resolve) => this.connectWaiters.push(resolve))
  }

  end(): Promise<void>
  end(callback: (err?: Error) => void): void
  end(callback?: (err?: Error) => void): Promise<void> | void {
    this._ending = true
    const done = (async () => {
      const conn = this.conn ?? (this.opening !== undefined ? await this.opening.catch(() => undefined) : undefined)
      // As node-postgres: what runs or waits is not waited for; it fails with 'Connection terminated'.
      if (conn !== undefined && !conn.closed) {
        if (conn.busy) {
          conn.terminate(TERMINATED)
          // The failed queries' callbacks run before 'end', as in node-postgres.
          await new Promise((resolve) => setImmediate(resolve))
        } else await conn.close()
      }
      // close() is done once Terminate is sent; the socket's own close may come
      // later, or never keep the process alive for it: 'end' is due now.
      this._queryable = false
      this.emitEnd()
    })()
    if (callback === undefined) return this.wrap(done)
    done.then(() => callback(), (err: Error) => callback(err))
  }

  private endEmitted = false

  /** 'end', once, whichever comes first: end() finishing or the connection closing. */
  private emitEnd(): void {
    this.releaseTurns()
    if (this.endEmitted) return
    this.endEmitted = true
    this.connection.ended()
    this.emit('end')
  }

  /** For JSON.stringify and console.log: never the password. */
  toJSON(): object {
    return { host: this.host, port: this.port, user: this.user, database: this.database, processID: this.processID }
  }
}
