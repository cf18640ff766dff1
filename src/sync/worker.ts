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
// Requests name a handle and a method: OPS (ops.ts) lists, per kind of
// handle, what may be called and what each call does.

import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads'
import { InterfaceError, type Connection, type CopyIn } from '../index.js'
import { NewHandle, OPS, type Scope, type WorkerContext } from './ops.js'
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

interface Entry {
  kind: HandleKind
  target: any
  scope?: Scope
}

type Method = true | ((target: unknown, args: unknown[], ctx: WorkerContext) => unknown)

/** Per kind of handle, what may be called: OPS's `run`s, plus the test hooks when enabled. */
const METHODS = Object.fromEntries(
  Object.entries(OPS).map(([kind, table]) => [kind, Object.fromEntries(Object.entries(table).map(([m, op]) => [m, op.run as Method]))]),
) as Record<HandleKind, Record<string, Method>>

if (testHooks) {
  Object.assign(METHODS.root, {
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
  } satisfies Record<string, Method>)
}

/** What a call's `run` may ask of the worker, for the call on handle `self`. */
function contextFor(self: number): WorkerContext {
  return {
    drop: () => void handles.delete(self),
    scope: () => handles.get(self)!.scope!,
    connected: (conn) => {
      conn.on('notice', (n) => notices.push(n))
      conn.on('close', () => Atomics.store(slots, SLOT.CLOSED, 1))
      connection = conn
    },
    feed: (w, items, last, failure) => feed(w, self, items, last, failure),
  }
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
    const out = method === true ? await Reflect.apply(entry.target[m] as (...a: unknown[]) => unknown, entry.target, args) : await method(entry.target, args, contextFor(h))
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
