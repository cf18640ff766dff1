// node-postgres's Pool (pg-pool's behaviour): clients made on demand up to
// `max`, idle ones closed after idleTimeoutMillis, callers queued beyond
// that (failing after connectionTimeoutMillis when set), checkout with
// connect() and release(), pool.query() for one statement, and pg-pool's
// events. The class name contains "Pool", which Drizzle's detection needs.

import { pgPoolConnectChannel, pgPoolReleaseChannel, pgPoolRemoveChannel } from './diagnostics.js'
import { EventEmitter } from 'node:events'
import { Client, hideSecrets, type QueryConfig } from './client.js'
import type { ClientConfig } from './config.js'
import { DatabaseError } from './errors.js'
import type { QueryResult } from './result.js'

export interface PoolConfig extends ClientConfig {
  max?: number
  min?: number
  idleTimeoutMillis?: number
  /** Close a client after it has been checked out this many times. */
  maxUses?: number
  /** Let the process exit while only idle clients remain. */
  allowExitOnIdle?: boolean
  /** The client class to make (node-postgres's `Client` option). */
  Client?: typeof Client
}

export interface PoolClient extends Client {
  /** Back to the pool; with an error (or true), the client is closed instead. */
  release(err?: Error | boolean): void
}

type Waiter = { resolve: (c: PoolClient) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> | undefined }

interface Idle {
  client: PoolClient
  timer: ReturnType<typeof setTimeout> | undefined
}

export class Pool extends EventEmitter {
  readonly options: PoolConfig & { max: number; idleTimeoutMillis: number }
  ending = false
  ended = false
  private readonly clients = new Set<PoolClient>()
  private idle: Idle[] = []
  private readonly waiting: Waiter[] = []
  private readonly uses = new WeakMap<PoolClient, number>()
  private readonly released = new WeakSet<PoolClient>()
  private readonly ClientClass: typeof Client
  private pendingConnects = 0

  constructor(config: PoolConfig = {}) {
    super()
    // The password is read on its own (a caller's may be non-enumerable), and both it and the
    // connection string are kept out of enumeration: pool.options is often logged.
    this.options = { ...config, password: config.password, connectionString: config.connectionString, max: config.max ?? 10, idleTimeoutMillis: config.idleTimeoutMillis ?? 10_000 }
    hideSecrets(this.options)
    this.ClientClass = config.Client ?? Client
  }

  get totalCount(): number {
    return this.clients.size + this.pendingConnects
  }

  get idleCount(): number {
    return this.idle.length
  }

  get waitingCount(): number {
    return this.waiting.length
  }

  get expiredCount(): number {
    return 0
  }

  connect(): Promise<PoolClient>
  connect(callback: (err: Error | undefined, client: PoolClient | undefined, release: (err?: Error | boolean) => void) => void): void
  connect(callback?: (err: Error | undefined, client: PoolClient | undefined, release: (err?: Error | boolean) => void) => void): Promise<PoolClient> | void {
    const p = pgPoolConnectChannel.hasSubscribers ? this.tracedCheckout() : this.checkout()
    if (callback === undefined) return this.wrap(p)
    p.then(
      (c) => callback(undefined, c, (err) => c.release(err)),
      (err: Error) => callback(err, undefined, () => undefined),
    )
  }

  /** A promise of the configured Promise implementation, if one was given (as pg-pool). */
  private wrap<T>(p: Promise<T>): Promise<T> {
    const P = (this.options as { Promise?: { resolve<U>(v: PromiseLike<U>): PromiseLike<U> } }).Promise
    return P === undefined ? p : (P.resolve(p) as Promise<T>)
  }

  private tracedCheckout(): Promise<PoolClient> {
    const ctx: { pool: object; client?: { processID: number | null; reused: boolean } } = {
      pool: { totalCount: this.totalCount, idleCount: this.idleCount, waitingCount: this.waitingCount, maxSize: this.options.max },
    }
    return pgPoolConnectChannel.tracePromise(async () => {
      const client = await this.checkout()
      ctx.client = { processID: client.processID, reused: (this.uses.get(client) ?? 0) > 1 }
      return client
    }, ctx)
  }

  private checkout(): Promise<PoolClient> {
    if (this.ending) return Promise.reject(new Error('Cannot use a pool after calling end on the pool'))
    const idle = this.idle.pop()
    if (idle !== undefined) {
      if (idle.timer !== undefined) clearTimeout(idle.timer)
      return Promise.resolve(this.acquired(idle.client))
    }
    if (this.totalCount < this.options.max) return this.newClient()
    return new Promise((resolve, reject) => {
      const w: Waiter = { resolve, reject, timer: undefined }
      const limit = this.options.connectionTimeoutMillis
      if (limit !== undefined && limit > 0) {
        w.timer = setTimeout(() => {
          const i = this.waiting.indexOf(w)
          if (i !== -1) this.waiting.splice(i, 1)
          reject(new Error('timeout exceeded when trying to connect'))
        }, limit)
      }
      this.waiting.push(w)
    })
  }

  private async newClient(): Promise<PoolClient> {
    const client = new this.ClientClass(this.options) as PoolClient
    this.pendingConnects++
    const onIdleError = (err: Error): void => {
      // An idle client failed (the server went away): drop it; the pool reports
      // it. A checked-out client's error is its holder's, as in pg-pool, unless
      // nobody listens to the client.
      const idle = this.idle.some((i) => i.client === client)
      if (idle) this.remove(client)
      if (idle || client.listenerCount('error') === 1) this.emit('error', err, client)
    }
    try {
      await client.connect()
    } catch (err) {
      this.pendingConnects--
      this.pulse()
      throw err
    }
    this.pendingConnects--
    client.on('error', onIdleError)
    client.release = (err?: Error | boolean) => this.release(client, err)
    this.clients.add(client)
    this.emit('connect', client)
    return this.acquired(client)
  }

  private acquired(client: PoolClient): PoolClient {
    this.released.delete(client)
    this.uses.set(client, (this.uses.get(client) ?? 0) + 1)
    this.emit('acquire', client)
    return client
  }

  private release(client: PoolClient, err?: Error | boolean): void {
    if (this.released.has(client)) throw new Error('Release called on client which has already been released to the pool.')
    this.released.add(client)
    this.emit('release', err instanceof Error ? err : undefined, client)
    if (pgPoolReleaseChannel.hasSubscribers) pgPoolReleaseChannel.publish({ client: { processID: client.processID }, error: err instanceof Error ? err : undefined })
    const worn = this.options.maxUses !== undefined && (this.uses.get(client) ?? 0) >= this.options.maxUses
    if (err || worn || this.ending || !client._queryable || client._ending) {
      this.remove(client)
      this.pulse()
      return
    }
    const w = this.waiting.shift()
    if (w !== undefined) {
      if (w.timer !== undefined) clearTimeout(w.timer)
      w.resolve(this.acquired(client))
      return
    }
    const idle: Idle = { client, timer: undefined }
    if (this.options.idleTimeoutMillis > 0) {
      idle.timer = setTimeout(() => {
        this.idle = this.idle.filter((i) => i !== idle)
        this.remove(client)
      }, this.options.idleTimeoutMillis)
      if (this.options.allowExitOnIdle) idle.timer.unref()
    }
    this.idle.push(idle)
  }

  /** A caller waits and there is room for a new client (one was removed, or a connect failed). */
  private pulse(): void {
    if (this.waiting.length === 0 || this.ending || this.totalCount >= this.options.max) return
    const w = this.waiting.shift()!
    if (w.timer !== undefined) clearTimeout(w.timer)
    this.newClient().then(w.resolve, w.reject)
  }

  private remove(client: PoolClient): void {
    if (!this.clients.delete(client)) return
    this.idle = this.idle.filter((i) => {
      if (i.client !== client) return true
      if (i.timer !== undefined) clearTimeout(i.timer)
      return false
    })
    void client.end().catch(() => undefined)
    this.emit('remove', client)
    if (pgPoolRemoveChannel.hasSubscribers) pgPoolRemoveChannel.publish({ client: { processID: client.processID } })
  }

  query<R = any>(text: string | QueryConfig, values?: readonly unknown[]): Promise<QueryResult<R>>
  query<R = any>(text: string | QueryConfig, callback: (err: Error | null, result: QueryResult<R>) => void): void
  query<R = any>(text: string | QueryConfig, values: readonly unknown[] | undefined, callback: (err: Error | null, result: QueryResult<R>) => void): void
  query(
    text: string | QueryConfig,
    b?: readonly unknown[] | ((err: Error | null, result: QueryResult) => void),
    c?: (err: Error | null, result: QueryResult) => void,
  ): Promise<QueryResult> | void {
    const callback = typeof b === 'function' ? b : c
    const values = typeof b === 'function' ? undefined : b
    const run = async (): Promise<QueryResult> => {
      const client = await this.checkout()
      try {
        const r = (await client.query(text as string, values)) as QueryResult
        client.release()
        return r
      } catch (err) {
        // A statement's own error leaves its connection usable (pgline keeps the
        // client, where node-postgres closes it); anything else retires it.
        client.release(err instanceof DatabaseError && client._queryable ? undefined : (err as Error))
        throw err
      }
    }
    const p = run()
    if (callback === undefined) return this.wrap(p)
    p.then((r) => callback(null, r), (err: Error) => callback(err, undefined as unknown as QueryResult))
  }

  end(): Promise<void>
  end(callback: (err?: Error) => void): void
  end(callback?: (err?: Error) => void): Promise<void> | void {
    if (this.ending) {
      const err = new Error('Called end on pool more than once')
      if (callback === undefined) return Promise.reject(err)
      return callback(err)
    }
    this.ending = true
    for (const w of this.waiting.splice(0)) {
      if (w.timer !== undefined) clearTimeout(w.timer)
      w.reject(new Error('Cannot use a pool after calling end on the pool'))
    }
    const closing = [...this.clients].map((c) => {
      const idle = this.idle.some((i) => i.client === c)
      if (idle) this.remove(c)
      return idle ? Promise.resolve() : new Promise<void>((resolve) => c.once('end', () => resolve()))
    })
    const done = Promise.all(closing).then(() => {
      this.ended = true
    })
    if (callback === undefined) return done
    done.then(() => callback(), (err: Error) => callback(err))
  }
}
