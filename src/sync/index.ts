// pgline/sync: a blocking API over the async driver, with no native code.
//
// Each SyncConnection owns a worker thread (./worker.js) that runs an
// ordinary async Connection. A call writes its request into a shared data
// buffer (./codec.js) and bumps the request counter, or, for what that codec
// does not cover, posts it on a MessageChannel; then it blocks in
// Atomics.wait on a SharedArrayBuffer until the worker bumps the reply
// counter, and reads the reply from the shared buffer or takes it with
// receiveMessageOnPort. Nothing of
// the protocol is repeated here: this file only moves calls, values and
// errors across the thread boundary, and bounds how long it waits.

import { receiveMessageOnPort, MessageChannel, Worker, type MessagePort } from 'node:worker_threads'
import {
  ConnectionError,
  InterfaceError,
  ParameterError,
  parseUrl,
  TimeoutError,
  type ColumnDescription,
  type Columns,
  type ColumnsResult,
  type ConnectionOptions,
  type CopyOptions,
  type Field,
  type LoadedType,
  type Notice,
  type QueryOptions,
  type Result,
  type Row,
  type ServerCursorOptions,
  type StatementDescription,
  type TransactionOptions,
} from '../index.js'
import { SharedIO } from './codec.js'
import { simpleText, toQuery, type SqlQuery } from '../client/sql.js'
import { checkOptionKeys } from '../config/known-options.js'
import { emit } from '../client/emit.js'
import { retryDelay } from '../client/retry.js'
import { HEARTBEAT_MS, pack, rebuildError, SLOT, SLOT_COUNT, unpack, type HandleKind, type Reply, type Request, type SerializedError } from './wire.js'
import { OPS, type LimitRule, type Op, type OpArgs, type OpName } from './ops.js'

export * from '../errors.js'
export { DecodeError, PgInterval, PgRange } from '../index.js'
// Fragments are rendered on this side: only text and values cross to the worker.
export { sql, SqlFragment, type SqlQuery, type SqlTag } from '../client/sql.js'
export type { ColumnDescription, Columns, ColumnsResult, CopyOptions, Field, LoadedType, Notice, Result, Row, ServerCursorOptions, StatementDescription, TransactionOptions }

export interface SyncConnectionOptions extends Omit<ConnectionOptions, 'types'> {
  /**
   * Milliseconds for TCP connect, TLS and authentication together. The sync
   * API defaults to 60 000 (the async one to 30 000) when neither this nor
   * PGCONNECT_TIMEOUT is set; 0 or Infinity waits forever.
   */
  connectTimeout?: number
  /**
   * How long past a call's own timeout (connectTimeout, queryTimeout or the
   * query's `timeout`) to wait for the worker's answer before giving up on
   * the connection: time for the cancel to reach the server and the error to
   * come back. Default 5000 ms.
   */
  replyGrace?: number
  /**
   * A worker with a request in hand bumps a heartbeat every 200 ms; if none
   * comes for this long the worker is taken for dead (stuck event loop),
   * terminated, and the call fails with ConnectionError. Default 30 000 ms
   * (at least 1000); 0 or Infinity turns the check off.
   */
  workerStallTimeout?: number
}

/** Per-query options: as the async API's, minus what cannot cross to the worker thread (`types`, `signal`). */
export type SyncQueryOptions = Omit<QueryOptions, 'types' | 'signal'>

const DEFAULT_CONNECT_TIMEOUT = 60_000
const DEFAULT_REPLY_GRACE = 5_000
const DEFAULT_STALL_TIMEOUT = 30_000
/** Five missed heartbeats: less would take a busy moment for a dead worker. */
const MIN_STALL_TIMEOUT = 1_000
/** Longest single Atomics.wait, when the stall check allows it. */
const WAIT_SLICE_MS = 1_000
const EMPTY: readonly unknown[] = []
/** Channel.broken after close(): the connection ended as asked, not with an error. */
const CLOSED_BY_US = new Error('closed by close()')

/**
 * Starts the worker bootstrap: installs the death signal (DEAD, EXIT, then a
 * SEQ bump so a waiting caller wakes up) before importing the worker module,
 * so a worker that fails to load still reports instead of leaving the caller
 * waiting.
 */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
const s = new Int32Array(workerData.state);
process.on('exit', (code) => {
  Atomics.store(s, ${SLOT.EXIT}, code);
  Atomics.store(s, ${SLOT.DEAD}, 1);
  Atomics.add(s, ${SLOT.SEQ}, 1);
  Atomics.notify(s, ${SLOT.SEQ});
});
// Beat while the worker module loads; the worker beats on its own once it handles requests.
const beat = setInterval(() => Atomics.add(s, ${SLOT.BEAT}, 1), ${HEARTBEAT_MS});
import(workerData.entry).then(() => clearInterval(beat), (err) => {
  workerData.port.postMessage({ id: 0, fatal: { cls: ['g', 'Error'], props: [
    ['message', 'cannot load the pgline sync worker ' + workerData.entry + ': ' + (err && err.message), false],
    ['stack', String(err && err.stack), false]] } });
  process.exit(71);
});
`

/** The worker module: compiled next to this one (dist/sync/worker.js). */
const WORKER_ENTRY = new URL('./worker.js', import.meta.url).href

/** Blocks the thread for `ms` (transaction retry backoff). */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

function positiveOrZero(n: number | undefined): number {
  return n === undefined || !(n > 0) || n === Infinity ? 0 : n
}

/** One worker thread and the channel to it. Shared by a connection and the handles it hands out. */
class Channel {
  private readonly worker: Worker
  private readonly port: MessagePort
  private readonly slots: Int32Array
  /** The shared data buffer: requests and replies as bytes. */
  private readonly io: SharedIO
  private nextId = 1
  /** The POSTED count when the port was last found empty. */
  private posted = 0
  /** Why the channel is unusable, once it is. */
  broken: Error | undefined
  private fatal: Error | undefined
  transactionStatus: 'I' | 'T' | 'E' = 'I'
  readonly noticeListeners: Array<(n: Notice) => void> = []
  /** Longest single Atomics.wait: often enough to notice a missing heartbeat in time. */
  private readonly slice: number

  constructor(
    private readonly grace: number,
    private readonly stallTimeout: number,
  ) {
    this.slice = stallTimeout > 0 ? Math.max(HEARTBEAT_MS, Math.min(WAIT_SLICE_MS, stallTimeout / 2)) : WAIT_SLICE_MS
    const state = new SharedArrayBuffer(SLOT_COUNT * 4)
    this.slots = new Int32Array(state)
    const data = SharedIO.allocate()
    this.io = new SharedIO(data)
    const { port1, port2 } = new MessageChannel()
    this.port = port1
    const testHooks = process.env.PGLINE_SYNC_TEST_HOOKS === '1'
    this.worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: { port: port2, state, data, entry: WORKER_ENTRY, testHooks },
      transferList: [port2],
    })
    // Neither may keep the process alive: an open SyncConnection must not hold up exit.
    this.worker.unref()
    this.port.unref()
    // Only seen when the caller's thread is idle; a blocked caller watches the DEAD word instead.
    this.worker.on('error', (err) => {
      this.fatal ??= err
    })
  }

  get closedByWorker(): boolean {
    return Atomics.load(this.slots, SLOT.CLOSED) === 1 || Atomics.load(this.slots, SLOT.DEAD) === 1
  }

  /**
   * Calls `method` on `handle` in the worker and blocks until it answers.
   * `limitMs`: how long to wait at most (Infinity: as long as the worker is
   * alive). `params`: the argument index holding query parameters, to name
   * one that cannot be sent.
   */
  call(handle: number, method: string, args: readonly unknown[], limitMs: number, opts: { params?: number; connecting?: boolean } = {}): { value: unknown; handle?: number } {
    if (this.broken !== undefined) throw new InterfaceError('the connection is closed', { cause: this.broken === CLOSED_BY_US ? undefined : this.broken })
    const id = this.nextId++
    const io = this.io
    if (io.encode([id, handle], method, true) >= 0 && io.append(args) >= 0) {
      Atomics.store(this.slots, SLOT.QID, id)
    } else {
      const req: Request = { id, h: handle, m: method, a: pack(args, true) }
      try {
        this.port.postMessage(req)
      } catch (err) {
        throw unsendable(err, args, opts.params)
      }
      Atomics.add(this.slots, SLOT.SENT, 1)
    }
    this.kick()
    const reply = this.wait(id, limitMs, opts.connecting === true)
    if (reply.ts !== undefined) this.transactionStatus = reply.ts
    if (reply.n !== undefined) for (const n of reply.n) emit(this.noticeListeners, n as Notice)
    if (!reply.ok) throw rebuildError(reply.e, callerStack())
    return { value: unpack(reply.v), handle: reply.h }
  }

  /** Posts a call without waiting (id 0: the worker sends no reply). For cleanup of forgotten handles. */
  send(handle: number, method: string, args: readonly unknown[]): void {
    if (this.broken !== undefined) return
    try {
      this.port.postMessage({ id: 0, h: handle, m: method, a: pack(args, true) } satisfies Request)
    } catch {
      // Nothing to report to: this is best-effort cleanup.
      return
    }
    Atomics.add(this.slots, SLOT.SENT, 1)
    this.kick()
  }

  /** Tells the worker there is a request (in the shared buffer or on the port): it may be waiting on REQ rather than its port. */
  private kick(): void {
    Atomics.add(this.slots, SLOT.REQ, 1)
    Atomics.notify(this.slots, SLOT.REQ)
  }

  private wait(id: number, limitMs: number, connecting: boolean): Extract<Reply, { ok: boolean }> {
    const slots = this.slots
    const start = Date.now()
    const deadline = start + limitMs
    let beat = Atomics.load(slots, SLOT.BEAT)
    let beatAt = start
    for (;;) {
      // Read the counter before looking for a reply: a reply posted after this
      // read changes the counter, so the wait below returns at once.
      const seq = Atomics.load(slots, SLOT.SEQ)
      if (Atomics.load(slots, SLOT.RID) === id) return this.sharedReply(id)
      // The port, only when the worker posted there (a reply the codec does not cover) or is dying (a fatal error before the DEAD word).
      const dead = Atomics.load(slots, SLOT.DEAD) === 1
      const posted = Atomics.load(slots, SLOT.POSTED)
      if (posted !== this.posted || dead) {
        const got = receiveMessageOnPort(this.port)
        if (got !== undefined) {
          const reply = got.message as Reply
          if ('fatal' in reply) {
            this.fatal = rebuildError(reply.fatal)
            continue // the DEAD word follows
          }
          if (reply.id === id) return reply
          continue // a stale reply (cannot happen: a channel that timed out is torn down)
        }
        this.posted = posted
      }
      if (dead) {
        const code = Atomics.load(slots, SLOT.EXIT)
        const cause = this.fatal
        const why = cause !== undefined ? `crashed: ${cause.message}` : `exited unexpectedly (exit code ${code})`
        throw this.breakDown(new ConnectionError(`the pgline sync worker ${why}`, { retrySafe: false, cause }))
      }
      const now = Date.now()
      if (now >= deadline) {
        const timeout = new TimeoutError(`no answer from the pgline sync worker within ${limitMs} ms`)
        throw this.breakDown(
          new ConnectionError(
            `${connecting ? 'connecting' : 'the call'} did not finish within ${limitMs} ms (its timeout plus ${this.grace} ms of grace); the connection was closed`,
            { retrySafe: connecting, cause: timeout },
          ),
        )
      }
      const b = Atomics.load(slots, SLOT.BEAT)
      if (b !== beat) {
        beat = b
        beatAt = now
      } else if (this.stallTimeout > 0 && now - beatAt >= this.stallTimeout) {
        throw this.breakDown(
          new ConnectionError(`the pgline sync worker stopped responding (no heartbeat for ${now - beatAt} ms); the connection was closed`, {
            retrySafe: false,
          }),
        )
      }
      Atomics.wait(slots, SLOT.SEQ, seq, Math.min(deadline - now, this.slice))
    }
  }

  /** The reply the worker wrote into the shared buffer (see post() in worker.ts), as it would have come through the port. */
  private sharedReply(id: number): Extract<Reply, { ok: boolean }> {
    const io = this.io
    const [, flags, h, ts] = io.decodeHead(4) as [number, number, number, number]
    const value = io.decodeValue()
    const reply: Extract<Reply, { ok: boolean }> =
      flags & 1 ? (flags & 2 ? { id, ok: true, v: { v: value }, h } : { id, ok: true, v: { v: value } }) : { id, ok: false, e: value as SerializedError }
    if (ts !== 0) reply.ts = String.fromCharCode(ts) as 'I' | 'T' | 'E'
    if (flags & 4) reply.n = io.decodeValue() as unknown[]
    return reply
  }

  /** Marks the channel unusable and ends the worker; returns `err` for throwing. */
  breakDown(err: Error): Error {
    this.broken ??= err
    this.terminate()
    return err
  }

  terminate(): void {
    void this.worker.terminate().catch(() => undefined)
  }
}

/** The caller's frames (from the class's method down, past Channel.call and invoke), appended to a rebuilt error's worker stack. */
function callerStack(): string {
  const lines = (new Error().stack ?? '').split('\n')
  return lines.length > 4 ? '\n' + lines.slice(4).join('\n') : ''
}

/** A DataCloneError from postMessage: name the parameter like the encoders would. */
function unsendable(err: unknown, args: readonly unknown[], paramsIndex: number | undefined): Error {
  const params = paramsIndex === undefined ? undefined : args[paramsIndex]
  if (Array.isArray(params)) {
    for (let i = 0; i < params.length; i++) {
      try {
        structuredClone(pack(params[i], true))
      } catch {
        const v: unknown = params[i]
        const proto = typeof v === 'object' && v !== null ? (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null) : null
        const valueType = typeof v === 'object' && v !== null ? `object ${proto?.constructor?.name || 'Object'}` : typeof v
        return new ParameterError(`cannot encode parameter $${i + 1}: the value (${valueType}) cannot be passed to the worker thread`, {
          index: i,
          valueType,
          cause: err,
        })
      }
    }
  }
  return new InterfaceError(`the arguments cannot be passed to the worker thread: ${(err as Error).message}`, { cause: err })
}

function checkQueryOptions(options: SyncQueryOptions | undefined): void {
  if (options === undefined) return
  const o = options as QueryOptions
  if (o.types !== undefined) throw new InterfaceError('the sync API cannot take a per-query type map: its codecs are functions, which cannot cross to the worker thread')
  if (o.signal !== undefined) throw new InterfaceError('the sync API cannot take an AbortSignal (the calling thread is blocked); use the timeout option')
}

/**
 * How long to wait for the worker's answer to a call that runs under
 * `timeout` ms (0: none): the timeout plus `grace`, for the cancel to reach
 * the server and the error to come back; Infinity without a timeout (the
 * worker's liveness is still watched).
 */
function limitFor(timeout: number, grace: number): number {
  return timeout > 0 ? timeout + grace : Infinity
}

/** The timeout a query runs under, and how long to wait for its answer. */
function queryLimit(options: SyncQueryOptions | undefined, connTimeout: number, grace: number): { options: SyncQueryOptions | undefined; limit: number } {
  if (options?.timeout === undefined) return { options, limit: limitFor(connTimeout, grace) }
  const t = positiveOrZero(options.timeout)
  return { options: { ...options, timeout: t }, limit: limitFor(t, grace) }
}

// ------------------------------------------------------- calls through OPS

/** A handle in the worker, as a caller's class holds it. */
interface Ref {
  readonly channel: Channel
  readonly handle: number
  /** The timeout the handle's calls run under: the connection's queryTimeout (for the root handle, the connect timeout). */
  readonly queryTimeout: number
  readonly grace: number
}

/** How long to wait for the answer to a call under `rule` (see LimitRule in ops.ts); `options` is the call's per-query options, if it takes some. */
function limitOf(rule: LimitRule, ref: Ref, options: SyncQueryOptions | undefined): { options: SyncQueryOptions | undefined; limit: number } {
  switch (rule) {
    case 'options':
      return queryLimit(options, ref.queryTimeout, ref.grace)
    case 'query':
    case 'connect':
      return { options, limit: limitFor(ref.queryTimeout, ref.grace) }
    case 'quick':
      return { options, limit: ref.grace + 1000 }
    case 'grace':
      return { options, limit: ref.grace }
    case 'none':
      return { options, limit: Infinity }
    default:
      return rule satisfies never
  }
}

/**
 * Calls `method` of the handle `ref` (of kind `kind`) in the worker, shaped
 * by its entry in OPS: its per-query options checked, `guard` run (the
 * handle's own "is it still usable" check, given the method's name), the time
 * limit from its rule, trailing undefined arguments dropped.
 */
function invoke<K extends HandleKind, M extends OpName<K>>(
  ref: Ref,
  kind: K,
  method: M,
  args: OpArgs<K, M>,
  guard?: (method: string) => void,
): { value: unknown; handle?: number } {
  const op = OPS[kind][method] as Op<unknown>
  let a = args as readonly unknown[]
  const given = op.options === undefined ? undefined : (a[op.options] as SyncQueryOptions | undefined)
  if (op.options !== undefined) checkQueryOptions(given)
  guard?.(method)
  const l = limitOf(op.limit, ref, given)
  if (op.options !== undefined && l.options !== given) {
    a = a.slice()
    ;(a as unknown[])[op.options] = l.options
  }
  let n = a.length
  while (n > 0 && a[n - 1] === undefined) n--
  if (n < a.length) a = a.slice(0, n)
  return ref.channel.call(ref.handle, method, a, l.limit, { params: op.params, connecting: op.limit === 'connect' })
}

// ---------------------------------------------------------------- public API

/**
 * Opens a connection and blocks until the server is ready for queries.
 * Takes what connect() takes (minus `types`), plus replyGrace and
 * workerStallTimeout.
 */
export function connectSync(input: string | SyncConnectionOptions = {}, extra: SyncConnectionOptions = {}): SyncConnection {
  const options: SyncConnectionOptions = typeof input === 'string' ? { ...parseUrl(input), ...extra } : { ...input, ...extra }
  return new SyncConnection(options)
}

export class SyncConnection {
  private readonly channel: Channel
  private readonly ref: Ref
  private isClosed = false
  /** The backend's process id. */
  readonly processId: number
  /** '3.0' or '3.2'. */
  readonly protocolVersion: string
  readonly serverVersion: string | undefined

  /** @internal Use connectSync(). */
  constructor(options: SyncConnectionOptions) {
    checkOptionKeys(options, 'sync')
    const { replyGrace, workerStallTimeout, onNotice, ...rest } = options
    if ((options as ConnectionOptions).types !== undefined) {
      throw new InterfaceError('the sync API cannot take a type map: its codecs are functions, which cannot cross to the worker thread')
    }
    if (rest.log !== undefined) throw new InterfaceError('the sync API cannot take a log function: it cannot cross to the worker thread (its lines go to stderr)')
    if (typeof (options as ConnectionOptions).password === 'function') {
      throw new InterfaceError(
        'the sync API cannot take a password function: a function cannot cross to the worker thread, and an async one could not be awaited; call it first and pass the password it gives as a string',
      )
    }
    const grace = replyGrace === undefined ? DEFAULT_REPLY_GRACE : positiveOrZero(replyGrace)
    const stallSetting = workerStallTimeout === undefined ? DEFAULT_STALL_TIMEOUT : positiveOrZero(workerStallTimeout)
    const stall = stallSetting === 0 ? 0 : Math.max(MIN_STALL_TIMEOUT, stallSetting)
    let connectTimeout = rest.connectTimeout
    if (connectTimeout === undefined && process.env.PGCONNECT_TIMEOUT === undefined) connectTimeout = DEFAULT_CONNECT_TIMEOUT
    if (connectTimeout !== undefined) rest.connectTimeout = positiveOrZero(connectTimeout)
    if (rest.queryTimeout !== undefined) rest.queryTimeout = positiveOrZero(rest.queryTimeout)
    // The worker's connection gives up on a canceled query before this side
    // stops waiting for the worker, so its error is the one the caller sees.
    if (rest.cancelGrace === undefined && grace > 0 && grace !== Infinity) rest.cancelGrace = grace / 2
    const effectiveConnect = connectTimeout !== undefined ? positiveOrZero(connectTimeout) : Number(process.env.PGCONNECT_TIMEOUT) * 1000
    this.channel = new Channel(grace, stall)
    if (onNotice !== undefined) this.channel.noticeListeners.push(onNotice)
    let r
    try {
      r = invoke({ channel: this.channel, handle: 0, queryTimeout: effectiveConnect, grace }, 'root', 'connect', [rest])
    } catch (err) {
      this.isClosed = true
      this.channel.breakDown(err as Error)
      throw err
    }
    this.ref = { channel: this.channel, handle: r.handle!, queryTimeout: rest.queryTimeout ?? 0, grace }
    const info = r.value as { processId: number; protocolVersion: string; serverVersion: string | undefined }
    this.processId = info.processId
    this.protocolVersion = info.protocolVersion
    this.serverVersion = info.serverVersion
  }

  /** True once the connection cannot be used any more (closed by us, by the server, or broken). */
  get closed(): boolean {
    return this.isClosed || this.channel.broken !== undefined || this.channel.closedByWorker
  }

  /** 'I' idle, 'T' in a transaction, 'E' in a failed transaction (as of the last completed call). */
  get transactionStatus(): 'I' | 'T' | 'E' {
    return this.channel.transactionStatus
  }

  /** Run-time parameters the server reported (server_version, TimeZone, ...), as of now. */
  get parameters(): ReadonlyMap<string, string> {
    return this.call('parameters', []).value as Map<string, string>
  }

  /** Notices arrive with the reply of the call during which (or before which) the worker received them. */
  on(event: 'notice', listener: (n: Notice) => void): this {
    if (event !== 'notice') throw new InterfaceError(`the sync API has no ${JSON.stringify(event)} event`)
    this.channel.noticeListeners.push(listener)
    return this
  }

  off(event: 'notice', listener: (n: Notice) => void): this {
    const list = this.channel.noticeListeners
    const i = list.indexOf(listener)
    if (event === 'notice' && i !== -1) list.splice(i, 1)
    return this
  }

  private call<M extends OpName<'connection'>>(method: M, args: OpArgs<'connection', M>): { value: unknown; handle?: number } {
    return invoke(this.ref, 'connection', method, args, this.checkOpen)
  }

  private readonly checkOpen = (): void => {
    if (this.isClosed) {
      const b = this.channel.broken
      throw new InterfaceError('the connection is closed', { cause: b === CLOSED_BY_US ? undefined : b })
    }
  }

  /** Runs one statement with the extended protocol; `$1..$n` take `params`. A sql`...` fragment carries its values: `query(fragment, options?)`. */
  query<R extends unknown[] = unknown[]>(sql: SqlQuery, options: SyncQueryOptions & { rowMode: 'array' }): Result<R>
  query(sql: SqlQuery, options: SyncQueryOptions & { rowMode: 'columns' }): ColumnsResult
  query<R = Row>(sql: SqlQuery, options?: SyncQueryOptions): Result<R>
  query<R extends unknown[] = unknown[]>(sql: string | SqlQuery, params: readonly unknown[] | undefined, options: SyncQueryOptions & { rowMode: 'array' }): Result<R>
  query(sql: string | SqlQuery, params: readonly unknown[] | undefined, options: SyncQueryOptions & { rowMode: 'columns' }): ColumnsResult
  query<R = Row>(sql: string | SqlQuery, params?: readonly unknown[], options?: SyncQueryOptions): Result<R>
  query<R = Row>(sql: string | SqlQuery, params: readonly unknown[] | SyncQueryOptions = EMPTY, options?: SyncQueryOptions): Result<R> {
    if (typeof sql !== 'string') ({ text: sql, values: params, options } = toQuery(sql, params, options))
    return this.call('query', [sql, params as readonly unknown[], options]).value as Result<R>
  }

  /** Runs `;`-separated statements through the simple protocol; one Result per statement. A fragment only without values. */
  simpleQuery<R extends unknown[] = unknown[]>(sql: string | SqlQuery, options: Omit<SyncQueryOptions, 'prepare'> & { rowMode: 'array' }): Result<R>[]
  simpleQuery(sql: string | SqlQuery, options: Omit<SyncQueryOptions, 'prepare'> & { rowMode: 'columns' }): ColumnsResult[]
  simpleQuery<R = Row>(sql: string | SqlQuery, options?: Omit<SyncQueryOptions, 'prepare'>): Result<R>[]
  simpleQuery<R = Row>(sql: string | SqlQuery, options?: Omit<SyncQueryOptions, 'prepare'>): Result<R>[] {
    if (typeof sql !== 'string') sql = simpleText(sql)
    return this.call('simpleQuery', [sql, options]).value as Result<R>[]
  }

  /** A statement's parameter types and result fields, without running it. */
  describe(sql: string): StatementDescription {
    return this.call('describe', [sql]).value as StatementDescription
  }

  /** Runs one statement per row of parameters, pipelined; returns the total row count. */
  executeMany(sql: string, rows: readonly (readonly unknown[])[]): number {
    return this.call('executeMany', [sql, rows]).value as number
  }

  /** Sends a notification (pg_notify). */
  notify(channel: string, payload = ''): void {
    this.call('notify', [channel, payload])
  }

  /** Prepares a named statement outside the automatic cache; execute() runs it, close() deallocates it. */
  prepare(sql: string): SyncPreparedStatement {
    const r = this.call('prepare', [sql])
    return new SyncPreparedStatement(this.channel, r.handle!, r.value as PreparedInfo, this.ref.queryTimeout, this.ref.grace)
  }

  /** A client-side DB-API cursor: execute(), then fetchone/fetchmany/fetchall; nextset() for several statements. */
  cursor<R = Row>(): SyncCursor<R> {
    return openCursor<R>(this.ref, this.call('cursor', []))
  }

  /** A named cursor on the server (DECLARE/FETCH/MOVE), inside a transaction unless `withHold`. */
  serverCursor<R = Row>(name?: string, options: ServerCursorOptions = {}): SyncServerCursor<R> {
    return openServerCursor<R>(this.ref, this.call('serverCursor', [name, options]))
  }

  /**
   * COPY ... FROM STDIN. With a source (an array or any synchronous iterable
   * of row arrays, Buffers or strings) sends it all and returns the row
   * count; without one returns a SyncCopyIn to write() or writeRow() to, then
   * end().
   */
  copyFrom(sql: string, options?: CopyOptions): SyncCopyIn
  copyFrom(sql: string, source: Iterable<unknown>, options?: CopyOptions): number
  copyFrom(sql: string, a?: CopyOptions | Iterable<unknown>, b?: CopyOptions): SyncCopyIn | number {
    this.checkOpen()
    const isSource = typeof a === 'object' && a !== null && (Symbol.iterator in a || Symbol.asyncIterator in a)
    const options = (isSource ? b : a) as CopyOptions | undefined
    if (isSource && !(Symbol.iterator in a)) {
      throw new InterfaceError('the sync copyFrom() takes a synchronous iterable (an array, a generator...); use the async API for streams and async iterables')
    }
    const r = this.call('copyFrom', [sql, options])
    const w = new SyncCopyIn(this.channel, r.handle!, (r.value as { columns: number }).columns)
    return isSource ? w.from(a as Iterable<unknown>) : w
  }

  /** Loads a type from the catalog by name (enum, composite, domain, range, hstore...) and registers its codecs on this connection. */
  loadType(name: string): LoadedType {
    return this.call('loadType', [name]).value as LoadedType
  }

  /**
   * Runs `fn` in a transaction: BEGIN, then COMMIT when it returns or
   * ROLLBACK when it throws (the error is rethrown). `fn` is synchronous; use
   * `tx` for every query inside; `tx.transaction()` nests as a savepoint.
   * `retry` runs `fn` again after a serialization failure or a deadlock.
   */
  transaction<T>(fn: (tx: SyncTransaction) => T, options: TransactionOptions = {}): T {
    const { retry, ...rest } = options
    for (let attempt = 0; ; attempt++) {
      try {
        return runScope(this.ref, this.call('transaction', [rest]), fn)
      } catch (err) {
        const wait = retryDelay(err, attempt, retry, this.closed)
        if (wait === undefined) throw err
        sleep(wait)
      }
    }
  }

  /** Sends Terminate and ends the worker thread. Never throws; a second call does nothing. */
  close(): void {
    if (this.isClosed) return
    this.isClosed = true
    if (this.channel.broken === undefined) {
      try {
        invoke(this.ref, 'connection', 'close', [])
      } catch {
        // Closing anyway: the worker is ended below.
      }
    }
    this.channel.broken ??= CLOSED_BY_US
    this.channel.terminate()
  }

  [Symbol.dispose](): void {
    this.close()
  }
}

/** `fn` here, between the BEGIN (or SAVEPOINT) `opened` in the worker and the `end` that commits or rolls back there. */
function runScope<T>(ref: Ref, opened: { value: unknown; handle?: number }, fn: (tx: SyncTransaction) => T): T {
  const tx = new SyncTransaction(ref.channel, opened.handle!, (opened.value as { savepoint: string | undefined }).savepoint, ref.queryTimeout, ref.grace)
  let result: T
  try {
    result = fn(tx)
    if (typeof (result as { then?: unknown } | null)?.then === 'function') {
      throw new InterfaceError('the sync transaction callback returned a promise: it must do its work synchronously (use the async API for async callbacks)')
    }
  } catch (err) {
    tx.finish(false)
    throw err
  }
  tx.finish(true)
  return result
}

export class SyncTransaction {
  private state: 'active' | 'committed' | 'rolled back' | 'ended' = 'active'
  private readonly ref: Ref

  /** @internal */
  constructor(
    channel: Channel,
    handle: number,
    /** The savepoint name for a nested transaction; undefined at the top level. */
    readonly savepoint: string | undefined,
    queryTimeout: number,
    grace: number,
  ) {
    this.ref = { channel, handle, queryTimeout, grace }
  }

  get active(): boolean {
    return this.state === 'active'
  }

  private call<M extends OpName<'transaction'>>(method: M, args: OpArgs<'transaction', M>): { value: unknown; handle?: number } {
    return invoke(this.ref, 'transaction', method, args, this.guard)
  }

  private readonly guard = (method: string): void => {
    if (this.state === 'ended') throw new InterfaceError(`${method}() on a transaction whose callback has returned`)
  }

  query<R extends unknown[] = unknown[]>(sql: SqlQuery, options: SyncQueryOptions & { rowMode: 'array' }): Result<R>
  query(sql: SqlQuery, options: SyncQueryOptions & { rowMode: 'columns' }): ColumnsResult
  query<R = Row>(sql: SqlQuery, options?: SyncQueryOptions): Result<R>
  query<R extends unknown[] = unknown[]>(sql: string | SqlQuery, params: readonly unknown[] | undefined, options: SyncQueryOptions & { rowMode: 'array' }): Result<R>
  query(sql: string | SqlQuery, params: readonly unknown[] | undefined, options: SyncQueryOptions & { rowMode: 'columns' }): ColumnsResult
  query<R = Row>(sql: string | SqlQuery, params?: readonly unknown[], options?: SyncQueryOptions): Result<R>
  query<R = Row>(sql: string | SqlQuery, params: readonly unknown[] | SyncQueryOptions = EMPTY, options?: SyncQueryOptions): Result<R> {
    if (typeof sql !== 'string') ({ text: sql, values: params, options } = toQuery(sql, params, options))
    return this.call('query', [sql, params as readonly unknown[], options]).value as Result<R>
  }

  simpleQuery<R extends unknown[] = unknown[]>(sql: string | SqlQuery, options: Omit<SyncQueryOptions, 'prepare'> & { rowMode: 'array' }): Result<R>[]
  simpleQuery(sql: string | SqlQuery, options: Omit<SyncQueryOptions, 'prepare'> & { rowMode: 'columns' }): ColumnsResult[]
  simpleQuery<R = Row>(sql: string | SqlQuery, options?: Omit<SyncQueryOptions, 'prepare'>): Result<R>[]
  simpleQuery<R = Row>(sql: string | SqlQuery, options?: Omit<SyncQueryOptions, 'prepare'>): Result<R>[] {
    if (typeof sql !== 'string') sql = simpleText(sql)
    return this.call('simpleQuery', [sql, options]).value as Result<R>[]
  }

  /** A nested transaction: a savepoint, released when `fn` returns, rolled back to when it throws. */
  transaction<T>(fn: (tx: SyncTransaction) => T): T {
    return runScope(this.ref, this.call('transaction', []), fn)
  }

  /** A client-side cursor running its queries in this transaction. */
  cursor<R = Row>(): SyncCursor<R> {
    return openCursor<R>(this.ref, this.call('cursor', []))
  }

  /** A server-side cursor declared in this transaction. */
  serverCursor<R = Row>(name?: string, options: ServerCursorOptions = {}): SyncServerCursor<R> {
    return openServerCursor<R>(this.ref, this.call('serverCursor', [name, options]))
  }

  /** Commits now (or releases the savepoint); the callback's return will not commit again. */
  commit(): void {
    this.check('commit()')
    this.state = 'committed'
    this.call('commit', [])
  }

  /** Rolls back now (to the savepoint when nested). */
  rollback(): void {
    this.check('rollback()')
    this.state = 'rolled back'
    this.call('rollback', [])
  }

  private check(what: string): void {
    if (this.state === 'committed' || this.state === 'rolled back') {
      throw new InterfaceError(`${what} on a transaction that has already ${this.state}`)
    }
  }

  /** @internal Ends the worker's callback: commit (unless already ended) or roll back. */
  finish(ok: boolean): void {
    this.state = 'ended'
    try {
      invoke(this.ref, 'transaction', 'end', [ok])
    } catch (err) {
      // After a throw, the caller's error wins (as in the async API, where a failed rollback is swallowed).
      if (ok) throw err
    }
  }
}

interface PreparedInfo {
  name: string
  sql: string
  paramTypes: number[]
  fields: Field[] | null
}

export class SyncPreparedStatement implements StatementDescription {
  readonly name: string
  readonly sql: string
  readonly paramTypes: number[]
  readonly fields: Field[] | null
  private closed = false
  private readonly ref: Ref

  /** @internal */
  constructor(channel: Channel, handle: number, info: PreparedInfo, queryTimeout: number, grace: number) {
    this.ref = { channel, handle, queryTimeout, grace }
    this.name = info.name
    this.sql = info.sql
    this.paramTypes = info.paramTypes
    this.fields = info.fields
  }

  execute<R extends unknown[] = unknown[]>(params: readonly unknown[] | undefined, options: SyncQueryOptions & { rowMode: 'array' }): Result<R>
  execute(params: readonly unknown[] | undefined, options: SyncQueryOptions & { rowMode: 'columns' }): ColumnsResult
  execute<R = Row>(params?: readonly unknown[], options?: SyncQueryOptions): Result<R>
  execute<R = Row>(params: readonly unknown[] = EMPTY, options?: SyncQueryOptions): Result<R> {
    // Checked before the options (the other classes check their state after).
    if (this.closed) throw new InterfaceError(`prepared statement ${this.name} was closed`)
    return invoke(this.ref, 'statement', 'execute', [params, options]).value as Result<R>
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    invoke(this.ref, 'statement', 'close', [])
  }
}

// ------------------------------------------------------------------ cursors

/** Frees the worker-side object of a cursor the caller dropped without close(). */
const forgotten = new FinalizationRegistry<{ channel: Channel; handle: number }>(({ channel, handle }) => channel.send(handle, 'close', EMPTY))

interface CursorState {
  description: ColumnDescription[] | null
  rowcount: number
  statusMessage: string | null
}

function openCursor<R>(on: Ref, r: { value: unknown; handle?: number }): SyncCursor<R> {
  return new SyncCursor<R>(on.channel, r.handle!, r.value as CursorState, on.queryTimeout, on.grace)
}

function openServerCursor<R>(on: Ref, r: { value: unknown; handle?: number }): SyncServerCursor<R> {
  return new SyncServerCursor<R>(on.channel, r.handle!, (r.value as { name: string }).name, on.queryTimeout, on.grace)
}

/**
 * A DB-API cursor. The results live in the worker (the async Cursor's);
 * fetchone()/fetchmany() each take one hop to it, fetchall() one in total.
 */
export class SyncCursor<R = Row> implements Iterable<R> {
  /** Rows per fetchmany() call without an argument. */
  arraysize = 1
  private state: CursorState
  private isClosed = false
  private readonly token = {}
  private readonly ref: Ref

  /** @internal */
  constructor(
    private readonly channel: Channel,
    private readonly handle: number,
    state: CursorState,
    queryTimeout: number,
    grace: number,
  ) {
    this.ref = { channel, handle, queryTimeout, grace }
    this.state = state
    forgotten.register(this, { channel, handle }, this.token)
  }

  get description(): ColumnDescription[] | null {
    return this.state.description
  }

  /** Rows returned or affected by the current result; -1 before any execute. */
  get rowcount(): number {
    return this.state.rowcount
  }

  /** The command tag of the current result (e.g. 'INSERT', 'SELECT'). */
  get statusMessage(): string | null {
    return this.state.statusMessage
  }

  private call<M extends OpName<'cursor'>>(method: M, args: OpArgs<'cursor', M>): unknown {
    return invoke(this.ref, 'cursor', method, args, this.guard).value
  }

  private readonly guard = (): void => {
    if (this.isClosed) throw new InterfaceError('the cursor is closed')
  }

  /** Runs SQL: with parameters one statement (extended protocol); without, possibly several (see nextset()). A sql`...` fragment is one statement with its values. */
  execute(sql: SqlQuery, options?: SyncQueryOptions): this
  execute(sql: string | SqlQuery, params?: readonly unknown[], options?: SyncQueryOptions): this
  execute(sql: string | SqlQuery, params?: readonly unknown[] | SyncQueryOptions, options?: SyncQueryOptions): this {
    if (typeof sql !== 'string') ({ text: sql, values: params, options } = toQuery(sql, params, options))
    this.state = this.call('execute', [sql, params as readonly unknown[] | undefined, options]) as CursorState
    return this
  }

  /** Runs the statement once per row of parameters (pipelined). */
  executeMany(sql: string, rows: readonly (readonly unknown[])[], options?: SyncQueryOptions): this {
    this.state = this.call('executeMany', [sql, rows, options]) as CursorState
    return this
  }

  fetchone(): R | null {
    return this.call('fetchone', []) as R | null
  }

  fetchmany(n = this.arraysize): R[] {
    return this.call('fetchmany', [n]) as R[]
  }

  fetchall(): R[] {
    return this.call('fetchall', []) as R[]
  }

  /** Moves to the next result of a multi-statement execute(); false when there is none. */
  nextset(): boolean {
    const r = this.call('nextset', []) as CursorState & { more: boolean }
    this.state = { description: r.description, rowcount: r.rowcount, statusMessage: r.statusMessage }
    return r.more
  }

  /** Iterates the remaining rows, `arraysize` (at least 100) per hop to the worker. */
  *[Symbol.iterator](): Iterator<R> {
    const n = Math.max(100, this.arraysize)
    for (;;) {
      const rows = this.fetchmany(n)
      yield* rows
      if (rows.length < n) return
    }
  }

  close(): void {
    if (this.isClosed) return
    this.isClosed = true
    forgotten.unregister(this.token)
    if (this.channel.broken === undefined) invoke(this.ref, 'cursor', 'close', [])
  }
}

/** A named cursor on the server: each fetch is one round trip to the server. */
export class SyncServerCursor<R = Row> implements Iterable<R> {
  /** Rows fetched per round trip when iterating, and by fetchmany() without an argument. */
  itersize = 100
  private fieldsDescription: ColumnDescription[] | null = null
  private isClosed = false
  private readonly token = {}
  private readonly ref: Ref

  /** @internal */
  constructor(
    private readonly channel: Channel,
    private readonly handle: number,
    readonly name: string,
    queryTimeout: number,
    grace: number,
  ) {
    this.ref = { channel, handle, queryTimeout, grace }
    forgotten.register(this, { channel, handle }, this.token)
  }

  get description(): ColumnDescription[] | null {
    return this.fieldsDescription
  }

  private call<M extends OpName<'serverCursor'>>(method: M, args: OpArgs<'serverCursor', M>): unknown {
    return invoke(this.ref, 'serverCursor', method, args, this.guard).value
  }

  private readonly guard = (): void => {
    if (this.isClosed) throw new InterfaceError(`server cursor ${this.name} is closed`)
  }

  /** DECLAREs the cursor for `sql` (SQL text with `params`, or a sql`...` fragment). */
  execute(sql: string | SqlQuery, params: readonly unknown[] = EMPTY): this {
    if (typeof sql !== 'string') ({ text: sql, values: params } = toQuery(sql, params))
    this.fieldsDescription = this.call('execute', [sql, params]) as ColumnDescription[] | null
    return this
  }

  /** Fetches up to n rows forward (all remaining with Infinity). */
  fetch(n: number): R[] {
    const r = this.call('fetch', [n]) as { rows: R[]; description: ColumnDescription[] | null }
    this.fieldsDescription = r.description
    return r.rows
  }

  fetchone(): R | null {
    return this.fetch(1)[0] ?? null
  }

  fetchmany(n = this.itersize): R[] {
    return this.fetch(n)
  }

  fetchall(): R[] {
    return this.fetch(Infinity)
  }

  /** Moves the position: by n rows ('relative') or to row n ('absolute'). */
  scroll(n: number, mode: 'relative' | 'absolute' = 'relative'): void {
    this.call('scroll', [n, mode])
  }

  *[Symbol.iterator](): Iterator<R> {
    for (;;) {
      const rows = this.fetch(this.itersize)
      yield* rows
      if (rows.length < this.itersize) return
    }
  }

  close(): void {
    if (this.isClosed) return
    forgotten.unregister(this.token)
    if (this.channel.broken === undefined) this.call('close', [])
    this.isClosed = true
  }
}

// --------------------------------------------------------------------- COPY

/** Items per hop to the worker when copyFrom() pumps a source... */
const COPY_BATCH_ITEMS = 1000
/** ...or fewer, once this many bytes of raw chunks are gathered. */
const COPY_BATCH_BYTES = 1 << 20

/** COPY FROM STDIN in progress: write() raw data or writeRow() rows, then end(). */
export class SyncCopyIn {
  private ended = false
  private readonly ref: Ref

  /** @internal */
  constructor(
    channel: Channel,
    handle: number,
    /** Number of columns the server expects per row. */
    readonly columns: number,
  ) {
    // A COPY has no deadline (every entry's rule is 'none'): no timeouts to carry.
    this.ref = { channel, handle, queryTimeout: 0, grace: 0 }
  }

  private call<M extends OpName<'copy'>>(method: M, args: OpArgs<'copy', M>): unknown {
    return invoke(this.ref, 'copy', method, args, this.guard).value
  }

  private readonly guard = (): void => {
    if (this.ended) throw new InterfaceError('the COPY has ended')
  }

  /** Sends raw data in the COPY's own format (bytes or text). */
  write(data: Buffer | Uint8Array | string): void {
    this.call('write', [data])
  }

  /** Encodes one row with the type map and sends it (gathered into larger messages in the worker). */
  writeRow(values: readonly unknown[]): void {
    this.call('writeRow', [values])
  }

  /** Finishes the COPY; returns the number of rows the server stored. */
  end(): number {
    const n = this.call('end', []) as number
    this.ended = true
    return n
  }

  /** Abandons the COPY (CopyFail): nothing of it is stored. */
  abort(reason?: string): void {
    if (this.ended) return
    this.call('abort', [reason])
    this.ended = true
  }

  /** @internal Pumps a synchronous iterable through the async CopyIn.from(), in batches. */
  from(source: Iterable<unknown>): number {
    let batch: unknown[] = []
    let bytes = 0
    let inWorker = false
    try {
      for (const item of source) {
        batch.push(item)
        if (typeof item === 'string') bytes += item.length
        else if (item instanceof Uint8Array) bytes += item.byteLength
        if (batch.length >= COPY_BATCH_ITEMS || bytes >= COPY_BATCH_BYTES) {
          inWorker = true
          this.call('feed', [batch, false])
          inWorker = false
          batch = []
          bytes = 0
        }
      }
    } catch (err) {
      // A failure in the worker (a row the server refused...) has ended the COPY there already;
      // a failure of the caller's source is passed on so from() there aborts it (CopyFail).
      if (!inWorker && this.ref.channel.broken === undefined) {
        try {
          this.call('feed', [[], false, err instanceof Error ? err.message : String(err)])
        } catch {
          // The COPY is aborted; the source's own error is the one to report.
        }
      }
      this.ended = true
      throw err
    }
    const n = this.call('feed', [batch, true]) as number
    this.ended = true
    return n
  }
}

// ------------------------------------------------------ the table, covered

/** The caller's class for each kind of handle. */
interface CallerClasses {
  root: never
  connection: SyncConnection
  transaction: SyncTransaction
  statement: SyncPreparedStatement
  cursor: SyncCursor
  serverCursor: SyncServerCursor
  copy: SyncCopyIn
}

/** Entries of OPS that are the sync machinery's own, not a public method of the caller's class. */
interface Machinery {
  root: 'connect' // connectSync()
  connection: 'parameters' // a getter here, as on the async Connection
  transaction: 'end' // the callback returned or threw: see runScope()
  statement: never
  cursor: never
  serverCursor: never
  copy: 'feed' // copyFrom() with a source: see SyncCopyIn.from()
}

/** Fails to compile, naming the method, when an entry of OPS has no method on its caller's class. */
type Offered<Missing extends never> = Missing
type NotOffered<K extends HandleKind> = Exclude<OpName<K>, keyof CallerClasses[K] | Machinery[K]>
type SyncApiCovered = [
  Offered<NotOffered<'root'>>,
  Offered<NotOffered<'connection'>>,
  Offered<NotOffered<'transaction'>>,
  Offered<NotOffered<'statement'>>,
  Offered<NotOffered<'cursor'>>,
  Offered<NotOffered<'serverCursor'>>,
  Offered<NotOffered<'copy'>>,
]
