// The query engine, free of I/O: no sockets, no timers, no promises. It takes
// operations (admit + submit), aborts, and the end of each request (from the
// Session, which routes the server's messages), and gives back bytes in the
// Writer and effects through EngineEffects: "send what is written", "send a
// CancelRequest". Each operation's messages are written by its own file in
// ops/; the engine decides when an operation may be written, keeps the ones
// that must wait, and settles them.
//
// Its state is explicit: a lifecycle (open, closing, closed, dead) that only
// moves forward, the owner that has the connection to itself (a transaction,
// pipeline, stream or COPY handle's token), and the named gates that hold new
// writes (a describe, a cancel, an exclusive request).

import { ConnectionError, InterfaceError, type PglineError } from '../errors/base.js'
import * as fe from '../protocol/frontend.js'
import type { Writer } from '../protocol/writer.js'
import { RowDecoder, type Result } from '../types/result.js'
import type { TypeMap } from '../types/type-map.js'
import { Gates, type Gate, type GateReason } from './gates.js'
import type { OpContext } from './ops/context.js'
import { sendCopy } from './ops/copy.js'
import { sendExchange } from './ops/exchange.js'
import { sendDescribe } from './ops/describe.js'
import { sendPipelined, sendPipelineSync } from './ops/pipeline.js'
import { sendQuery, type QueryHooks, type QueryRequest } from './ops/query.js'
import { sendSimple } from './ops/simple.js'
import { sendStream } from './ops/stream.js'
import { checkParamCount, checkSqlText } from './params.js'
import { abandonedError, canceledError, isStaleStatement, type Op, type Pending } from './pending.js'
import { maxPlaceholder } from './placeholders.js'
import { checkResultFormat, resultLimits, type QueryOptions, type ResultFormat, type ResultLimits } from './query-options.js'
import type { Request, Session } from './session.js'
import { StatementCache, type CachedStatement } from './statement-cache.js'

export interface EngineSettings {
  /** The connection's type map. */
  types: TypeMap
  statementCacheSize: number
  /** Cache prepared statements unless a query says otherwise. */
  prepare: boolean
  resultFormat: ResultFormat
  /** Requests written but not answered before further ones wait. */
  maxInFlight: number
  /** The connection's maxRows / maxResultBytes (QueryOptions has the same, per query). */
  maxRows?: number
  maxResultBytes?: number
}

/** What the engine asks of the connection around it. */
export interface EngineEffects {
  /** Bytes wait in the writer: write them now (`now`: a lone request, nothing to gather) or by the end of this tick. */
  send(now: boolean): void
  /** Send a CancelRequest for this backend; `settled` runs once it was delivered or failed. */
  cancel(settled: () => void): void
}

/** open: taking operations; closing: close() waits for the queue; closed: Terminate is written; dead: the socket is gone. */
export type Lifecycle = 'open' | 'closing' | 'closed' | 'dead'
const ORDER: Record<Lifecycle, number> = { open: 0, closing: 1, closed: 2, dead: 3 }

/** The engine's state as a whole: its lifecycle, or while open why writes wait (or who owns it). */
export type EngineState = Exclude<Lifecycle, 'open'> | 'ready' | 'owned' | 'describing' | 'canceling' | 'exclusive'
const GATE_STATE: Record<GateReason, EngineState> = { describe: 'describing', cancel: 'canceling', exclusive: 'exclusive' }

/** What the connection watches after an abort: whether the aborted request is the one the server runs, and how to cancel it then. */
export interface AbortWatch {
  running(): boolean
  cancel?(): void
}

/** How a stream or COPY is ended by its signal or timeout. */
export interface Stopper {
  /** Ends it on the client with `err` and writes what ends it on the wire (its own messages are already written). */
  stop(err: PglineError): void
  /** Cancels it on the server; called once it is the request running. */
  cancel(): void
}

const EMPTY: readonly unknown[] = []
const NO_OPTIONS: QueryOptions = {}

function noop(): void {}

export class Engine implements OpContext {
  readonly cache: StatementCache
  readonly types: TypeMap
  private readonly prepareByDefault: boolean
  private readonly resultFormat: ResultFormat
  private readonly maxInFlight: number
  /** The connection's result limits; undefined when it has none. */
  private readonly limits: ResultLimits | undefined
  private lifecycle: Lifecycle = 'open'
  /** Whoever holds the connection: a transaction, pipeline, stream or COPY handle's token, or undefined. */
  private owner: object | undefined
  private readonly gates = new Gates()
  /** Operations waiting to be written, in call order. */
  private readonly waiting: Pending[] = []
  /** Pipeline groups written without their Sync yet. */
  private openGroups = 0
  /** Sent requests to cancel once each is the one running, with the gate that holds writes meanwhile. */
  private readonly cancelWanted = new Map<Request, Gate>()
  /** Streams and COPYs a CancelRequest was sent for (once is enough). */
  private readonly canceled = new WeakSet<Request>()
  /** What runs when a request's ReadyForQuery arrives: a held request's release, a cancel's gate. */
  private readonly onEnd = new Map<Request, () => void>()
  /** close() waits for the queue to empty: called when it has, or when the connection dies. */
  private idle: (() => void) | undefined

  constructor(
    readonly session: Session,
    readonly writer: Writer,
    settings: EngineSettings,
    private readonly effects: EngineEffects,
  ) {
    this.types = settings.types
    this.cache = new StatementCache(Math.max(0, settings.statementCacheSize))
    this.prepareByDefault = settings.prepare && this.cache.capacity > 0
    this.resultFormat = checkResultFormat(settings.resultFormat)
    this.maxInFlight = Math.max(1, settings.maxInFlight)
    this.limits = resultLimits(settings)
  }

  // --- State

  get state(): EngineState {
    if (this.lifecycle !== 'open') return this.lifecycle
    const reason = this.gates.reason
    if (reason !== undefined) return GATE_STATE[reason]
    return this.owner !== undefined ? 'owned' : 'ready'
  }

  get life(): Lifecycle {
    return this.lifecycle
  }

  /** Moves the lifecycle forward; false if it is there already. Moving back is a bug. */
  to(next: Lifecycle): boolean {
    const from = ORDER[this.lifecycle]
    if (ORDER[next] === from) return false
    if (ORDER[next] < from) throw new Error(`pgline internal error: connection state ${this.lifecycle} cannot go back to ${next}`)
    // Closed before 'closed' (a server that ended it, terminate()): the statements are gone with the session.
    if (from < ORDER.closed && ORDER[next] >= ORDER.closed) this.cache.clear()
    this.lifecycle = next
    return true
  }

  /** Operations queued or in flight, or an owner holding the connection. */
  get busy(): boolean {
    return this.session.pending > 0 || this.waiting.length > 0 || this.owner !== undefined
  }

  /** Operations in flight plus those waiting to be written. */
  get inFlight(): number {
    return this.session.pending + this.waiting.length
  }

  /** A pipeline group is open (no Sync yet): what is written must be followed by Flush. */
  get groupsOpen(): boolean {
    return this.openGroups > 0
  }

  // --- Ownership: a transaction, pipeline, stream or COPY has the connection to itself.

  checkOwner(token: object | undefined, what: string): void {
    if (this.owner === token) return
    if (token === undefined) {
      throw new InterfaceError(
        `${what} called on the connection while a transaction, pipeline, stream, COPY or replication stream holds it; use the handle it gave you (tx, p, the stream), or wait until it ends`,
      )
    }
    throw new InterfaceError(`${what} called on a transaction or pipeline handle that is not active (it ended, or a nested one is running)`)
  }

  /** `token` takes the connection from `parent` (undefined: the connection itself). */
  claim(token: object, parent: object | undefined, what: string): void {
    this.checkOwner(parent, what)
    this.owner = token
  }

  /** Gives the connection back to `parent`, if `token` still has it. */
  release(token: object, parent: object | undefined): void {
    if (this.owner === token) this.owner = parent
  }

  // --- Taking operations

  /**
   * Checks an operation and makes its Pending (throwing what it refuses);
   * nothing is queued or written until submit(). `resolve` gets the
   * operation's own result: a Result, a list of them (simple), a Description
   * (describe), or nothing.
   */
  admit(token: object | undefined, op: Op, resolve: (value: unknown) => void, reject: (err: Error) => void): Pending {
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
    return {
      op,
      sql,
      params,
      mode: options.rowMode ?? 'object',
      format: options.resultFormat === undefined ? this.resultFormat : checkResultFormat(options.resultFormat),
      types: kind === 'stream' ? op.types : (options.types ?? this.types),
      prepare: kind !== 'simple' && (options.prepare ?? this.prepareByDefault) && this.cache.capacity > 0,
      group: kind === 'pipelined' || kind === 'sync' ? op.group() : undefined,
      // Two undefined checks per query when no limit is asked for; rows pay nothing then.
      limits: options.maxRows === undefined && options.maxResultBytes === undefined ? this.limits : resultLimits(options, this.limits),
      state: 'queued',
      retried: false,
      abortReason: undefined,
      request: undefined,
      describe: undefined,
      cleanup: undefined,
      resolve,
      reject,
    }
  }

  /** Writes an admitted operation now, or queues it behind what must go first. */
  submit(p: Pending): void {
    if (p.state === 'done') return
    if (this.gates.holding || this.waiting.length > 0 || !this.hasRoom(p)) this.waiting.push(p)
    else this.dispatch(p)
  }

  /**
   * Under the in-flight bound. A pipeline's group is one request from its
   * first statement to its Sync: the rest of it joins that request and never
   * waits for room (its ReadyForQuery cannot come before its Sync is written).
   */
  private hasRoom(p: Pending): boolean {
    return this.session.pending < this.maxInFlight || p.group?.request !== undefined
  }

  dispatch(p: Pending): void {
    if (p.abortReason !== undefined) return this.finish(p, canceledError(p.sql, p.abortReason, false))
    switch (p.op.kind) {
      case 'extended':
        return sendQuery(this, p as Pending<typeof p.op>)
      case 'simple':
        return sendSimple(this, p)
      case 'pipelined':
        return sendPipelined(this, p as Pending<typeof p.op>)
      case 'sync':
        return sendPipelineSync(this, p)
      case 'describe':
        return sendDescribe(this, p as Pending<typeof p.op>)
      case 'stream':
        return sendStream(this, p as Pending<typeof p.op>)
      case 'copy':
        return sendCopy(this, p as Pending<typeof p.op>)
      case 'exchange':
        return sendExchange(this, p as Pending<typeof p.op>)
    }
  }

  /** Writes queued operations while nothing forbids it. */
  drain(): void {
    while (this.waiting.length > 0 && !this.gates.holding && this.hasRoom(this.waiting[0]!) && ORDER[this.lifecycle] < ORDER.closed) {
      this.dispatch(this.waiting.shift()!)
    }
    if (this.idle !== undefined && ((this.waiting.length === 0 && !this.gates.holding) || this.owner !== undefined)) {
      const idle = this.idle
      this.idle = undefined
      idle()
    }
  }

  /** Ends an operation, once. */
  finish(p: Pending, err: Error | undefined, value?: unknown): void {
    if (p.state === 'done') return
    p.state = 'done'
    p.cleanup?.()
    if (err !== undefined) p.reject(err)
    else p.resolve(value)
  }

  // --- What the ops share (OpContext)

  readonly plainHooks: QueryHooks = {
    copyInRefused: () => {
      fe.copyFail(this.writer, 'COPY FROM STDIN is not supported through query(); use the COPY API')
      this.effects.send(false)
    },
    commandTag: (tag) => {
      // The user dropped every prepared statement: forget ours without Close.
      if (tag === 'DISCARD ALL' || tag === 'DEALLOCATE ALL') this.cache.clear()
    },
  }

  closeEvicted(): void {
    const names = this.cache.toClose
    if (names.length === 0) return
    for (const name of names) fe.close(this.writer, 'S', name)
    names.length = 0
  }

  settle(p: Pending, stmt: CachedStatement | undefined): [(r: Result<unknown>[]) => void, (e: Error) => void] {
    return [
      // One statement, one result; a simple query gives one per statement.
      (results) => this.finish(p, undefined, p.op.kind === 'simple' ? results : results[0]),
      (err) => {
        const stale = stmt === undefined ? undefined : isStaleStatement(err)
        if (stale !== undefined && stmt !== undefined) {
          this.cache.forget(stmt, stale === 'changed')
          // Retrying is only transparent outside a transaction block.
          if (!p.retried && this.session.transactionStatus === 'I' && p.abortReason === undefined && ORDER[this.lifecycle] < ORDER.closed) {
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

  sent(p: Pending, req: QueryRequest): void {
    p.state = 'sent'
    p.request = req
    this.session.enqueue(req)
    // Alone in flight (a sequential caller): write now rather than on the
    // next tick; queries issued together still go out in one write.
    this.effects.send(this.session.pending === 1 && this.openGroups === 0)
  }

  expect(req: Request): void {
    this.session.enqueue(req)
  }

  wrote(): void {
    this.effects.send(false)
  }

  hold(reason: 'describe'): Gate {
    return this.gates.hold(reason)
  }

  releaseGate(gate: Gate): void {
    this.gates.release(gate)
  }

  holdForRequest(p: Pending, req: Request, ended: () => void): void {
    const gate = this.gates.hold('exclusive')
    this.onEnd.set(req, () => {
      this.gates.release(gate)
      ended()
    })
    this.session.enqueue(req)
    p.state = 'sent'
    // The operation is under way: its handle reads the rest through `req`.
    this.finish(p, undefined)
    this.effects.send(false)
  }

  groupOpened(delta: 1 | -1): void {
    this.openGroups += delta
  }

  planFor(stmt: CachedStatement, p: Pending): RowDecoder | undefined {
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

  /** The Session finished a request (its ReadyForQuery was handled). */
  completed(req: Request): void {
    if (this.onEnd.size > 0) {
      const end = this.onEnd.get(req)
      if (end !== undefined) {
        this.onEnd.delete(req)
        end()
      }
    }
    // A cancel may now target the next request, and waiting operations may go.
    if (this.cancelWanted.size > 0) this.maybeSendCancel()
    if (this.waiting.length > 0 || this.gates.holding) this.drain()
  }

  // --- Aborts and cancels

  /**
   * An operation's signal or timeout fired. A queued one is dropped (the
   * server never hears of it); a sent one is canceled once it runs, with new
   * writes held until the cancel has settled, so it cannot reach a later
   * query. Returns what the connection watches while the server answers.
   */
  abort(p: Pending, reason: unknown): AbortWatch | undefined {
    if (p.state === 'done' || p.abortReason !== undefined) return undefined
    p.abortReason = reason ?? new InterfaceError('query aborted')
    const kind = p.op.kind
    if (p.state === 'queued') {
      const i = this.waiting.indexOf(p)
      if (i !== -1) this.waiting.splice(i, 1)
      this.finish(p, canceledError(p.sql, p.abortReason, false))
      this.drain()
      return undefined
    }
    if (p.state === 'sent' && kind === 'sync') {
      // A pipeline's sync() with a timeout: it waits for the group's ReadyForQuery.
      const group = p.group?.request
      return { running: () => group !== undefined && this.session.current === group }
    }
    if (p.state === 'sent' && kind === 'pipelined') {
      // A statement inside a Sync group: the group is one request to the
      // session, so cancel only while this statement is the one running (an
      // earlier one has a timeout of its own, or none); holding writes here
      // could block the group's own Sync.
      const group = p.group?.request
      let canceled = false
      return {
        running: () => group !== undefined && this.session.current === group && group.running === p.request,
        cancel: () => {
          if (canceled || this.session.secretKey === undefined) return
          canceled = true
          this.effects.cancel(noop)
        },
      }
    }
    if (p.state === 'sent' && p.request !== undefined) {
      const req = p.request
      if (this.session.current !== req && this.session.hasAfter(req)) {
        // It waits behind earlier statements, with others pipelined behind
        // it: a CancelRequest sent once it looked current could reach the
        // server while one of those later ones runs (a quick statement is
        // over before its answer is read), and cancel that instead. So this
        // one is abandoned: its caller is told now, the server runs it to its
        // end, and what it answers is dropped. (A statement already running
        // is canceled as before: only if it ends in the moment the cancel
        // takes to arrive can the cancel reach the next one.)
        this.finish(p, abandonedError(p.sql, p.abortReason))
        return undefined
      }
      this.cancelWanted.set(req, this.gates.hold('cancel'))
      this.maybeSendCancel()
      return { running: () => this.session.current === req }
    }
    // 'describing': the description comes back quickly and dispatch sees
    // abortReason; unless the server is gone.
    return { running: () => p.describe !== undefined && this.session.current === p.describe }
  }

  /** Sends a CancelRequest when a request to cancel is the one running now; writes stay held until both settle. */
  private maybeSendCancel(): void {
    const head = this.session.current
    if (head === undefined) return
    const gate = this.cancelWanted.get(head)
    if (gate === undefined) return
    this.cancelWanted.delete(head)
    this.cancelThenRelease(head, gate, this.session.secretKey === undefined || this.lifecycle === 'dead')
  }

  /** Releases `gate` once the cancel has settled and `req` has ended. */
  private cancelThenRelease(req: Request, gate: Gate, skipCancel: boolean): void {
    let left = 2
    const release = (): void => {
      if (--left > 0) return
      this.gates.release(gate)
      this.drain()
    }
    this.onEnd.set(req, release)
    // After close() the query still runs until Terminate is read: cancel it all the same.
    if (skipCancel) release()
    else this.effects.cancel(release)
  }

  /** Cancels a stream or COPY if it is the request the server runs now (once), holding new writes until it ends. */
  cancelRunning(req: Request): void {
    if (this.session.secretKey === undefined || this.lifecycle === 'dead' || this.session.current !== req || this.canceled.has(req)) return
    this.canceled.add(req)
    // Its own end (the exclusive gate's release) runs first.
    const held = this.onEnd.get(req)
    const gate = this.gates.hold('cancel')
    let left = 2
    const release = (): void => {
      if (--left > 0) return
      this.gates.release(gate)
      this.drain()
    }
    this.onEnd.set(req, () => {
      held?.()
      release()
    })
    this.effects.cancel(release)
  }

  /**
   * A stream's or COPY's signal or timeout fired: dropped if still queued;
   * once its messages are on the wire, `stop` ends it (what ends it may
   * follow them). Returns what to watch, or undefined when nothing remains.
   */
  abortHeld(req: Request, sql: string, reason: unknown, stopper: Stopper): AbortWatch | undefined {
    if (ORDER[this.lifecycle] >= ORDER.closed) return undefined
    const queued = this.waiting.findIndex((p) => (p.op.kind === 'stream' || p.op.kind === 'copy' || p.op.kind === 'exchange') && p.op.req === req)
    if (queued !== -1) {
      const [p] = this.waiting.splice(queued, 1)
      this.finish(p!, canceledError(sql, reason ?? new InterfaceError('aborted'), false))
      this.drain()
      return undefined
    }
    if (!this.session.has(req)) return undefined
    stopper.stop(canceledError(sql, reason ?? new InterfaceError('aborted'), true))
    this.effects.send(false)
    return { running: () => this.session.current === req, cancel: () => stopper.cancel() }
  }

  // --- Ending

  /** Whether close() must wait for the queue (operations waiting or gates held, with no owner holding it). */
  get settling(): boolean {
    return (this.waiting.length > 0 || this.gates.holding) && this.owner === undefined
  }

  /** Runs `fn` once the queue has emptied (or an owner took the connection, or it died). */
  whenIdle(fn: () => void): void {
    this.idle = fn
  }

  /** Fails what is still queued (close(): queued by an owner after close() was called). */
  dropQueued(err: () => Error): void {
    for (const p of this.waiting.splice(0)) this.finish(p, err())
  }

  /** The connection is gone: every request fails, queued ones as never sent. */
  fail(err: PglineError): void {
    this.to('dead')
    const waiting = this.waiting.splice(0)
    this.session.die(err)
    for (const p of waiting) this.finish(p, new ConnectionError(`connection lost before the query was sent: ${err.message}`, { retrySafe: true, cause: err }))
    this.gates.end()
    this.cancelWanted.clear()
    this.onEnd.clear()
    const idle = this.idle
    this.idle = undefined
    idle?.()
  }
}
