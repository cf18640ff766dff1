// The sync worker: runs the async driver in a worker thread and answers the
// caller's requests, one method call at a time. A request comes as bytes in
// the shared data buffer or, for values the codec does not cover, on the
// MessagePort it was given; either way the caller then bumps REQ. The worker
// sees that in Atomics.wait for a moment after each reply (see linger()),
// else through Atomics.waitAsync (no MessagePort dispatch on the way). The reply goes back the
// same two ways: written into the shared buffer (then RID names its call),
// else posted. Then the worker bumps the shared SEQ word and notifies, which
// wakes the caller blocked in Atomics.wait.
//
// Requests name a handle and a method: METHODS lists, per kind of handle,
// what may be called. `true` calls the object's own method with the unpacked
// arguments; a function does more (creates a handle, opens a transaction
// scope, reports state). A new method is one entry here and one small method
// on the caller's side (src/sync/index.ts); a new kind of object, one more
// table and one more caller class.

import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads'
import { connect, InterfaceError, type Connection, type CopyIn, type Cursor, type PreparedStatement, type ServerCursor, type Transaction } from '../index.js'
import { SharedIO } from './codec.js'
import { HEARTBEAT_MS, pack, serializeError, SLOT, unpack, type HandleKind, type Packed, type Reply, type Request, type SerializedError } from './wire.js'

interface WorkerInit {
  port: MessagePort
  state: SharedArrayBuffer
  data: SharedArrayBuffer
  testHooks: boolean
}

const { port, state, data, testHooks } = workerData as WorkerInit
const slots = new Int32Array(state)
const io = new SharedIO(data)

/** A method result that is a new handle (its `value` goes back as the call's value). */
class NewHandle {
  constructor(
    readonly kind: HandleKind,
    readonly target: object,
    readonly value: unknown,
    readonly scope?: Scope,
  ) {}
}

/** A transaction callback held open while the caller runs its synchronous function. */
interface Scope {
  /** Ends the callback: resolve (commit) or reject (roll back). */
  end(ok: boolean): void
  /** What the async transaction() call settled with. */
  outcome: Promise<unknown>
}

interface Entry {
  kind: HandleKind
  target: any
  scope?: Scope
}

type Method = true | ((target: any, args: unknown[], self: number) => unknown)

/** The caller's function threw: the callback rejects with this so the driver rolls back. */
const ROLLBACK = Symbol('pgline sync rollback')

const METHODS: Record<HandleKind, Record<string, Method>> = {
  root: {
    connect: async (_root, [options]) => {
      const conn = await connect(options as Parameters<typeof connect>[0])
      conn.on('notice', (n) => notices.push(n))
      conn.on('close', () => Atomics.store(slots, SLOT.CLOSED, 1))
      connection = conn
      return new NewHandle('connection', conn, {
        processId: conn.processId,
        protocolVersion: conn.protocolVersion,
        serverVersion: conn.serverVersion,
      })
    },
    ...(testHooks
      ? {
          __exit: (_root, [code]) => process.exit(code as number),
          __spin: (_root, [ms]) => {
            const until = Date.now() + (ms as number)
            while (Date.now() < until) {
              // A stuck event loop, as a hung codec would make it.
            }
          },
          __throw: () => {
            setImmediate(() => {
              throw new Error('boom from the worker')
            })
            return new Promise(() => {})
          },
        }
      : {}),
  },
  connection: {
    query: true,
    simpleQuery: true,
    describe: true,
    executeMany: true,
    notify: true,
    parameters: (conn: Connection) => new Map(conn.parameters),
    prepare: async (conn: Connection, [sql]) => {
      const s: PreparedStatement = await conn.prepare(sql as string)
      return new NewHandle('statement', s, { name: s.name, sql: s.sql, paramTypes: s.paramTypes, fields: s.fields })
    },
    transaction: (conn: Connection, [options]) => openScope((cb) => conn.transaction(cb, options as object)),
    loadType: true,
    cursor: (conn: Connection) => cursorHandle(conn.cursor()),
    serverCursor: (conn: Connection, [name, options]) => serverCursorHandle(conn.serverCursor(name as string | undefined, options as object)),
    copyFrom: async (conn: Connection, [sql, options]) => {
      const w = await conn.copyFrom(sql as string, options as object | undefined)
      return new NewHandle('copy', w, { columns: w.columns })
    },
    close: async (conn: Connection) => {
      await conn.close()
      setImmediate(() => process.exit(0))
    },
  },
  transaction: {
    query: true,
    simpleQuery: true,
    commit: true,
    rollback: true,
    transaction: (tx: Transaction) => openScope((cb) => tx.transaction(cb)),
    cursor: (tx: Transaction) => cursorHandle(tx.cursor()),
    serverCursor: (tx: Transaction, [name, options]) => serverCursorHandle(tx.serverCursor(name as string | undefined, options as object)),
    end: async (_tx, [ok], self) => {
      const scope = handles.get(self)!.scope!
      handles.delete(self)
      scope.end(ok as boolean)
      try {
        await scope.outcome
      } catch (err) {
        if (err !== ROLLBACK) throw err
      }
    },
  },
  statement: {
    execute: true,
    close: async (s: PreparedStatement, _args, self) => {
      handles.delete(self)
      await s.close()
    },
  },
  // execute() and nextset() answer with the cursor's new state; the caller mirrors it.
  cursor: {
    execute: async (c: Cursor, args) => cursorState(await c.execute(...(args as Parameters<Cursor['execute']>))),
    executeMany: async (c: Cursor, args) => cursorState(await c.executeMany(...(args as Parameters<Cursor['executeMany']>))),
    fetchone: true,
    fetchmany: true,
    fetchall: true,
    nextset: (c: Cursor) => ({ more: c.nextset(), ...cursorState(c) }),
    close: (c: Cursor, _args, self) => {
      handles.delete(self)
      c.close()
    },
  },
  serverCursor: {
    execute: async (c: ServerCursor, [sql, params]) => (await c.execute(sql as string, params as unknown[] | undefined)).description,
    fetch: async (c: ServerCursor, [n]) => ({ rows: await c.fetch(n as number), description: c.description }),
    scroll: true,
    close: async (c: ServerCursor, _args, self) => {
      handles.delete(self)
      await c.close()
    },
  },
  copy: {
    write: true,
    writeRow: true,
    end: async (w: CopyIn, _args, self) => {
      handles.delete(self)
      return w.end()
    },
    abort: async (w: CopyIn, [reason], self) => {
      handles.delete(self)
      await w.abort(reason as string | undefined)
    },
    feed: (w: CopyIn, [items, last, failure], self) => feed(w, self, items as unknown[], last as boolean, failure as string | undefined),
  },
}

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
 * copyFrom() with a source: the caller's synchronous iterable arrives in
 * batches; CopyIn.from() (the async driver's own pump, with its error
 * handling) reads them through an async iterable that waits for the next
 * batch. A call returns once its batch has been written (backpressure), or
 * with the row count after the last one.
 */
interface Feeder {
  items: unknown[]
  next: number
  last: boolean
  failure: Error | undefined
  /** from() is waiting for items. */
  wake: (() => void) | undefined
  /** feed() is waiting for the batch to be consumed. */
  consumed: (() => void) | undefined
  run: Promise<number>
}

const feeders = new Map<number, Feeder>()

async function feed(w: CopyIn, self: number, items: unknown[], last: boolean, failure: string | undefined): Promise<number | undefined> {
  let f = feeders.get(self)
  if (f === undefined) {
    const fresh: Feeder = { items: [], next: 0, last: false, failure: undefined, wake: undefined, consumed: undefined, run: undefined! }
    const source: AsyncIterable<unknown> = {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<unknown>> => {
          while (fresh.next >= fresh.items.length && !fresh.last && fresh.failure === undefined) {
            fresh.consumed?.()
            await new Promise<void>((r) => (fresh.wake = r))
          }
          if (fresh.failure !== undefined) throw fresh.failure
          if (fresh.next < fresh.items.length) return { value: fresh.items[fresh.next++], done: false }
          return { value: undefined, done: true }
        },
      }),
    }
    fresh.run = w.from(source)
    // Between two feed calls nobody awaits it: a failure then must not count as unhandled (the next call reports it).
    fresh.run.catch(() => undefined)
    f = fresh
    feeders.set(self, f)
  }
  const feeder = f
  feeder.items = items
  feeder.next = 0
  feeder.last = last
  if (failure !== undefined) feeder.failure = new Error(failure)
  const consumed = new Promise<void>((r) => (feeder.consumed = r))
  feeder.wake?.()
  try {
    if (last || failure !== undefined) return await feeder.run
    await Promise.race([consumed, feeder.run])
    return undefined
  } catch (err) {
    feeders.delete(self)
    handles.delete(self)
    throw err
  } finally {
    if (last || failure !== undefined) {
      feeders.delete(self)
      handles.delete(self)
    }
  }
}

const handles = new Map<number, Entry>([[0, { kind: 'root', target: null }]])
let nextHandle = 1
let connection: Connection | undefined
let notices: unknown[] = []

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

// ---------------------------------------------------------------- dispatch

let busy = 0
let beat: NodeJS.Timeout | undefined
let idleBeats = 0

/**
 * The heartbeat runs while requests are in hand, and stops after a few idle
 * beats (not at every reply: back-to-back calls would churn the timer).
 */
function startBeat(): void {
  idleBeats = 0
  beat ??= setInterval(() => {
    Atomics.add(slots, SLOT.BEAT, 1)
    if (busy === 0 && ++idleBeats >= 5) {
      clearInterval(beat)
      beat = undefined
    }
  }, HEARTBEAT_MS)
}

port.on('message', (req: Request) => void handle(req.id, req.h, req.m, req.a, undefined))

type WaitAsync = (a: Int32Array, i: number, v: number) => { async: false; value: string } | { async: true; value: Promise<string> }
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync

/**
 * After a reply, how long the worker blocks waiting for the caller's next
 * request before it goes back to its event loop. A caller making calls in a
 * row sends the next one within microseconds: taken here, it costs no wake-up
 * of the event loop (eventfd, platform task, promise). Socket events that
 * come meanwhile (a notice, the server closing) wait at most this long.
 */
const LINGER_MS = 1
/** The REQ count last seen. */
let requests = 0
/** The caller's SENT count when the port was last found empty. */
let sent = 0
/** The id of the last request taken from the shared buffer. */
let taken = 0
/** An Atomics.waitAsync on REQ is pending. */
let listening = false

/**
 * Takes what the caller sent since REQ was last seen: calls on the port
 * first (fire-and-forget closes, values the codec does not cover), in the
 * order they were made, then the one in the shared buffer. Returns true when
 * a call that will be answered was started (its reply ends with linger()).
 */
function take(): boolean {
  const n = Atomics.load(slots, SLOT.REQ)
  if (n === requests) return false
  requests = n
  let answered = false
  const s = Atomics.load(slots, SLOT.SENT)
  if (s !== sent) {
    sent = s
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
      const req = m.message as Request
      if (req.id !== 0) answered = true
      void handle(req.id, req.h, req.m, req.a, undefined)
    }
  }
  const q = Atomics.load(slots, SLOT.QID)
  if (q > taken) {
    taken = q
    // Copied out before the call runs: the reply is written over it.
    const [id, h] = io.decodeHead(2) as [number, number]
    const method = io.decodeValue() as string
    const args = io.decodeValue() as unknown[]
    answered = true
    void handle(id, h, method, undefined, args)
  }
  return answered
}

/** Waits (without blocking the event loop) for REQ to move. Does not keep the thread alive by itself: the port does. */
function listen(): void {
  if (listening) return
  listening = true
  const w = waitAsync(slots, SLOT.REQ, requests)
  if (w.async) void w.value.then(onWake)
  else onWake()
}

function onWake(): void {
  listening = false
  if (!take()) listen()
}

/**
 * After a reply: wait a moment for the next request right here, then fall
 * back to listen(). Not while a COPY pump runs on between calls (a source
 * fed in batches): blocking would hold up its writes.
 */
function linger(): void {
  if (listening || feeders.size > 0 || Atomics.load(slots, SLOT.CLOSED) === 1) {
    listen()
    return
  }
  if (Atomics.wait(slots, SLOT.REQ, requests, LINGER_MS) === 'timed-out' || !take()) listen()
}

listen()

/** Runs one call: `packed` (from the port) or `decoded` (from the shared buffer) holds its arguments. */
async function handle(id: number, h: number, m: string, packed: Packed | undefined, decoded: unknown[] | undefined): Promise<void> {
  busy++
  startBeat()
  let ok: boolean
  let value: unknown
  let newHandle: number | undefined
  try {
    const entry = handles.get(h)
    if (entry === undefined) throw new InterfaceError(`the object this call was made on no longer exists (handle ${h})`)
    const method = Object.hasOwn(METHODS[entry.kind], m) ? METHODS[entry.kind][m] : undefined
    if (method === undefined) throw new InterfaceError(`${entry.kind} has no method ${JSON.stringify(m)}`)
    const args = decoded ?? (unpack(packed!) as unknown[])
    const out = method === true ? await Reflect.apply(entry.target[m] as (...a: unknown[]) => unknown, entry.target, args) : await method(entry.target, args, h)
    if (out instanceof NewHandle) {
      newHandle = nextHandle++
      handles.set(newHandle, { kind: out.kind, target: out.target, scope: out.scope })
      value = out.value
    } else {
      value = out
    }
    ok = true
  } catch (err) {
    ok = false
    value = serializeError(err)
  }
  if (id === 0) {
    // Fire and forget (closing a handle the caller's GC found unreachable): no reply.
    busy--
    return
  }
  const ts = connection?.transactionStatus
  let n: unknown[] | undefined
  if (notices.length > 0) {
    n = notices
    notices = []
  }
  post(id, ok, value, newHandle, ts, n)
  busy--
  linger()
}

/** Sends a call's outcome: `value` is the result, or the serialized error when not `ok`. */
function post(id: number, ok: boolean, value: unknown, h: number | undefined, ts: 'I' | 'T' | 'E' | undefined, n: unknown[] | undefined): void {
  const flags = (ok ? 1 : 0) | (h !== undefined ? 2 : 0) | (n !== undefined ? 4 : 0)
  let len = io.encode([id, flags, h ?? 0, ts === undefined ? 0 : ts.charCodeAt(0)], value, false)
  if (len >= 0 && n !== undefined) len = io.append(n)
  if (len >= 0) {
    Atomics.store(slots, SLOT.RID, id)
  } else {
    // What the codec does not cover (instances of pgline's classes, Maps, typed arrays...) or does not fit.
    let reply: Extract<Reply, { ok: boolean }>
    if (ok) {
      try {
        reply = h === undefined ? { id, ok: true, v: pack(value, false) } : { id, ok: true, v: pack(value, false), h }
      } catch (err) {
        reply = { id, ok: false, e: serializeError(err) }
      }
    } else {
      reply = { id, ok: false, e: value as SerializedError }
    }
    if (ts !== undefined) reply.ts = ts
    if (n !== undefined) reply.n = n
    try {
      port.postMessage(reply)
    } catch (err) {
      // A value structured clone refuses (a custom decoder returning a function...).
      const e = new InterfaceError(`the result cannot be passed from the worker thread: ${(err as Error).message}`, { cause: err })
      port.postMessage({ id, ok: false, e: serializeError(e), ts: reply.ts, n: reply.n } satisfies Reply)
    }
    Atomics.add(slots, SLOT.POSTED, 1)
  }
  Atomics.add(slots, SLOT.SEQ, 1)
  Atomics.notify(slots, SLOT.SEQ)
}

process.on('uncaughtException', (err) => {
  try {
    port.postMessage({ id: 0, fatal: serializeError(err) } satisfies Reply)
  } finally {
    process.exit(70)
  }
})
