// Multiplexing: many callers' independent statements share a few pooled
// connections instead of each checking one out. A connection taken for
// sharing (a lane) gets statements written back to back, each with its own
// Sync (the connection's implicit pipelining), so an error, a cancel or a
// timeout stays with its statement; results come back to their callers in
// order. A statement goes to the lane with the fewest in flight, below the
// per-connection bound; when every lane is full the pool lends another, and
// past `max` callers wait in a queue (maxWaiting, acquireTimeout). A lane
// with nothing in flight goes back to the pool on the next turn, and at once
// when someone waits for a connection of their own (pool.connection(),
// transaction(), acquire()). Statements that would change what later
// callers on the same connection see (a transaction, SET, LISTEN, a
// temporary table, PREPARE, DISCARD ...) are refused here: they need a
// connection of their own.

import type { Connection, QueryOptions } from '../client/connection.js'
import { InterfaceError } from '../errors/base.js'
import type { Result } from '../types/result.js'
import { PoolError, PoolExhausted, PoolTimeout } from './errors.js'
import type { AcquireOptions, PoolLease } from './pool.js'

/** A statement the multiplexed path will not run: it needs a connection of its own. */
export class MultiplexingRefused extends InterfaceError {}

/** What the multiplexer needs of its pool. */
export interface MuxHost {
  acquire(options: AcquireOptions): Promise<PoolLease>
  /** Connections the pool may open. */
  readonly max: number
  /** Callers waiting for a connection of their own. */
  readonly exclusiveWaiting: number
  readonly open: boolean
  /** Milliseconds after which a connection is retired (Infinity: never): a lane drains then. */
  readonly maxLifetime: number
  closedError(): PoolError
}

export interface MuxSettings {
  /** Statements in flight on one connection before another is taken (default 100). */
  perConnection: number
  maxWaiting: number
  acquireTimeout: number
}

interface Lane {
  readonly lease: PoolLease
  readonly conn: Connection
  inFlight: number
  /** Taking no more: it goes back to the pool once empty. */
  draining: boolean
  /** A release on the next turn is pending. */
  idleCheck: boolean
  /** Given back to the pool (once). */
  released: boolean
  /** When it was taken: past the pool's maxLifetime it drains, so the pool can retire it. */
  readonly since: number
}

interface MuxWaiter {
  sql: string
  params: readonly unknown[] | undefined
  options: QueryOptions
  resolve(r: Result<unknown>): void
  reject(err: Error): void
  timer: NodeJS.Timeout | undefined
  done: boolean
  /** Stops listening to the statement's AbortSignal. */
  unwatch: (() => void) | undefined
}

/** Spread: a new lane is taken once the emptiest has this many in flight. */
const SPREAD = 8

export class Multiplexer {
  private readonly lanes: Lane[] = []
  private opening = 0
  private queue: MuxWaiter[] = []
  private head = 0
  /** Statements in the queue still waiting (not taken, timed out or aborted). */
  private waitingCount = 0
  /** Calls off the pending wait for another lane. */
  private callOff: (() => void) | undefined

  constructor(
    private readonly host: MuxHost,
    private readonly settings: MuxSettings,
  ) {}

  /** Lanes and statements, for stats(). */
  get shape(): { shared: number; inFlight: number; waiting: number } {
    let inFlight = 0
    for (const l of this.lanes) inFlight += l.inFlight
    return { shared: this.lanes.length, inFlight, waiting: this.waitingCount }
  }

  query(sql: string, params: readonly unknown[] | undefined, options: QueryOptions, acquireTimeout = this.settings.acquireTimeout): Promise<Result<unknown>> {
    const why = verdictOf(sql)
    if (why !== undefined) {
      return Promise.reject(new MultiplexingRefused(`${why} cannot run on a multiplexed pool.query(): later statements of other callers would share that connection's state. Use pool.connection() or pool.transaction()`))
    }
    if (!this.host.open) return Promise.reject(this.host.closedError())
    const lane = this.pick()
    if (lane !== undefined) {
      if (lane.inFlight >= SPREAD) this.grow()
      return this.run(lane, sql, params, options)
    }
    const waiting = this.waitingCount
    if (waiting >= this.settings.maxWaiting) {
      return Promise.reject(new PoolExhausted(`too many statements waiting for a multiplexed connection: ${waiting} already wait (maxWaiting ${this.settings.maxWaiting})`))
    }
    const signal = options.signal
    if (signal?.aborted) return Promise.reject(new PoolError('acquire aborted', { cause: signal.reason }))
    return new Promise<Result<unknown>>((resolve, reject) => {
      const w: MuxWaiter = { sql, params, options, resolve, reject, timer: undefined, done: false, unwatch: undefined }
      const timeout = acquireTimeout
      if (timeout > 0 && timeout !== Infinity) {
        w.timer = setTimeout(() => {
          if (w.done) return
          this.forget(w)
          reject(new PoolTimeout(`timed out after ${timeout} ms waiting for room on a multiplexed connection (${this.lanes.length} shared, ${this.shape.inFlight} statements in flight)`, timeout))
        }, timeout)
      }
      if (signal !== undefined) {
        // Aborted while it waits: never sent, refused as an abandoned acquire is.
        const onAbort = (): void => {
          if (w.done) return
          this.forget(w)
          reject(new PoolError('acquire aborted', { cause: signal.reason }))
        }
        signal.addEventListener('abort', onAbort, { once: true })
        w.unwatch = () => signal.removeEventListener('abort', onAbort)
      }
      this.queue.push(w)
      this.waitingCount++
      this.grow()
    })
  }

  /** The emptiest lane with room, if any. */
  private pick(): Lane | undefined {
    let best: Lane | undefined
    for (const l of this.lanes) {
      if (l.draining || l.inFlight >= this.settings.perConnection || l.conn.closed) continue
      if (best === undefined || l.inFlight < best.inFlight) best = l
    }
    return best
  }

  private run(lane: Lane, sql: string, params: readonly unknown[] | undefined, options: QueryOptions): Promise<Result<unknown>> {
    lane.inFlight++
    let p: Promise<Result<unknown>>
    try {
      p = lane.conn.query(sql, params, options)
    } catch (err) {
      p = Promise.reject(err)
    }
    const settled = (): void => {
      lane.inFlight--
      this.pump(lane)
    }
    p.then(settled, settled)
    return p
  }

  /** Room on `lane`: the next waiters go there; an empty lane may go back. */
  private pump(lane: Lane): void {
    if (lane.conn.closed) return this.drop(lane)
    // Held past the pool's maxLifetime: drain, so the pool retires it when it comes back.
    if (!lane.draining && Date.now() - lane.since >= this.host.maxLifetime) {
      lane.draining = true
      this.remove(lane)
      if (this.waiting) this.grow()
    }
    while (!lane.draining && lane.inFlight < this.settings.perConnection) {
      const w = this.next()
      if (w === undefined) break
      this.start(lane, w)
    }
    if (lane.inFlight > 0) return
    // An abandoned statement (its caller's timeout fired) may still be on
    // the wire: the connection goes back only once it is quiet.
    if (lane.conn.busy) return this.whenQuiet(lane)
    if (lane.draining || this.host.exclusiveWaiting > 0 || !this.host.open) return this.giveBack(lane)
    // Nothing in flight: back to the pool on the next turn, unless more comes.
    if (lane.idleCheck) return
    lane.idleCheck = true
    setImmediate(() => {
      lane.idleCheck = false
      if (lane.inFlight === 0 && this.lanes.includes(lane)) this.quietOrLater(lane)
    })
  }

  /** A lane with none of its callers' statements left: back to the pool if its connection is quiet, else soon. */
  private quietOrLater(lane: Lane): void {
    if (lane.released) return
    if (lane.conn.closed) return this.drop(lane)
    if (lane.conn.busy) return this.whenQuiet(lane)
    this.giveBack(lane)
  }

  /** Looks again shortly at a lane with nothing of its callers in flight but its connection still busy. */
  private whenQuiet(lane: Lane): void {
    if (lane.idleCheck) return
    lane.idleCheck = true
    setTimeout(() => {
      lane.idleCheck = false
      if (lane.inFlight === 0) this.quietOrLater(lane)
    }, 10)
  }

  private start(lane: Lane, w: MuxWaiter): void {
    this.forget(w)
    this.run(lane, w.sql, w.params, w.options).then(w.resolve, w.reject)
  }

  /** A waiter leaves the queue (taken, timed out, aborted): its timer and abort listener go. */
  private forget(w: MuxWaiter): void {
    if (!w.done && --this.waitingCount === 0) {
      // Nobody waits any more (taken, timed out, aborted): a lane still being
      // asked for is not needed. Called off once this turn is over, in case
      // another statement comes at once.
      queueMicrotask(() => {
        if (this.waitingCount === 0) this.callOff?.()
      })
    }
    w.done = true
    if (w.timer !== undefined) clearTimeout(w.timer)
    w.unwatch?.()
  }

  private next(): MuxWaiter | undefined {
    while (this.head < this.queue.length) {
      const w = this.queue[this.head++]!
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head)
        this.head = 0
      }
      if (!w.done) return w
    }
    return undefined
  }

  private get waiting(): boolean {
    return this.waitingCount > 0
  }

  /** Takes one more connection from the pool for sharing, if there is room and need. */
  private grow(): void {
    if (this.opening > 0 || this.lanes.length >= this.host.max || !this.host.open) return
    this.opening++
    // No deadline of its own: each statement waits as long as its own
    // acquireTimeout says; once none waits any more, the wait is called off
    // (a pool that cannot connect would otherwise keep retrying, and the
    // process alive, for nobody).
    const stop = new AbortController()
    this.callOff = () => stop.abort()
    this.host.acquire({ timeout: 0, signal: stop.signal }).then(
      (lease) => {
        this.opening--
        this.callOff = undefined
        const lane: Lane = { lease, conn: lease.connection, inFlight: 0, draining: false, idleCheck: false, released: false, since: Date.now() }
        this.lanes.push(lane)
        this.pump(lane)
        if (this.waiting) this.grow()
      },
      (err: Error) => {
        this.opening--
        this.callOff = undefined
        // No lane to wait for: the waiters get why the pool could not lend one.
        if (this.lanes.length === 0) this.failWaiters(err)
      },
    )
  }

  /** Someone waits for a connection of their own: one lane stops taking statements and goes back once empty. */
  shed(): void {
    let best: Lane | undefined
    for (const l of this.lanes) if (!l.draining && (best === undefined || l.inFlight < best.inFlight)) best = l
    if (best === undefined) return
    best.draining = true
    if (best.inFlight === 0) this.giveBack(best)
  }

  private remove(lane: Lane): void {
    const i = this.lanes.indexOf(lane)
    if (i !== -1) this.lanes.splice(i, 1)
  }

  private giveBack(lane: Lane): void {
    this.remove(lane)
    if (!lane.released) {
      lane.released = true
      void lane.lease.release()
    }
    // Statements still waiting need a lane.
    if (this.waiting) this.grow()
  }

  /** Its connection is lost: no more statements; back to the pool (discarded) once the last in flight has failed. */
  private drop(lane: Lane): void {
    this.remove(lane)
    lane.draining = true
    if (lane.inFlight === 0 && !lane.released) {
      lane.released = true
      void lane.lease.release({ discard: true })
    }
    if (this.waiting) this.grow()
  }

  private failWaiters(err: Error): void {
    for (let w = this.next(); w !== undefined; w = this.next()) {
      this.forget(w)
      w.reject(err)
    }
  }

  /** The pool is closing: waiters are refused, lanes go back once their statements are done. */
  close(err: Error): void {
    this.failWaiters(err)
    for (const lane of [...this.lanes]) {
      lane.draining = true
      if (lane.inFlight === 0) this.giveBack(lane)
    }
  }
}

/**
 * What a statement would leave behind on its connection for the next
 * caller, by its leading keywords (after comments); undefined when it is
 * fine to share. Function calls that change session state (set_config,
 * advisory locks, ...) are not seen: they are the caller's to avoid.
 */
/** sessionChange() per SQL text, remembered: services send the same few texts over and over. */
const verdicts = new Map<string, string | null>()
const VERDICTS_MAX = 1024

function verdictOf(sql: string): string | undefined {
  let v = verdicts.get(sql)
  if (v === undefined) {
    v = sessionChange(sql) ?? null
    if (verdicts.size >= VERDICTS_MAX) verdicts.clear()
    verdicts.set(sql, v)
  }
  return v ?? undefined
}

export function sessionChange(sql: string): string | undefined {
  const words = leadingWords(sql, 5)
  const [a, b, c] = words
  switch (a) {
    case 'begin':
    case 'start':
    case 'commit':
    case 'end':
    case 'rollback':
    case 'abort':
    case 'savepoint':
    case 'release':
      return 'a transaction statement (BEGIN, COMMIT, SAVEPOINT ...)'
    case 'set':
    case 'reset':
      return 'SET/RESET (session settings)'
    case 'listen':
    case 'unlisten':
      return 'LISTEN/UNLISTEN'
    case 'prepare':
    case 'deallocate':
    case 'execute':
      return 'PREPARE/EXECUTE/DEALLOCATE (session-level prepared statements)'
    case 'discard':
      return 'DISCARD'
    case 'declare':
    case 'fetch':
    case 'move':
    case 'close':
      return 'a cursor statement'
    case 'lock':
      return 'LOCK'
    case 'copy':
      return 'COPY (use copyFrom()/copyTo() on a connection of your own)'
    case 'load':
      return 'LOAD'
    case 'create': {
      // CREATE [OR REPLACE] [LOCAL|GLOBAL] TEMP[ORARY] TABLE/VIEW/SEQUENCE ...
      const rest = b === 'or' && c === 'replace' ? words.slice(3) : words.slice(1)
      const kind = rest[0] === 'local' || rest[0] === 'global' ? rest[1] : rest[0]
      if (kind === 'temp' || kind === 'temporary' || /\bpg_temp\s*\./i.test(code(sql))) return 'a temporary object'
      return undefined
    }
    case 'select':
    case 'with':
      // SELECT ... INTO TEMP makes a temporary table.
      if (/\binto\s+(temp|temporary|local\s+temp|local\s+temporary)\b/i.test(code(sql))) return 'SELECT INTO a temporary table'
      return undefined
    default:
      return undefined
  }
}

/** The statement without its string literals, quoted identifiers and comments (so their words are not read as SQL). */
function code(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\$([A-Za-z_]*)\$[\s\S]*?\$\1\$|--[^\n]*|\/\*[\s\S]*?\*\//g, ' ')
}

/** The first `n` words of `sql`, lower-cased, after whitespace and comments. */
function leadingWords(sql: string, n: number): string[] {
  const out: string[] = []
  let i = 0
  const len = sql.length
  while (out.length < n && i < len) {
    const ch = sql.charCodeAt(i)
    // Whitespace (as the server's lexer has it, \v included), '(' and ';' (an empty statement before the real one).
    if (ch === 32 || ch === 9 || ch === 10 || ch === 11 || ch === 13 || ch === 12 || ch === 40 /* ( */ || ch === 59 /* ; */) {
      i++
      continue
    }
    if (sql.startsWith('--', i)) {
      const nl = sql.indexOf('\n', i)
      if (nl === -1) break
      i = nl + 1
      continue
    }
    if (sql.startsWith('/*', i)) {
      // Block comments nest in PostgreSQL.
      let depth = 0
      do {
        if (sql.startsWith('/*', i)) {
          depth++
          i += 2
        } else if (sql.startsWith('*/', i)) {
          depth--
          i += 2
        } else i++
      } while (depth > 0 && i < len)
      continue
    }
    let j = i
    while (j < len && /[A-Za-z_]/.test(sql[j]!)) j++
    if (j === i) break
    out.push(sql.slice(i, j).toLowerCase())
    i = j
  }
  return out
}

