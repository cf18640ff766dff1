// A pool of connections: at most `max` open (connections being opened and
// being closed count too), at least `min` kept open in the background,
// callers served first come, first served. A connection that comes back is
// rolled back if it was left in a transaction, reset if asked, and dropped if
// it is broken, too old, or the pool shrank. When the server cannot be
// reached the pool keeps trying with exponential backoff and full jitter;
// callers wait up to `acquireTimeout` and then get a PoolTimeout naming the
// last connection error. When it refuses (wrong password, no such database:
// see heal.ts), waiting callers get that error at once. Nothing the pool
// does in the background throws or rejects where no one listens: such
// errors go to `onError`.

import { Connection, type ConnectionOptions, type QueryOptions } from '../client/connection.js'
import type { ColumnsResult, Result, Row } from '../types/result.js'
import type { TypeMap } from '../types/type-map.js'
import type { Transaction, TransactionOptions } from '../client/transaction.js'
import { parseUrl, resolveConfig } from '../config/config.js'
import { resultLimits } from '../session/query-options.js'
import { poolAcquireChannel, TRACE_INFO, tracePromise, type PoolAcquireTraceContext } from '../client/diagnostics.js'
import { ConnectionError, InterfaceError } from '../errors/base.js'
import { toQuery, type SqlQuery } from '../client/sql.js'
import { inspectCustom, summary, type InspectFn } from '../client/inspect.js'
import { ConnectionLeak, PoolClosed, PoolError, PoolExhausted, PoolTimeout } from './errors.js'
import { canHeal } from './heal.js'
import { Multiplexer } from './multiplex.js'
import { checkTarget, targetOptions, type ReplicaOptions, type Target } from './replicas.js'
import { checkOptionKeys } from '../config/known-options.js'

/** Where an error reported to `onError` came from. */
export type PoolErrorSource =
  /** Opening a connection failed (the pool retries with backoff). */
  | 'connect'
  /** `configure` threw; the new connection was closed (the pool retries with backoff). */
  | 'configure'
  /** An idle connection was closed by the server or broke; it was replaced. */
  | 'idle'
  /** `check` threw on acquire; the connection was dropped and another one tried. */
  | 'check'
  /** Rolling back a connection returned inside a transaction failed; it was dropped. */
  | 'rollback'
  /** `reset` threw on release; the connection was dropped. */
  | 'reset'
  /** A connection was held longer than `leakTimeout` (a ConnectionLeak; nothing was done to it). */
  | 'leak'

export interface PoolOptions {
  /** Connections kept open in the background (default 0). */
  min?: number
  /** Connections never exceeded, counting those being opened or closed (default 10). */
  max?: number
  /** Milliseconds a caller waits for a connection before PoolTimeout (default 30 000; 0 or Infinity: no limit). */
  acquireTimeout?: number
  /** Callers allowed to wait at once; one more is refused with PoolExhausted (default Infinity). */
  maxWaiting?: number
  /** Milliseconds after which a connection is retired once idle, ±10% jitter per connection (default 3 600 000; 0 or Infinity: never). */
  maxLifetime?: number
  /** Milliseconds a connection may sit idle before it is closed, while more than `min` are open (default 600 000; 0 or Infinity: never). */
  maxIdle?: number
  /** Report a connection held longer than this many milliseconds to `onError` as a ConnectionLeak (default 0: off). */
  leakTimeout?: number
  /** Connect timeout used when the connection options set none (default 10 000 ms). */
  connectTimeout?: number
  /** Milliseconds allowed for the rollback and `reset` of a returned connection before it is dropped instead (default 5 000). */
  releaseTimeout?: number
  /** Reconnect backoff after a failed connect: a random wait up to min(maxMs, initialMs * 2^n) (defaults 100 and 5 000). */
  backoff?: { initialMs?: number; maxMs?: number }
  /** Runs on every connection handed out; throwing drops that connection and tries another. E.g. `Pool.ping`. */
  check?: (conn: Connection) => Promise<void>
  /** Runs once on every new connection before it joins the pool (SET commands, loadType...). */
  configure?: (conn: Connection) => Promise<void>
  /** Runs on every connection returned in good order (e.g. `c => c.simpleQuery('discard all')`); throwing drops it. */
  reset?: (conn: Connection) => Promise<void>
  /** Errors nobody is waiting for (see PoolErrorSource). Default: ignored. */
  onError?: (err: Error, source: PoolErrorSource) => void
  /** Idle connections do not keep the process alive (default true). */
  allowExitOnIdle?: boolean
  /**
   * pool.query() shares connections instead of checking one out: statements
   * of many callers are written back to back on a few connections, each with
   * its own Sync (see README, "Multiplexing"). Statements that change session
   * state are refused there. Default false.
   */
  multiplexing?: boolean
  /** With multiplexing: statements in flight on one connection before another is taken (default 100). */
  multiplexingDepth?: number
  /**
   * The hosts are a primary and its standbys: keep a pool per target and let
   * query(), acquire(), connection() and transaction() pick one with
   * `target` ('primary', the default; 'standby'; 'prefer-standby'). See
   * README, "Read replicas".
   */
  replicas?: boolean | ReplicaOptions
}

export interface AcquireOptions {
  /** Overrides the pool's acquireTimeout for this call. */
  timeout?: number
  /** With `replicas`: which server ('primary', the default; 'standby'; 'prefer-standby'). */
  target?: Target
  /** @internal The multiplexer's own acquire (not someone waiting for a connection of their own). */
  [MUX]?: true
  /** Aborting stops waiting (a PoolError whose cause is the abort reason). */
  signal?: AbortSignal
}

export interface PoolQueryOptions extends QueryOptions {
  /** Overrides the pool's acquireTimeout for this query. */
  acquireTimeout?: number
  /** With `replicas`: which server ('primary', the default; 'standby'; 'prefer-standby'). */
  target?: Target
}

export interface PoolTransactionOptions extends TransactionOptions {
  /** Overrides the pool's acquireTimeout for this transaction. */
  acquireTimeout?: number
  /** With `replicas`: which server ('primary', the default; 'standby'; 'prefer-standby'). */
  target?: Target
  /** Aborting stops waiting for a connection. */
  signal?: AbortSignal
}

export interface PoolStats {
  min: number
  max: number
  /** Open connections plus those being opened or closed; never above max. */
  size: number
  idle: number
  /** Checked out (or being checked, rolled back, reset). */
  inUse: number
  /** Connections being opened right now. */
  opening: number
  /** Callers waiting for a connection. */
  waiting: number
  /** Connections handed out so far. */
  acquiredTotal: number
  /** Total milliseconds callers spent waiting for the connections handed out. */
  waitTimeMsTotal: number
  /** waitTimeMsTotal / acquiredTotal (0 before the first). */
  waitTimeMsAverage: number
  /** Callers who got PoolTimeout. */
  timeouts: number
  /** Callers refused with PoolExhausted. */
  exhausted: number
  /** Errors reported to onError (failed connects, lost idle connections, failed checks, leaks...). */
  errors: number
  /** ConnectionLeak reports. */
  leaks: number
  /** Connections opened so far. */
  opened: number
  /** Connections closed so far (retired, dropped, lost). */
  closed: number
  /** With multiplexing: connections shared now (counted in inUse), statements in flight on them, statements waiting for room. */
  multiplexed?: { shared: number; inFlight: number; waiting: number }
}

const MUX: unique symbol = Symbol('pgline.mux')

/** One pooled connection and its bookkeeping. */
interface Slot {
  readonly conn: Connection
  /** When it is retired: creation time plus maxLifetime with jitter (Infinity: never). */
  readonly expiresAt: number
  idleSince: number
  /** Out of the idle set: checked out, being checked or being returned. */
  busy: boolean
  /** Closed by the server while idle or out; it never goes back to the idle set. */
  lost: boolean
}

interface Waiter {
  readonly since: number
  readonly timeout: number
  /** Still in the queue (false once taken, timed out or aborted). */
  queued: boolean
  /** Settled (handed a lease or rejected). */
  done: boolean
  /** Its timer and abort listener are set. */
  armed: boolean
  timer: NodeJS.Timeout | undefined
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
  /** Created at acquire() when leak detection is on: its stack is the caller's. */
  leak: ConnectionLeak | undefined
  resolve(lease: PoolLease): void
  reject(err: Error): void
}

const DEFAULTS = {
  min: 0,
  max: 10,
  acquireTimeout: 30_000,
  maxLifetime: 3_600_000,
  maxIdle: 600_000,
  connectTimeout: 10_000,
  releaseTimeout: 5_000,
  backoffInitialMs: 100,
  backoffMaxMs: 5_000,
  closeTimeout: 5_000,
}

/**
 * A checked-out connection. `release()` (or leaving an `await using` scope)
 * gives it back; after that `connection` throws, so a stale lease cannot
 * run queries on a connection someone else now holds.
 */
export class PoolLease implements AsyncDisposable {
  private conn: Connection | undefined
  private releasing: Promise<void> | undefined

  /** @internal */
  constructor(
    conn: Connection,
    private readonly giveBack: (discard: boolean) => Promise<void>,
  ) {
    this.conn = conn
  }

  /** The connection, until the lease is released. */
  get connection(): Connection {
    if (this.conn === undefined) throw new InterfaceError('this pool lease was released; acquire another connection')
    return this.conn
  }

  get released(): boolean {
    return this.conn === undefined
  }

  /** Shorthand for `lease.connection.query(...)`. */
  query<R extends unknown[] = unknown[]>(sql: SqlQuery, options: QueryOptions & { rowMode: 'array' }): Promise<Result<R>>
  query(sql: SqlQuery, options: QueryOptions & { rowMode: 'columns' }): Promise<ColumnsResult>
  query<R = Row>(sql: SqlQuery, options?: QueryOptions): Promise<Result<R>>
  query<R extends unknown[] = unknown[]>(sql: string | SqlQuery, params: readonly unknown[] | undefined, options: QueryOptions & { rowMode: 'array' }): Promise<Result<R>>
  query(sql: string | SqlQuery, params: readonly unknown[] | undefined, options: QueryOptions & { rowMode: 'columns' }): Promise<ColumnsResult>
  query<R = Row>(sql: string | SqlQuery, params?: readonly unknown[], options?: QueryOptions): Promise<Result<R>>
  query<R = Row>(sql: string | SqlQuery, params?: readonly unknown[] | QueryOptions, options?: QueryOptions): Promise<Result<R>> {
    try {
      // The connection sorts out `(fragment, options)`.
      return this.connection.query<R>(sql, params as readonly unknown[] | undefined, options)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Shorthand for `lease.connection.simpleQuery(...)`. */
  simpleQuery<R extends unknown[] = unknown[]>(sql: string | SqlQuery, options: Omit<QueryOptions, 'prepare'> & { rowMode: 'array' }): Promise<Result<R>[]>
  simpleQuery(sql: string | SqlQuery, options: Omit<QueryOptions, 'prepare'> & { rowMode: 'columns' }): Promise<ColumnsResult[]>
  simpleQuery<R = Row>(sql: string | SqlQuery, options?: Omit<QueryOptions, 'prepare'>): Promise<Result<R>[]>
  simpleQuery<R = Row>(sql: string | SqlQuery, options?: Omit<QueryOptions, 'prepare'>): Promise<Result<R>[]> {
    try {
      return this.connection.simpleQuery<R>(sql, options)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Shorthand for `lease.connection.transaction(...)`. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T> {
    try {
      return this.connection.transaction(fn, options)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Gives the connection back to the pool (rolled back first if it was left
   * in a transaction). `{ discard: true }` closes it instead. Never rejects;
   * calling it again does nothing more.
   */
  release(options: { discard?: boolean } = {}): Promise<void> {
    if (this.releasing === undefined) {
      this.conn = undefined
      this.releasing = this.giveBack(options.discard === true)
    }
    return this.releasing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release()
  }

  /** For JSON.stringify and inspect: which backend it holds, nothing more. */
  toJSON(): { processId?: number; released: boolean } {
    return this.conn === undefined ? { released: true } : { processId: this.conn.processId, released: false }
  }

  [inspectCustom](depth: number, options: object, inspect: InspectFn): string {
    return summary('PoolLease', depth, options, inspect, this.toJSON())
  }
}

export class Pool implements AsyncDisposable {
  // A #private field: the password (and any key passphrase) it holds stays
  // out of util.inspect, JSON and object spreads of the pool.
  readonly #connectOptions: ConnectionOptions
  /** Where it connects, for inspect and JSON. */
  private readonly target: { host: string; port: number; database: string; user: string }
  private minSize: number
  private maxSize: number
  private readonly acquireTimeout: number
  private readonly maxWaiting: number
  private readonly maxLifetime: number
  private readonly maxIdle: number
  private readonly leakTimeout: number
  private readonly releaseTimeout: number
  private readonly backoffInitial: number
  private readonly backoffMax: number
  private readonly checkFn: ((conn: Connection) => Promise<void>) | undefined
  private readonly configureFn: ((conn: Connection) => Promise<void>) | undefined
  private readonly resetFn: ((conn: Connection) => Promise<void>) | undefined
  private readonly onError: ((err: Error, source: PoolErrorSource) => void) | undefined
  private readonly allowExitOnIdle: boolean
  /** Shares connections among pool.query() callers, with `multiplexing`. */
  private readonly mux: Multiplexer | undefined
  /** The multiplexer's acquire waiting in the queue, if any. */
  private muxWaiter: Waiter | undefined
  /** The multiplexer's acquire already moved behind a caller waiting for a connection of their own. */
  private muxMovedBack: Waiter | undefined
  /** With `replicas`: the pool of each target (prefer-standby's made on first use); this pool then opens none itself. */
  private readonly routes: { primary: Pool; standby: Pool; preferStandby: Pool | undefined; make: () => Pool } | undefined

  /** Every open connection the pool owns (idle or busy), not those being closed. */
  private readonly slots = new Set<Slot>()
  /** Idle connections, most recently returned last (handed out LIFO). */
  private readonly idle: Slot[] = []
  /** Waiting callers, FIFO; entries no longer `queued` are skipped. */
  private queue: (Waiter | undefined)[] = []
  private queueHead = 0
  private waitingCount = 0
  private opening = 0
  /** Graceful closes in progress (they still hold a server connection). */
  private closing = 0
  private readonly closes = new Set<Promise<void>>()

  /** Consecutive rounds of failed connects; 0 when the last connect worked. */
  private failures = 0
  private lastConnectError: Error | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private sweepTimer: NodeJS.Timeout | undefined
  private state: 'open' | 'closing' | 'closed' = 'open'
  private closePromise: Promise<void> | undefined
  private onDrained: (() => void) | undefined

  private acquiredTotal = 0
  private waitTimeMsTotal = 0
  private timeouts = 0
  private exhausted = 0
  private errorCount = 0
  private leaks = 0
  private openedCount = 0
  private closedCount = 0

  /** A ready-made `check`: an empty query, one round trip. */
  static readonly ping = async (conn: Connection): Promise<void> => {
    await conn.simpleQuery('')
  }

  constructor(config: string | ConnectionOptions = {}, options: PoolOptions = {}) {
    checkOptionKeys(options, 'pool')
    const base: ConnectionOptions = typeof config === 'string' ? { ...parseUrl(config) } : { ...config }
    if (base.connectTimeout === undefined && process.env.PGCONNECT_TIMEOUT === undefined) {
      base.connectTimeout = nonNegative('connectTimeout', options.connectTimeout, DEFAULTS.connectTimeout)
    }
    const resolved = resolveConfig(base) // a bad port or the like fails here, not in the background
    resultLimits(base) // so does a bad maxRows or maxResultBytes
    this.#connectOptions = base
    this.target = { host: resolved.hosts.map((h) => h.host).join(','), port: resolved.port, database: resolved.database, user: resolved.user }
    const min = count('min', options.min, DEFAULTS.min)
    const max = count('max', options.max, Math.max(DEFAULTS.max, min))
    checkSizes(min, max)
    this.minSize = min
    this.maxSize = max
    this.acquireTimeout = nonNegative('acquireTimeout', options.acquireTimeout, DEFAULTS.acquireTimeout)
    this.maxWaiting = nonNegative('maxWaiting', options.maxWaiting, Infinity)
    this.maxLifetime = limit(nonNegative('maxLifetime', options.maxLifetime, DEFAULTS.maxLifetime))
    this.maxIdle = limit(nonNegative('maxIdle', options.maxIdle, DEFAULTS.maxIdle))
    this.leakTimeout = limit(nonNegative('leakTimeout', options.leakTimeout, 0))
    this.releaseTimeout = limit(nonNegative('releaseTimeout', options.releaseTimeout, DEFAULTS.releaseTimeout))
    this.backoffInitial = nonNegative('backoff.initialMs', options.backoff?.initialMs, DEFAULTS.backoffInitialMs)
    this.backoffMax = nonNegative('backoff.maxMs', options.backoff?.maxMs, DEFAULTS.backoffMaxMs)
    this.checkFn = options.check
    this.configureFn = options.configure
    this.resetFn = options.reset
    this.onError = options.onError
    this.allowExitOnIdle = options.allowExitOnIdle ?? true
    if (options.replicas !== undefined && options.replicas !== false) {
      const r: ReplicaOptions = options.replicas === true ? {} : options.replicas
      if (typeof r !== 'object' || r === null) throw new InterfaceError(`replicas must be true or { standbyMax, loadBalance }, got ${typeof r}`)
      const { replicas: _own, ...inner } = options
      const standbyMax = count('replicas.standbyMax', r.standbyMax, max)
      this.routes = {
        primary: new Pool(targetOptions(base, 'primary', r), inner),
        standby: new Pool(targetOptions(base, 'standby', r), { ...inner, max: standbyMax }),
        preferStandby: undefined,
        make: () => new Pool(targetOptions(base, 'prefer-standby', r), { ...inner, max: standbyMax }),
      }
      // This pool only routes: it opens nothing of its own.
      this.minSize = 0
    }
    if (options.multiplexing !== undefined && typeof options.multiplexing !== 'boolean') throw new InterfaceError(`multiplexing must be true or false, got ${typeof options.multiplexing}`)
    const depth = count('multiplexingDepth', options.multiplexingDepth, 100)
    if (depth < 1) throw new InterfaceError('multiplexingDepth must be at least 1')
    if (options.multiplexing === true) {
      const pool = this
      this.mux = new Multiplexer(
        {
          acquire: (o) => this.acquireNow({ ...o, [MUX]: true }),
          get max() {
            return pool.maxSize
          },
          get exclusiveWaiting() {
            return pool.waitingCount - (pool.muxWaiter?.queued ? 1 : 0)
          },
          get open() {
            return pool.state === 'open'
          },
          get maxLifetime() {
            return pool.maxLifetime
          },
          closedError: () => this.closedError(),
        },
        { perConnection: depth, maxWaiting: this.maxWaiting, acquireTimeout: this.acquireTimeout },
      )
    }
    this.startSweep()
    this.grow()
  }

  /** True once close() was called. */
  /** The type map the pool's connections decode with (the `types` option), if one was given. */
  get types(): TypeMap | undefined {
    return this.#connectOptions.types
  }

  get closed(): boolean {
    return this.state !== 'open'
  }

  /**
   * Checks out a connection. Use `await using conn = await pool.acquire()`
   * or call `conn.release()` in a finally block.
   */
  acquire(options: AcquireOptions = {}): Promise<PoolLease> {
    if (this.routes !== undefined || options.target !== undefined) {
      const { target, ...rest } = options
      return this.route(target).acquire(rest)
    }
    if (!poolAcquireChannel.hasSubscribers) return this.acquireNow(options)
    const ctx: PoolAcquireTraceContext = { pool: { ...this.target } }
    const since = performance.now()
    return tracePromise(poolAcquireChannel, ctx, () => this.acquireNow(options), (c, lease) => {
      c.waitedMs = performance.now() - since
      c.connection = lease.connection[TRACE_INFO]()
    })
  }

  private acquireNow(options: AcquireOptions): Promise<PoolLease> {
    return new Promise<PoolLease>((resolve, reject) => {
      if (this.state !== 'open') return reject(this.closedError())
      const timeout = limit(nonNegative('timeout', options.timeout, this.acquireTimeout))
      const signal = options.signal
      if (signal?.aborted) return reject(new PoolError('acquire aborted', { cause: signal.reason }))
      const w: Waiter = {
        since: Date.now(),
        timeout,
        queued: false,
        done: false,
        armed: false,
        timer: undefined,
        signal,
        onAbort: undefined,
        leak: undefined,
        resolve,
        reject,
      }
      // A shared connection (multiplexing) is held on purpose: not a leak.
      if (this.leakTimeout !== Infinity && options[MUX] !== true) {
        // Made here, so its stack is the caller's, not that of whoever released the connection.
        w.leak = new ConnectionLeak(`a pooled connection was held for more than ${this.leakTimeout} ms; it was acquired at:`)
      }
      if (this.waitingCount === 0) {
        const slot = this.takeIdle()
        if (slot !== undefined) {
          if (this.checkFn !== undefined) this.arm(w) // the check may take a while
          return this.deliver(w, slot)
        }
      }
      if (this.waitingCount >= this.maxWaiting) {
        this.exhausted++
        return reject(
          new PoolExhausted(
            `too many callers waiting for a connection: ${this.waitingCount} already wait (maxWaiting ${this.maxWaiting}; ${this.describe()})`,
          ),
        )
      }
      this.enqueue(w)
      if (options[MUX] === true) this.muxWaiter = w
      else if (this.mux !== undefined) {
        // Someone waits for a connection of their own: they go before the
        // multiplexer's own wait (or a shared connection given back would go
        // straight back to sharing), and a shared one goes back once empty.
        const m = this.muxWaiter
        // Once only: a steady stream of transactions must not keep it at the back for ever.
        if (m?.queued && m !== this.muxMovedBack) {
          this.muxMovedBack = m
          const i = this.queue.indexOf(m, this.queueHead)
          if (i !== -1) this.queue[i] = undefined
          m.queued = false
          this.waitingCount--
          this.enqueue(m)
        }
        this.mux.shed()
      }
      this.grow()
    })
  }

  /** Runs one query on a pooled connection: acquire, query, release. Takes a sql`...` fragment as Connection.query does. */
  query<R extends unknown[] = unknown[]>(sql: SqlQuery, options: PoolQueryOptions & { rowMode: 'array' }): Promise<Result<R>>
  query(sql: SqlQuery, options: PoolQueryOptions & { rowMode: 'columns' }): Promise<ColumnsResult>
  query<R = Row>(sql: SqlQuery, options?: PoolQueryOptions): Promise<Result<R>>
  query<R extends unknown[] = unknown[]>(sql: string | SqlQuery, params: readonly unknown[] | undefined, options: PoolQueryOptions & { rowMode: 'array' }): Promise<Result<R>>
  query(sql: string | SqlQuery, params: readonly unknown[] | undefined, options: PoolQueryOptions & { rowMode: 'columns' }): Promise<ColumnsResult>
  query<R = Row>(sql: string | SqlQuery, params?: readonly unknown[], options?: PoolQueryOptions): Promise<Result<R>>
  async query<R = Row>(sql: string | SqlQuery, params?: readonly unknown[] | PoolQueryOptions, options?: PoolQueryOptions): Promise<Result<R>> {
    if (typeof sql !== 'string') ({ text: sql, values: params, options } = toQuery(sql, params, options))
    options ??= {}
    if (this.routes !== undefined || options.target !== undefined) {
      const { target, ...rest } = options
      return this.route(target).query<R>(sql, params as readonly unknown[] | undefined, rest)
    }
    if (this.mux !== undefined) return this.muxQuery<R>(sql, params as readonly unknown[] | undefined, options)
    for (let attempt = 0; ; attempt++) {
      const lease = await this.acquire({ timeout: options.acquireTimeout, signal: options.signal })
      try {
        return await lease.connection.query<R>(sql, params as readonly unknown[] | undefined, options)
      } catch (err) {
        // The connection died before the query was written (an idle
        // connection the server had just closed): once more on another.
        if (attempt === 0 && err instanceof ConnectionError && err.retrySafe && this.state === 'open') continue
        throw err
      } finally {
        await lease.release()
      }
    }
  }

  /** pool.query() with multiplexing: a shared connection, once more on another when the first was lost before the statement was sent. */
  private async muxQuery<R>(sql: string, params: readonly unknown[] | undefined, options: PoolQueryOptions): Promise<Result<R>> {
    const { acquireTimeout, ...queryOptions } = options
    const wait = acquireTimeout === undefined ? undefined : limit(nonNegative('acquireTimeout', acquireTimeout, this.acquireTimeout))
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.mux!.query(sql, params, queryOptions, wait)) as Result<R>
      } catch (err) {
        if (attempt === 0 && err instanceof ConnectionError && err.retrySafe && this.state === 'open') continue
        throw err
      }
    }
  }

  /** Lends a connection to `fn` and takes it back when `fn` settles (rolled back if `fn` left a transaction open). */
  async connection<T>(fn: (conn: Connection) => Promise<T>, options?: AcquireOptions): Promise<T> {
    const lease = await this.acquire(options)
    try {
      return await fn(lease.connection)
    } finally {
      await lease.release()
    }
  }

  /** `conn.transaction(fn, options)` on a pooled connection (isolation, readOnly, deferrable, retry). */
  transaction<T>(fn: (tx: Transaction) => Promise<T>, options: PoolTransactionOptions = {}): Promise<T> {
    const { acquireTimeout, signal, target, ...txOptions } = options
    return this.connection((conn) => conn.transaction(fn, txOptions), { timeout: acquireTimeout, signal, target })
  }

  /**
   * The pool serving `target`: with `replicas`, that target's; without,
   * this one for 'primary' (the only server it knows), and a clear refusal
   * for a standby target.
   */
  private route(target: Target | undefined): Pool {
    const t = checkTarget(target)
    const r = this.routes
    if (r === undefined) {
      if (t === 'primary') return this
      throw new InterfaceError(`target '${t}' needs a pool made with { replicas: true } over the primary and its standbys`)
    }
    if (t === 'primary') return r.primary
    if (t === 'standby') return r.standby
    if (this.state !== 'open') return r.standby // closed: its error says so
    return (r.preferStandby ??= r.make())
  }

  stats(): PoolStats {
    if (this.routes !== undefined) {
      // The targets' pools together (each also has its own: statsOf()).
      const all = this.targetPools().map((p) => p.stats())
      const keys = Object.keys(all[0]!).filter((k) => k !== 'multiplexed') as (keyof PoolStats)[]
      const sum = Object.fromEntries(keys.map((k) => [k, all.reduce((n, s) => n + (s[k] as number), 0)])) as unknown as PoolStats
      if (all[0]!.multiplexed !== undefined) {
        sum.multiplexed = { shared: 0, inFlight: 0, waiting: 0 }
        for (const st of all) for (const k of ['shared', 'inFlight', 'waiting'] as const) sum.multiplexed[k] += st.multiplexed?.[k] ?? 0
      }
      sum.waitTimeMsAverage = sum.acquiredTotal === 0 ? 0 : sum.waitTimeMsTotal / sum.acquiredTotal
      return sum
    }
    const inUse = this.slots.size - this.idle.length
    return {
      min: this.minSize,
      max: this.maxSize,
      size: this.size(),
      idle: this.idle.length,
      inUse,
      opening: this.opening,
      // The multiplexer's own wait for a connection is not a caller's.
      waiting: this.waitingCount - (this.muxWaiter?.queued ? 1 : 0),
      acquiredTotal: this.acquiredTotal,
      waitTimeMsTotal: this.waitTimeMsTotal,
      waitTimeMsAverage: this.acquiredTotal === 0 ? 0 : this.waitTimeMsTotal / this.acquiredTotal,
      timeouts: this.timeouts,
      exhausted: this.exhausted,
      errors: this.errorCount,
      leaks: this.leaks,
      opened: this.openedCount,
      closed: this.closedCount,
      ...(this.mux === undefined ? {} : { multiplexed: this.mux.shape }),
    }
  }

  /** With `replicas`: one target's pool's stats. */
  statsOf(target: Target): PoolStats {
    return this.route(target).stats()
  }

  private targetPools(): Pool[] {
    const r = this.routes
    return r === undefined ? [this] : [r.primary, r.standby, ...(r.preferStandby === undefined ? [] : [r.preferStandby])]
  }

  /**
   * Changes the bounds. Growing opens connections as needed; shrinking closes
   * idle connections at once and busy ones when they come back.
   */
  resize(min: number, max: number): void {
    if (this.state !== 'open') throw this.closedError()
    const newMin = count('min', min, 0)
    const newMax = count('max', max, 0)
    checkSizes(newMin, newMax)
    this.minSize = newMin
    this.maxSize = newMax
    // Oldest idle first (the bottom of the stack).
    while (this.over() && this.idle.length > 0) this.retire(this.idle[0]!)
    this.grow()
  }

  /**
   * Stops handing out connections (waiting and later callers get PoolClosed),
   * closes the idle ones, waits up to `timeout` ms (default 5 000) for those
   * checked out to come back (0: not at all; Infinity: as long as it takes),
   * then closes the rest.
   */
  close(options: { timeout?: number } = {}): Promise<void> {
    const timeout = nonNegative('timeout', options.timeout, DEFAULTS.closeTimeout)
    if (this.routes !== undefined) {
      this.closePromise ??= Promise.all([this.shutdown(timeout), ...this.targetPools().map((p) => p.close({ timeout }))]).then(() => undefined)
    }
    this.closePromise ??= this.shutdown(timeout)
    return this.closePromise
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** For JSON.stringify and inspect: the target and the counts, never the connection options (they hold the password). */
  toJSON(): { host: string; port: number; database: string; user: string; max: number; open: number; idle: number; waiting: number; closed: boolean } {
    return { ...this.target, max: this.maxSize, open: this.slots.size, idle: this.idle.length, waiting: this.waitingCount, closed: this.closed }
  }

  [inspectCustom](depth: number, options: object, inspect: InspectFn): string {
    return summary('Pool', depth, options, inspect, this.toJSON())
  }

  // ---- internals -----------------------------------------------------------

  private size(): number {
    return this.slots.size + this.opening + this.closing
  }

  /** More connections than max, not counting those already closing: shrink. */
  private over(): boolean {
    return this.slots.size + this.opening > this.maxSize
  }

  private describe(): string {
    const inUse = this.slots.size - this.idle.length
    return `max ${this.maxSize}: ${inUse} in use, ${this.idle.length} idle, ${this.opening} opening`
  }

  private closedError(): PoolClosed {
    return new PoolClosed(this.state === 'closing' ? 'the pool is closing' : 'the pool is closed')
  }

  /** Pops an idle connection, retiring any that expired or broke meanwhile. */
  private takeIdle(): Slot | undefined {
    const now = Date.now()
    for (let slot = this.idle.pop(); slot !== undefined; slot = this.idle.pop()) {
      if (slot.conn.closed || slot.lost || now >= slot.expiresAt) {
        this.idle.push(slot) // retire() takes it out of the idle set itself
        this.retire(slot)
        continue
      }
      slot.busy = true
      if (this.allowExitOnIdle) setSocketRef(slot.conn, true)
      return slot
    }
    return undefined
  }

  private enqueue(w: Waiter): void {
    w.queued = true
    this.queue.push(w)
    this.waitingCount++
    this.arm(w)
  }

  /** Starts the waiter's timeout and abort listener (once). */
  private arm(w: Waiter): void {
    if (w.armed) return
    w.armed = true
    if (w.timeout !== Infinity) {
      w.timer = setTimeout(() => this.timedOut(w), w.timeout)
    } else if (this.retryTimer !== undefined) {
      this.retryTimer.ref() // someone waits with no timer of their own: keep the retry alive
    }
    if (w.signal !== undefined) {
      const signal = w.signal
      w.onAbort = () => {
        if (w.done) return
        this.dequeue(w)
        this.settle(w)
        w.reject(new PoolError('acquire aborted', { cause: signal.reason }))
      }
      signal.addEventListener('abort', w.onAbort, { once: true })
    }
  }

  /** Takes the first waiter still waiting. */
  private shiftWaiter(): Waiter | undefined {
    while (this.queueHead < this.queue.length) {
      const w = this.queue[this.queueHead]
      this.queue[this.queueHead++] = undefined
      if (w !== undefined && w.queued) {
        w.queued = false
        this.waitingCount--
        this.compactQueue()
        return w
      }
    }
    this.compactQueue()
    return undefined
  }

  /** Puts a waiter back at the head (its connection failed the check). */
  private unshiftWaiter(w: Waiter): void {
    w.queued = true
    this.waitingCount++
    if (this.queueHead > 0) this.queue[--this.queueHead] = w
    else this.queue.unshift(w)
  }

  private dequeue(w: Waiter): void {
    if (!w.queued) return
    w.queued = false
    this.waitingCount--
    this.compactQueue()
  }

  private compactQueue(): void {
    if (this.waitingCount === 0) {
      this.queue = []
      this.queueHead = 0
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead)
      this.queueHead = 0
    }
  }

  private settle(w: Waiter): void {
    w.done = true
    if (w.timer !== undefined) clearTimeout(w.timer)
    if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort)
  }

  private timedOut(w: Waiter): void {
    if (w.done) return
    this.dequeue(w)
    this.settle(w)
    this.timeouts++
    const waited = Date.now() - w.since
    const cause = this.failures > 0 ? this.lastConnectError : undefined
    let message = `timed out after ${w.timeout} ms waiting for a connection (${this.describe()}; ${this.waitingCount} more waiting)`
    if (cause !== undefined) message += `; the pool cannot connect to the server: ${cause.message}`
    w.reject(new PoolTimeout(message, waited, cause === undefined ? undefined : { cause }))
  }

  /** Hands idle connections to waiters, first come first served. */
  private dispatch(): void {
    while (this.waitingCount > 0 && this.idle.length > 0) {
      const slot = this.takeIdle()
      if (slot === undefined) break
      const w = this.shiftWaiter()
      if (w === undefined) {
        this.makeIdle(slot)
        break
      }
      this.deliver(w, slot)
    }
  }

  /** Gives `slot` (already busy) to `w`, after the check when there is one. */
  private deliver(w: Waiter, slot: Slot): void {
    if (this.checkFn === undefined) return this.hand(w, slot)
    let checking: Promise<void>
    try {
      checking = this.checkFn(slot.conn)
    } catch (err) {
      checking = Promise.reject(err)
    }
    checking.then(
      () => {
        if (!w.done && this.state === 'open') return this.hand(w, slot)
        this.refuseIfClosed(w)
        void this.giveBack(slot, false)
      },
      (err: unknown) => {
        this.report(err, 'check')
        this.discard(slot)
        if (this.refuseIfClosed(w) || w.done) return
        this.unshiftWaiter(w)
        this.dispatch()
        this.grow()
      },
    )
  }

  /** A waiter whose connection was being checked when close() began is told so. */
  private refuseIfClosed(w: Waiter): boolean {
    if (w.done || this.state === 'open') return false
    this.settle(w)
    w.reject(this.closedError())
    return true
  }

  private hand(w: Waiter, slot: Slot): void {
    this.settle(w)
    const waited = Date.now() - w.since
    this.acquiredTotal++
    this.waitTimeMsTotal += waited
    let leakTimer: NodeJS.Timeout | undefined
    if (w.leak !== undefined) {
      const leak = w.leak
      const start = Date.now()
      leak.processId = slot.conn.processId
      leakTimer = setTimeout(() => {
        leak.heldMs = Date.now() - start
        this.leaks++
        this.report(leak, 'leak')
      }, this.leakTimeout)
      leakTimer.unref()
    }
    const lease = new PoolLease(slot.conn, (discard) => {
      if (leakTimer !== undefined) clearTimeout(leakTimer)
      return this.giveBack(slot, discard)
    })
    w.resolve(lease)
  }

  /** A connection comes back from a caller (or from a check nobody waits for any more). */
  private async giveBack(slot: Slot, discard: boolean): Promise<void> {
    try {
      const conn = slot.conn
      // Queries still in flight (released too early) or an open pipeline/stream/COPY: not reusable.
      if (discard || conn.busy || this.unusable(slot)) return this.discard(slot)
      const status = conn.transactionStatus
      if (status !== 'I' || this.resetFn !== undefined) {
        const source: PoolErrorSource = status !== 'I' ? 'rollback' : 'reset'
        try {
          await withTimeout(this.releaseTimeout, source, async () => {
            if (status !== 'I') await conn.simpleQuery('rollback')
            if (this.resetFn !== undefined) await this.resetFn(conn)
          })
          if (conn.transactionStatus !== 'I') throw new PoolError(`the connection is still in a transaction after ${source}`)
        } catch (err) {
          if (!conn.closed) this.report(err, source) // a lost connection is no news to the caller who lost it
          return this.discard(slot)
        }
        if (this.unusable(slot)) return this.discard(slot)
      }
      this.makeIdle(slot)
    } catch (err) {
      // Defensive: giving back never rejects.
      this.report(err, 'reset')
      this.discard(slot)
    }
  }

  private unusable(slot: Slot): boolean {
    return (
      this.state !== 'open' || slot.lost || slot.conn.closed || !this.slots.has(slot) ||
      Date.now() >= slot.expiresAt || this.over()
    )
  }

  /** Puts a busy (or new) connection into the idle set and serves whoever waits. */
  private makeIdle(slot: Slot): void {
    if (this.unusable(slot)) return this.discard(slot)
    slot.busy = false
    slot.idleSince = Date.now()
    if (this.allowExitOnIdle) setSocketRef(slot.conn, false)
    this.idle.push(slot)
    if (this.waitingCount > 0) this.dispatch()
    this.checkDrained()
  }

  /** Closes an idle connection the pool no longer wants. */
  private retire(slot: Slot): void {
    this.discard(slot)
    this.grow()
  }

  /** Drops a connection from the pool and closes it. */
  private discard(slot: Slot): void {
    if (!this.slots.delete(slot)) return
    const i = this.idle.indexOf(slot)
    if (i !== -1) this.idle.splice(i, 1)
    slot.busy = true
    slot.lost = true
    this.closedCount++
    if (slot.conn.closed) {
      // Already gone on the server's side: nothing holds a server slot any more.
      this.afterRemoval()
      return
    }
    this.closing++
    const done = closeQuietly(slot.conn, this.releaseTimeout).finally(() => {
      this.closing--
      this.closes.delete(done)
      this.afterRemoval()
    })
    this.closes.add(done)
  }

  private afterRemoval(): void {
    this.checkDrained()
    this.grow()
  }

  /** The connection closed: by us (ignored), or by the server or network. */
  private lost(slot: Slot, err: Error | undefined): void {
    if (slot.lost || !this.slots.has(slot)) return
    slot.lost = true
    // A busy one is the caller's news; it is dropped when it comes back.
    if (slot.busy) return
    if (err !== undefined) this.report(err, 'idle')
    this.discard(slot)
  }

  /** Opens connections for waiters not yet covered and up to min, within max; one at a time while failing. */
  private grow(): void {
    if (this.state !== 'open' || this.retryTimer !== undefined) return
    while (this.size() < this.maxSize) {
      const uncovered = this.waitingCount - this.opening
      const belowMin = this.slots.size + this.opening < this.minSize
      if (uncovered <= 0 && !belowMin) break
      if (this.failures > 0 && this.opening > 0) break
      this.openOne()
    }
  }

  private openOne(): void {
    this.opening++
    let source: PoolErrorSource = 'connect'
    const opened = Connection.connect(this.#connectOptions).then(async (conn) => {
      if (this.configureFn !== undefined) {
        source = 'configure'
        try {
          await this.configureFn(conn)
        } catch (err) {
          await closeQuietly(conn, this.releaseTimeout)
          throw err
        }
      }
      return conn
    })
    opened.then(
      (conn) => {
        this.opening--
        this.failures = 0
        this.lastConnectError = undefined
        if (this.state !== 'open' || conn.closed) {
          // Closed meanwhile (pool or connection): not ours to keep.
          if (!conn.closed) this.trackClose(conn)
          this.grow()
          return
        }
        const lifetime = this.maxLifetime === Infinity ? Infinity : this.maxLifetime * (0.9 + 0.2 * Math.random())
        const slot: Slot = { conn, expiresAt: Date.now() + lifetime, idleSince: Date.now(), busy: true, lost: false }
        conn.on('close', (err) => this.lost(slot, err))
        this.slots.add(slot)
        this.openedCount++
        this.makeIdle(slot)
        this.grow()
      },
      (err: unknown) => {
        this.opening--
        const e = toError(err, source)
        this.lastConnectError = e
        this.report(e, source)
        // Only while no connection is open: one in use may come back and
        // serve them (a password rotated under a running pool).
        if (!canHeal(e) && this.slots.size === 0) this.failWaiters(e)
        // Backoff either way: `min` refills and later callers retry (the
        // password may be fixed by then), but never in a tight loop.
        this.scheduleRetry()
        this.checkDrained()
      },
    )
  }

  /**
   * The server said no (wrong password, no such database...): waiting
   * callers get that answer now instead of a PoolTimeout later, as with
   * node-postgres. Callers that a connect still under way may serve keep
   * waiting; the oldest go first.
   */
  private failWaiters(err: Error): void {
    for (let n = this.waitingCount - this.opening; n > 0; n--) {
      const w = this.shiftWaiter()
      if (w === undefined) break
      this.settle(w)
      w.reject(err)
    }
  }

  /** Closes a connection that never joined the pool, counting it as closing meanwhile. */
  private trackClose(conn: Connection): void {
    this.closing++
    const done = closeQuietly(conn, this.releaseTimeout).finally(() => {
      this.closing--
      this.closes.delete(done)
    })
    this.closes.add(done)
  }

  private scheduleRetry(): void {
    if (this.state !== 'open' || this.retryTimer !== undefined) return
    const ceiling = Math.min(this.backoffMax, this.backoffInitial * 2 ** Math.min(this.failures, 30))
    this.failures++
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.grow()
    }, Math.random() * ceiling)
    // Only callers waiting with no timeout of their own need it to keep the process alive.
    if (!this.queue.some((w) => w !== undefined && w.queued && w.timeout === Infinity)) this.retryTimer.unref()
  }

  private startSweep(): void {
    const every = Math.min(this.maxLifetime * 0.9, this.maxIdle)
    if (every === Infinity) return
    const period = Math.max(10, Math.min(1_000, Math.floor(every / 10)))
    this.sweepTimer = setInterval(() => this.sweep(), period)
    this.sweepTimer.unref()
  }

  /** Retires idle connections past their lifetime, or idle too long while above min. */
  private sweep(): void {
    if (this.state !== 'open') return
    const now = Date.now()
    for (const slot of [...this.idle]) {
      if (now >= slot.expiresAt) this.retire(slot)
    }
    if (this.maxIdle !== Infinity) {
      // The bottom of the stack has been idle longest.
      while (this.idle.length > 0 && this.slots.size > this.minSize && now - this.idle[0]!.idleSince >= this.maxIdle) {
        this.retire(this.idle[0]!)
      }
    }
    this.grow()
  }

  private checkDrained(): void {
    if (this.onDrained !== undefined && this.slots.size === this.idle.length) this.onDrained()
  }

  private async shutdown(timeout: number): Promise<void> {
    const deadline = Date.now() + timeout
    this.state = 'closing'
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer)
    this.retryTimer = this.sweepTimer = undefined
    this.mux?.close(this.closedError())
    for (let w = this.shiftWaiter(); w !== undefined; w = this.shiftWaiter()) {
      this.settle(w)
      w.reject(this.closedError())
    }
    for (const slot of [...this.idle]) this.discard(slot)
    if (this.slots.size > 0 && timeout > 0) {
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        this.onDrained = resolve
        if (timeout !== Infinity) timer = setTimeout(resolve, timeout)
        this.checkDrained()
      })
      clearTimeout(timer)
      this.onDrained = undefined
    }
    // Still checked out after the wait: close them under their holders.
    for (const slot of [...this.slots]) this.discard(slot)
    // Closing an idle connection takes a round trip; one still running a
    // statement closes after it (the server reads Terminate only then), so
    // wait for closes until the deadline, or a second at least, not longer.
    // Connections still being opened close themselves when they arrive.
    const until = Math.max(deadline, Date.now() + 1_000)
    while (this.opening > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5))
    if (this.closes.size > 0) await waitAtMost(Promise.all([...this.closes]), until - Date.now())
    this.state = 'closed'
  }

  private report(err: unknown, source: PoolErrorSource): void {
    this.errorCount++
    const fn = this.onError
    if (fn === undefined) {
      if (process.env.PGLINE_DEBUG === '1') console.error(`pgline pool: ${source}: ${toError(err, source).message}`)
      return
    }
    try {
      fn(toError(err, source), source)
    } catch (thrown) {
      // A listener's own bug surfaces on its own tick, as an EventEmitter listener's would.
      process.nextTick(() => {
        throw thrown
      })
    }
  }
}

// ---- helpers -----------------------------------------------------------------

function toError(err: unknown, source: PoolErrorSource): Error {
  return err instanceof Error ? err : new PoolError(`${source} failed: ${String(err)}`, { cause: err })
}

function count(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (!Number.isInteger(v) || v < 0) throw new InterfaceError(`pool option ${name} must be a non-negative integer, got ${String(value)}`)
  return v
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0) throw new InterfaceError(`pool option ${name} must be a non-negative number, got ${String(value)}`)
  return v
}

/** 0 and Infinity both mean "no limit" (so does anything past setTimeout's range, about 24.8 days). */
function limit(ms: number): number {
  return ms === 0 || ms > 2 ** 31 - 1 ? Infinity : ms
}

function checkSizes(min: number, max: number): void {
  if (max < 1) throw new InterfaceError(`pool max must be at least 1, got ${max}`)
  if (min > max) throw new InterfaceError(`pool min (${min}) must not exceed max (${max})`)
}

/** Closes a connection, giving up waiting after `ms` (a server that never answers Terminate). */
async function closeQuietly(conn: Connection, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    conn.close().catch(() => {}),
    new Promise<void>((resolve) => {
      if (ms !== Infinity) (timer = setTimeout(resolve, ms)).unref()
    }),
  ])
  clearTimeout(timer)
  // A server that did not answer Terminate in time: drop the socket.
  if (!conn.closed || conn.busy) conn.terminate('closed by the pool')
}

/** Waits for `p` (which never rejects), or `ms` milliseconds if that is sooner. */
async function waitAtMost(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  if (ms === Infinity) return void (await p)
  await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))])
  clearTimeout(timer)
}

async function withTimeout(ms: number, what: string, fn: () => Promise<void>): Promise<void> {
  if (ms === Infinity) return fn()
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new PoolError(`${what} of a returned connection took longer than ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** Lets an idle connection's socket stop (or start again) keeping the process alive. */
function setSocketRef(conn: Connection, ref: boolean): void {
  if (ref) conn.ref()
  else conn.unref()
}
