// The engine's unit tests drive a real Connection (the public API) against
// the scripted fake server, played step by step from the test itself: the
// fake server's script only hands each connection over, and the test reads
// what the client wrote and sends the replies, message by message. Nothing
// here waits on a clock: a step that must NOT happen is checked after the
// event loop has had a few turns to let it happen (expectQuiet()), and
// barrier() waits until the client has handled what was sent before.
import { afterEach, expect } from 'vitest'
import { connect, type Connection, type ConnectionOptions } from '../../../src/index.js'
import type { BackendMessage } from '../../../src/protocol/messages.js'
import {
  commandComplete,
  dataRow,
  noticeResponse,
  readyForQuery,
  rowDescription,
  type FrontendMessageType,
} from '../../support/backend-encoder.js'
import { frontendLabel as label } from '../../support/backend-encoder.js'
import {
  startFakeServer,
  type CancelRequestPacket,
  type FakeConn,
  type FakeServer,
  type HandshakeOptions,
  type HandshakeResult,
} from '../../support/fake-server.js'

/** A queue a producer pushes to and the test awaits items from. */
class Queue<T> {
  readonly items: T[] = []
  private waiters: Array<(v: T) => void> = []
  /** Everything pushed so far, taken or not. */
  readonly seen: T[] = []
  push(v: T): void {
    this.seen.push(v)
    const w = this.waiters.shift()
    if (w !== undefined) w(v)
    else this.items.push(v)
  }
  next(): Promise<T> {
    const v = this.items.shift()
    if (v !== undefined) return Promise.resolve(v)
    return new Promise((resolve) => this.waiters.push(resolve))
  }
}

/** A CancelRequest the fake server received; its connection stays open (the cancel unsettled) until release(). */
export interface CancelArrival {
  packet: CancelRequestPacket
  release(): void
}

export interface Rig {
  readonly server: FakeServer
  readonly port: number
  /** The next client connection (cancel connections go to `cancels`). */
  accept(): Promise<FakeConn>
  /** CancelRequests, in arrival order. */
  readonly cancels: Queue<CancelArrival>
  /** A connected client and its server side, after a trust handshake. */
  connect(extra?: ConnectionOptions, handshake?: HandshakeOptions): Promise<{ c: Connection; s: FakeConn; hs: HandshakeResult }>
  close(): Promise<void>
}

const rigs: Rig[] = []
const clients: Connection[] = []

afterEach(async () => {
  for (const c of clients.splice(0)) if (!c.closed) c.terminate()
  for (const r of rigs.splice(0)) await r.close()
})

/** Connection options: no TLS, no retries to other hosts; explicit `prepare` per test. */
export function connectTo(port: number, extra: ConnectionOptions = {}): Promise<Connection> {
  const p = connect({ host: '127.0.0.1', port, user: 'u', database: 'd', connectTimeout: 5000, tls: 'disable', ...extra })
  void p.then((c) => clients.push(c), () => undefined)
  return p
}

/** Starts a fake server whose connections the test plays by hand; closed after the test. */
export async function startRig(): Promise<Rig> {
  const conns = new Queue<FakeConn>()
  const cancels = new Queue<CancelArrival>()
  const server = await startFakeServer(
    async (conn) => {
      conns.push(conn)
      await conn.closed
    },
    {
      // The test ends the server side (s.end()), as a server does after Terminate.
      halfOpen: true,
      cancel: async (packet, conn) => {
        let release!: () => void
        const released = new Promise<void>((resolve) => (release = resolve))
        cancels.push({ packet, release })
        await Promise.race([released, conn.closed])
      },
    },
  )
  const rig: Rig = {
    server,
    port: server.port,
    accept: () => conns.next(),
    cancels,
    async connect(extra = {}, handshake = {}) {
      const pc = connectTo(server.port, extra)
      const s = await conns.next()
      const hs = await s.handshake(handshake)
      const c = await pc
      return { c, s, hs }
    },
    async close() {
      for (const k of cancels.seen) k.release()
      await server.close()
    },
  }
  rigs.push(rig)
  return rig
}

/** A few turns of the event loop: enough for anything the client would write now to reach the fake server. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve))
  await new Promise<void>((resolve) => setTimeout(resolve, 5))
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/** Asserts the client wrote nothing more (nothing arrived that the test has not read). */
export async function expectQuiet(s: FakeConn, what = 'nothing more written'): Promise<void> {
  await settle()
  expect(s.buffered, what).toBe(0)
}

let barriers = 0

/**
 * Waits until the client has handled everything sent before: a notice sent
 * now reaches its listeners only after the messages ahead of it.
 */
export async function barrier(c: Connection, s: FakeConn): Promise<void> {
  const tag = `barrier ${++barriers}`
  const seen = new Promise<void>((resolve) => {
    const listener = (n: { message: string }): void => {
      if (n.message !== tag) return
      c.off('notice', listener)
      resolve()
    }
    c.on('notice', listener)
  })
  await s.send(noticeResponse({ message: tag }))
  await seen
}

export { frontendLabel as label } from '../../support/backend-encoder.js'

const STARTUP_TYPES = new Set(['StartupMessage', 'SSLRequest', 'GSSENCRequest', 'CancelRequest'])

/** Everything the client wrote on this connection so far (read by the test), startup packets left out. */
export function wire(s: FakeConn): string[] {
  return s.received.filter((m) => !STARTUP_TYPES.has(m.type)).map(label)
}

/** Reads messages up to and including one of type `type`; their labels. */
export async function readThrough(s: FakeConn, type: FrontendMessageType): Promise<string[]> {
  const out: string[] = []
  for (;;) {
    const m = await s.readMessage()
    out.push(label(m))
    if (m.type === type) return out
  }
}

/** Reads `n` messages; their labels. */
export async function read(s: FakeConn, n: number): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(label(await s.readMessage()))
  return out
}

/** The wire of one unnamed extended query (prepare: false). */
export function unnamed(sql: string): string[] {
  return [`Parse "" ${sql}`, 'Bind ""', 'Describe P ""', 'Execute', 'Sync']
}

export { unnamedReply } from '../../support/backend-encoder.js'

/** The reply to Parse + Describe 'S' + Sync of a statement with text columns and no parameters. */
export function describeReply(columns: string[] | null, status: 'I' | 'T' | 'E' = 'I', paramOids: number[] = []): BackendMessage[] {
  return [
    { type: 'ParseComplete' },
    { type: 'ParameterDescription', typeOids: paramOids },
    columns === null ? { type: 'NoData' } : rowDescription(columns),
    readyForQuery(status),
  ]
}

/** The reply to Bind + Execute + Sync of a described statement (no RowDescription: the client knows the fields). */
export function executeReply(rows: (string | null)[][], status: 'I' | 'T' | 'E' = 'I'): BackendMessage[] {
  return [{ type: 'BindComplete' }, ...rows.map((r) => dataRow(r)), commandComplete(`SELECT ${rows.length}`), readyForQuery(status)]
}

/** Settles to 'ok' or the error, without letting a rejection go unhandled while the test goes on. */
export function outcome<T>(p: Promise<T>): Promise<{ ok: T } | { err: unknown }> {
  return p.then(
    (ok) => ({ ok }),
    (err: unknown) => ({ err }),
  )
}

/** Whether a promise has settled yet (after the event loop had a few turns). */
export async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let done = false
  p.then(
    () => (done = true),
    () => (done = true),
  )
  await settle()
  return done
}
