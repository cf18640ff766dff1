// The one table of what the sync API can call in its worker. For each kind of
// handle and each method: what the worker does (`run`) and what the caller's
// side needs to know (how long to wait for the answer, which argument holds
// query parameters or per-query options). The worker dispatches from it
// (worker.ts); the caller's classes (index.ts) call through it with the
// method's name and arguments typed from it. Below the table, type checks tie
// it to the async classes: a public async method that is neither in the table
// nor listed in NotInSync fails the build, and so does a table entry that
// calls (`run: true`) an async method that does not exist.
//
// A new method: one entry here and a one-line method on the caller's class
// (index.ts checks that the class has it). A new kind of object: one more
// table here and one more caller class.

import { connect, type Connection, type ConnectionOptions, type CopyIn, type CopyOptions, type Cursor, type PreparedStatement, type ServerCursor, type ServerCursorOptions, type Transaction, type TransactionOptions } from '../index.js'
import type { HandleKind } from './wire.js'

/** How long the caller waits for the worker's answer (see limitOf() in index.ts). */
export type LimitRule =
  /** The connection's queryTimeout plus the reply grace. */
  | 'query'
  /** The call's own `timeout` option when it has one, else as 'query'. */
  | 'options'
  /** No round trip to the server: the grace plus a second. */
  | 'quick'
  /** The grace alone (closing). */
  | 'grace'
  /** No deadline: many statements each under its own timeout, or a COPY (the worker's liveness is still watched). */
  | 'none'
  /** The connect timeout plus the grace. */
  | 'connect'

/** A call's result that is a new handle; `value` goes back as the call's value. */
export class NewHandle {
  constructor(
    readonly kind: HandleKind,
    readonly target: object,
    readonly value: unknown,
    readonly scope?: Scope,
  ) {}
}

/** A transaction callback held open while the caller runs its synchronous function. */
export interface Scope {
  /** Ends the callback: resolve (commit) or reject (roll back). */
  end(ok: boolean): void
  /** What the async transaction() call settled with. */
  outcome: Promise<unknown>
}

/** What a worker-side `run` may ask of the worker. */
export interface WorkerContext {
  /** The object is done with (closed, ended): its handle is forgotten. */
  drop(): void
  /** The transaction scope this handle was opened with. */
  scope(): Scope
  /** A new connection: the worker collects its notices and watches for its close. */
  connected(conn: Connection): void
  /** copyFrom() with a source: one batch of it (see feed() in worker.ts). */
  feed(w: CopyIn, items: unknown[], last: boolean, failure: string | undefined): Promise<number | undefined>
}

type Run<T> = (target: T, args: never, ctx: WorkerContext) => unknown

/** The names of T's methods. */
type MethodNames<T> = { [K in keyof T]: T[K] extends (...a: never[]) => unknown ? K : never }[keyof T] & string

/** One operation. `run: true` calls the async object's method of the same name with the caller's arguments. */
export interface Op<T> {
  run: true | Run<T>
  limit: LimitRule
  /** The argument holding query parameters, to name one that cannot be sent. */
  params?: number
  /** The argument holding per-query options: checked, and its `timeout` sets the limit under the 'options' rule. */
  options?: number
}

/** Builds the table of one kind of handle whose worker-side object is a T. */
function ops<T>() {
  return <O extends Record<string, Op<T>>>(table: O): O => table
}

/** The worker-side object behind each kind of handle. */
interface Targets {
  root: null
  connection: Connection
  transaction: Transaction
  statement: PreparedStatement
  cursor: Cursor
  serverCursor: ServerCursor
  copy: CopyIn
}

/** The caller's function threw: the callback rejects with this so the driver rolls back. */
const ROLLBACK = Symbol('pgline sync rollback')

export const OPS = {
  root: ops<Targets['root']>()({
    connect: {
      limit: 'connect',
      run: async (_root, [options]: [options: ConnectionOptions], ctx) => {
        const conn = await connect(options)
        ctx.connected(conn)
        return new NewHandle('connection', conn, {
          processId: conn.processId,
          protocolVersion: conn.protocolVersion,
          serverVersion: conn.serverVersion,
        })
      },
    },
  }),
  connection: ops<Targets['connection']>()({
    query: { run: true, limit: 'options', params: 1, options: 2 },
    simpleQuery: { run: true, limit: 'options', options: 1 },
    describe: { run: true, limit: 'query' },
    // Many statements, each under the query timeout: no overall deadline.
    executeMany: { run: true, limit: 'none' },
    notify: { run: true, limit: 'query' },
    parameters: { limit: 'quick', run: (conn) => new Map(conn.parameters) },
    prepare: {
      limit: 'query',
      run: async (conn, [sql]: [sql: string]) => {
        const s: PreparedStatement = await conn.prepare(sql)
        return new NewHandle('statement', s, { name: s.name, sql: s.sql, paramTypes: s.paramTypes, fields: s.fields })
      },
    },
    transaction: { limit: 'query', run: (conn, [options]: [options: TransactionOptions]) => openScope((cb) => conn.transaction(cb, options)) },
    loadType: { run: true, limit: 'query' },
    cursor: { limit: 'quick', run: (conn) => cursorHandle(conn.cursor()) },
    serverCursor: {
      limit: 'quick',
      run: (conn, [name, options]: [name: string | undefined, options: ServerCursorOptions]) => serverCursorHandle(conn.serverCursor(name, options)),
    },
    copyFrom: {
      limit: 'query',
      run: async (conn, [sql, options]: [sql: string, options?: CopyOptions]) => {
        const w = await conn.copyFrom(sql, options)
        return new NewHandle('copy', w, { columns: w.columns })
      },
    },
    close: {
      limit: 'grace',
      run: async (conn) => {
        await conn.close()
        setImmediate(() => process.exit(0))
      },
    },
  }),
  transaction: ops<Targets['transaction']>()({
    query: { run: true, limit: 'options', params: 1, options: 2 },
    simpleQuery: { run: true, limit: 'options', options: 1 },
    commit: { run: true, limit: 'query' },
    rollback: { run: true, limit: 'query' },
    transaction: { limit: 'query', run: (tx) => openScope((cb) => tx.transaction(cb)) },
    cursor: { limit: 'quick', run: (tx) => cursorHandle(tx.cursor()) },
    serverCursor: {
      limit: 'quick',
      run: (tx, [name, options]: [name: string | undefined, options: ServerCursorOptions]) => serverCursorHandle(tx.serverCursor(name, options)),
    },
    /** Ends the callback held open by openScope(): commit (true) or roll back. */
    end: {
      limit: 'query',
      run: async (_tx, [ok]: [ok: boolean], ctx) => {
        const scope = ctx.scope()
        ctx.drop()
        scope.end(ok)
        try {
          await scope.outcome
        } catch (err) {
          if (err !== ROLLBACK) throw err
        }
      },
    },
  }),
  statement: ops<Targets['statement']>()({
    execute: { run: true, limit: 'options', params: 0, options: 1 },
    close: {
      limit: 'query',
      run: async (s, _args: [], ctx) => {
        ctx.drop()
        await s.close()
      },
    },
  }),
  // execute() and nextset() answer with the cursor's new state; the caller mirrors it.
  cursor: ops<Targets['cursor']>()({
    execute: {
      limit: 'options',
      params: 1,
      options: 2,
      run: async (c, args: Parameters<Cursor['execute']>) => cursorState(await c.execute(...args)),
    },
    executeMany: {
      limit: 'none',
      options: 2,
      run: async (c, args: Parameters<Cursor['executeMany']>) => cursorState(await c.executeMany(...args)),
    },
    fetchone: { run: true, limit: 'quick' },
    fetchmany: { run: true, limit: 'quick' },
    fetchall: { run: true, limit: 'quick' },
    nextset: { limit: 'quick', run: (c) => ({ more: c.nextset(), ...cursorState(c) }) },
    close: {
      limit: 'quick',
      run: (c, _args: [], ctx) => {
        ctx.drop()
        c.close()
      },
    },
  }),
  serverCursor: ops<Targets['serverCursor']>()({
    execute: {
      limit: 'query',
      params: 1,
      run: async (c, [sql, params]: [sql: string, params: readonly unknown[]]) => (await c.execute(sql, params)).description,
    },
    fetch: { limit: 'query', run: async (c, [n]: [n: number]) => ({ rows: await c.fetch(n), description: c.description }) },
    scroll: { run: true, limit: 'query' },
    close: {
      limit: 'query',
      run: async (c, _args: [], ctx) => {
        ctx.drop()
        await c.close()
      },
    },
  }),
  // A COPY runs as long as the caller feeds it: no deadline. Arguments 0 are the data.
  copy: ops<Targets['copy']>()({
    write: { run: true, limit: 'none', params: 0 },
    writeRow: { run: true, limit: 'none', params: 0 },
    end: {
      limit: 'none',
      params: 0,
      run: async (w, _args: [], ctx) => {
        ctx.drop()
        return w.end()
      },
    },
    abort: {
      limit: 'none',
      params: 0,
      run: async (w, [reason]: [reason?: string], ctx) => {
        ctx.drop()
        await w.abort(reason)
      },
    },
    feed: {
      limit: 'none',
      params: 0,
      run: (w, [items, last, failure]: [items: unknown[], last: boolean, failure?: string], ctx) => ctx.feed(w, items, last, failure),
    },
  }),
} satisfies { [K in HandleKind]: object }

export type Ops = typeof OPS
export type OpName<K extends HandleKind> = keyof Ops[K] & string
type Entry<K extends HandleKind, M extends OpName<K>> = Ops[K][M]
type Target<K extends HandleKind> = Targets[K]

/** The arguments a call takes: those of its `run`, or of the async method it calls. */
export type OpArgs<K extends HandleKind, M extends OpName<K>> =
  Entry<K, M> extends { run: (target: never, args: infer A, ctx: never) => unknown }
    ? A
    : M extends keyof Target<K>
      ? Target<K>[M] extends (...a: infer A) => unknown
        ? A
        : never
      : never

function cursorHandle(c: Cursor): NewHandle {
  return new NewHandle('cursor', c, cursorState(c))
}

function cursorState(c: Cursor): { description: unknown; rowcount: number; statusMessage: string | null } {
  return { description: c.description, rowcount: c.rowcount, statusMessage: c.statusMessage }
}

function serverCursorHandle(c: ServerCursor): NewHandle {
  return new NewHandle('serverCursor', c, { name: c.name })
}

/**
 * Starts an async transaction whose callback stays open until the caller
 * sends `end`: resolves with the transaction's handle once the callback is
 * entered (BEGIN or SAVEPOINT has run), or rejects if it fails before that.
 */
function openScope(start: (cb: (tx: Transaction) => Promise<unknown>) => Promise<unknown>): Promise<NewHandle> {
  return new Promise((resolve, reject) => {
    let entered = false
    const outcome = start((tx) => {
      entered = true
      return new Promise((ok, fail) => {
        const scope: Scope = { end: (commit) => (commit ? ok(undefined) : fail(ROLLBACK)), outcome }
        resolve(new NewHandle('transaction', tx, { savepoint: tx.savepoint }, scope))
      })
    })
    outcome.catch((err: unknown) => {
      if (!entered) reject(err)
    })
  })
}

// ------------------------------------------------------ the async API, covered

/**
 * Public async methods the sync API does not offer, and why. A method added
 * to an async class must go into OPS or here, or the build fails.
 */
interface NotInSync {
  root: never
  connection:
    | 'on' // the caller's side keeps its own notice listeners (notices come with each reply); no other events
    | 'off'
    | 'listen' // a callback per notification needs an event loop the blocked caller does not have
    | 'registerType' // codecs are functions: they cannot cross to the worker thread
    | 'stream' // streams and COPY TO are async iterables: use a cursor or the async API
    | 'copyTo'
    | 'pipeline' // its callback would run on the caller's side while the worker awaits it: executeMany covers the common case
    | 'terminate' // close() ends the worker, and the connection with it
    | 'ref' // the worker never keeps the process alive
    | 'unref'
    | 'toJSON'
  transaction: 'stream' | 'copyTo' | 'pipeline' | 'copyFrom' | 'settle' // settle(): the driver's own, see `end`
  statement: never
  cursor: never
  serverCursor: 'fetchone' | 'fetchmany' | 'fetchall' // derived from fetch() on the caller's side
  copy: 'from' | 'writable' // from(): SyncCopyIn.from() feeds it in batches (`feed`); writable(): a Node stream
}

/** Fails to compile, naming the method, when an async method is neither in OPS nor in NotInSync. */
type AllCovered<Missing extends never> = Missing
type Uncovered<K extends HandleKind> = Exclude<MethodNames<Targets[K]>, OpName<K> | NotInSync[K]>
/** A `run: true` entry whose name is not a method of the async object. */
type NotAMethod<K extends HandleKind> = { [M in OpName<K>]: Ops[K][M] extends { run: true } ? (M extends MethodNames<Targets[K]> ? never : M) : never }[OpName<K>]
type AsyncApiCovered = [
  AllCovered<NotAMethod<'root'>>,
  AllCovered<NotAMethod<'connection'>>,
  AllCovered<NotAMethod<'transaction'>>,
  AllCovered<NotAMethod<'statement'>>,
  AllCovered<NotAMethod<'cursor'>>,
  AllCovered<NotAMethod<'serverCursor'>>,
  AllCovered<NotAMethod<'copy'>>,
  AllCovered<Uncovered<'root'>>,
  AllCovered<Uncovered<'connection'>>,
  AllCovered<Uncovered<'transaction'>>,
  AllCovered<Uncovered<'statement'>>,
  AllCovered<Uncovered<'cursor'>>,
  AllCovered<Uncovered<'serverCursor'>>,
  AllCovered<Uncovered<'copy'>>,
]
