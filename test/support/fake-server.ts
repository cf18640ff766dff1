// A scripted fake PostgreSQL server on 127.0.0.1, for what a real server
// cannot be made to do: malformed messages mid-query, a connection cut at
// byte N, an ErrorResponse during startup, a stalled reply...
//
//   const server = await startFakeServer(async (conn) => {
//     await conn.handshake()                       // trust auth, ParameterStatus, BackendKeyData, 'Z' I
//     const q = await conn.expect('Query')
//     conn.send(...queryResult(['n'], [['1']]), readyForQuery())
//     await conn.expect('Terminate')
//   })
//   try { /* connect a client to server.port */ } finally { await server.close() }
//
// The script runs once per accepted connection (conn.index tells them apart:
// a CancelRequest arrives on a connection of its own). When the script
// returns, the connection is ended gracefully (FIN after pending writes); if
// it throws, the connection is destroyed. To keep a connection open and
// silent (a stalled server), `await conn.closed`. close() rejects with
// the first error a script threw, so a failing script fails the test; a
// script still waiting when close() tears the connections down is not an
// error.
//
// With `{ cancel }` in the options, CancelRequests go to a handler of their
// own instead of the script: each connection's first packet is read before
// the script runs; a CancelRequest is handed to `cancel` (the connection ends
// when it returns, as a real server closes it once the backend is signalled),
// and any other packet is kept for the script's readStartup()/handshake().

import net from 'node:net'
import type { BackendMessage } from '../../src/protocol/messages.js'
import {
  backendKeyData,
  encodeBackendAll,
  FrontendParser,
  parameterStatus,
  readyForQuery,
  type FrontendMessage,
  type FrontendMessageType,
  type StartupPacket,
} from './backend-encoder.js'

/** A read was pending (or attempted) when the connection closed. */
export class FakeConnClosedError extends Error {
  override name = 'FakeConnClosedError'
}

export interface HandshakeOptions {
  /** ParameterStatus values sent after AuthenticationOk (merged over the defaults; undefined drops one). */
  parameters?: Record<string, string | undefined>
  processId?: number
  /** Secret key bytes; default 4 bytes for protocol 3.0, 32 bytes when the client asked for 3.2. */
  secretKey?: Uint8Array
  /** Newest minor protocol version the fake supports (default 2). A client asking for more gets NegotiateProtocolVersion. */
  maxMinor?: number
  /** Status of the final ReadyForQuery (default 'I'). */
  status?: 'I' | 'T' | 'E'
  /** Messages sent after AuthenticationOk and before the ParameterStatus messages (e.g. a NoticeResponse). */
  before?: ReadonlyArray<BackendMessage | Uint8Array>
}

export interface HandshakeResult {
  startup: Extract<StartupPacket, { type: 'StartupMessage' }>
  /** The protocol minor version in effect after negotiation. */
  minor: number
  processId: number
  secretKey: Buffer
  /** True if the client first sent an SSLRequest (answered 'N'). */
  sslRequested: boolean
}

export type CancelRequestPacket = Extract<StartupPacket, { type: 'CancelRequest' }>

export interface FakeServerOptions {
  /**
   * Answers CancelRequests instead of the script (see the top of this file).
   * The cancel's connection ends when the returned promise settles; await
   * `conn.closed` too if it may wait for something that never comes.
   */
  cancel?: (packet: CancelRequestPacket, conn: FakeConn) => Promise<void>
  /**
   * Keep our side of a connection open after the client's FIN, until the
   * script ends it (or returns): a real server still answers what it read
   * before the client's Terminate and FIN. By default a client's FIN ends
   * our side at once (Node's default), and replies sent later are lost.
   */
  halfOpen?: boolean
}

export interface FakeConn {
  /** 0 for the first accepted connection, 1 for the next... */
  readonly index: number
  readonly socket: net.Socket
  /** Every packet/message read so far, in order. */
  readonly received: ReadonlyArray<StartupPacket | FrontendMessage>
  /** Bytes that arrived and have not been read as messages yet (what the client wrote that the script has not read). */
  readonly buffered: number
  /** Resolves when the socket has closed (either side). */
  readonly closed: Promise<void>
  /** Reads one untyped startup-style packet: StartupMessage, SSLRequest, GSSENCRequest or CancelRequest. */
  readStartup(): Promise<StartupPacket>
  /** Reads the next typed frontend message. Rejects with FakeConnClosedError if the connection ends first. */
  readMessage(): Promise<FrontendMessage>
  /** Reads the next message and throws unless it is of the given type. */
  expect<T extends FrontendMessageType>(type: T): Promise<Extract<FrontendMessage, { type: T }>>
  /** Reads messages until one of the given type (those skipped are still in `received`). */
  readUntil<T extends FrontendMessageType>(type: T): Promise<Extract<FrontendMessage, { type: T }>>
  /** Sends backend messages and/or raw byte chunks, coalesced into one write. Resolves once written. */
  send(...msgs: Array<BackendMessage | Uint8Array>): Promise<void>
  /** Sends raw bytes (a string is sent as UTF-8). Resolves once written. */
  sendRaw(bytes: Uint8Array | string): Promise<void>
  /** Sends the first `n` bytes of the given messages, waits until written, then cuts the connection. */
  sendAndCut(n: number, ...msgs: Array<BackendMessage | Uint8Array>): Promise<void>
  /**
   * Trust-auth handshake: answers an SSLRequest/GSSENCRequest with 'N', reads the
   * StartupMessage, then sends [NegotiateProtocolVersion], AuthenticationOk,
   * ParameterStatus (server_version...), BackendKeyData, ReadyForQuery.
   */
  handshake(opts?: HandshakeOptions): Promise<HandshakeResult>
  /** Graceful close: FIN after pending writes. Resolves when the socket has closed. */
  end(): Promise<void>
  /** Abrupt close of the socket (pending writes are dropped). */
  destroy(): void
  /**
   * Abortive close: TCP RST; the client sees ECONNRESET. (Right after a write,
   * before the client has acknowledged it, the kernel may still send FIN.)
   */
  reset(): void
}

export interface FakeServer {
  readonly host: string
  readonly port: number
  /** Every connection accepted so far. */
  readonly connections: ReadonlyArray<FakeConn>
  /** Errors thrown by scripts so far. */
  readonly errors: ReadonlyArray<unknown>
  /** Resolves when `n` connections have been accepted and their scripts have finished. */
  settled(n?: number): Promise<void>
  /** Destroys open connections, stops listening, then rejects with the first script error, if any. */
  close(): Promise<void>
}

export const DEFAULT_PARAMETERS: Readonly<Record<string, string>> = {
  server_version: '18.0 (pgline fake)',
  server_encoding: 'UTF8',
  client_encoding: 'UTF8',
  DateStyle: 'ISO, MDY',
  IntervalStyle: 'postgres',
  TimeZone: 'UTC',
  integer_datetimes: 'on',
  standard_conforming_strings: 'on',
  is_superuser: 'off',
  in_hot_standby: 'off',
  default_transaction_read_only: 'off',
  scram_iterations: '4096',
}

class Conn implements FakeConn {
  readonly received: Array<StartupPacket | FrontendMessage> = []
  readonly closed: Promise<void>
  private readonly parser = new FrontendParser()
  private isClosed = false
  private wake: (() => void) | null = null
  private processIdSeq: number
  /** A startup packet read ahead (to route CancelRequests), for the next readStartup(). */
  private peeked: StartupPacket | null = null
  /**
   * With the cancel or halfOpen option the server allows half-open
   * connections, so that a cancel's connection stays open after the
   * client's FIN until its handler returns (a real server closes it only
   * once the backend is signalled). This resolves with whether a client's
   * FIN ends our side at once, as Node does by default: true for every
   * connection but a cancel's, unless halfOpen.
   */
  autoEnd: Promise<boolean> | undefined

  constructor(
    readonly index: number,
    readonly socket: net.Socket,
  ) {
    this.processIdSeq = 4000 + index
    socket.setNoDelay(true)
    socket.on('error', () => {}) // ECONNRESET and friends: reads see the close instead
    socket.on('data', (chunk: Buffer) => {
      this.parser.push(chunk)
      this.poke()
    })
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosed = true
        this.poke()
        resolve()
      })
    })
    // The client half-closing (FIN) means nothing more will arrive.
    socket.once('end', () => {
      this.isClosed = true
      this.poke()
      void this.autoEnd?.then((yes) => {
        if (yes && !socket.destroyed) socket.end()
      })
    })
  }

  private poke(): void {
    const w = this.wake
    this.wake = null
    w?.()
  }

  private async read<T>(parse: () => T | null, what: string): Promise<T> {
    for (;;) {
      const m = parse()
      if (m !== null) {
        this.received.push(m as StartupPacket | FrontendMessage)
        return m
      }
      if (this.isClosed) {
        throw new FakeConnClosedError(
          `fake server connection #${this.index}: closed while waiting for ${what} (${this.parser.buffered} bytes buffered)`,
        )
      }
      if (this.wake !== null) throw new Error('FakeConn: concurrent reads are not supported')
      await new Promise<void>((resolve) => {
        this.wake = resolve
      })
    }
  }

  get buffered(): number {
    return this.parser.buffered
  }

  readStartup(): Promise<StartupPacket> {
    const p = this.peeked
    if (p !== null) {
      this.peeked = null
      return Promise.resolve(p)
    }
    return this.read(() => this.parser.nextStartup(), 'a startup packet')
  }

  /** Reads the first packet ahead of the script; the next readStartup() returns it (it is in `received` once). */
  async peekStartup(): Promise<StartupPacket> {
    const p = await this.read(() => this.parser.nextStartup(), 'a startup packet')
    this.peeked = p
    return p
  }

  readMessage(): Promise<FrontendMessage> {
    return this.read(() => this.parser.next(), 'a message')
  }

  async expect<T extends FrontendMessageType>(type: T): Promise<Extract<FrontendMessage, { type: T }>> {
    const m = await this.readMessage()
    if (m.type !== type) {
      throw new Error(`fake server connection #${this.index}: expected ${type}, got ${describe(m)}`)
    }
    return m as Extract<FrontendMessage, { type: T }>
  }

  async readUntil<T extends FrontendMessageType>(type: T): Promise<Extract<FrontendMessage, { type: T }>> {
    for (;;) {
      const m = await this.readMessage()
      if (m.type === type) return m as Extract<FrontendMessage, { type: T }>
    }
  }

  send(...msgs: Array<BackendMessage | Uint8Array>): Promise<void> {
    return this.sendRaw(encodeBackendAll(msgs))
  }

  sendRaw(bytes: Uint8Array | string): Promise<void> {
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writable) {
        resolve() // like a real server whose peer is gone: the bytes are lost
        return
      }
      // Errors surface as 'error' (ignored) and 'close'; a script never hangs on a write.
      this.socket.write(data, () => resolve())
    })
  }

  async sendAndCut(n: number, ...msgs: Array<BackendMessage | Uint8Array>): Promise<void> {
    const bytes = encodeBackendAll(msgs)
    if (n > 0) await this.sendRaw(bytes.subarray(0, n))
    this.destroy()
  }

  async handshake(opts: HandshakeOptions = {}): Promise<HandshakeResult> {
    let sslRequested = false
    let p = await this.readStartup()
    while (p.type === 'SSLRequest' || p.type === 'GSSENCRequest') {
      if (p.type === 'SSLRequest') sslRequested = true
      await this.sendRaw('N')
      p = await this.readStartup()
    }
    if (p.type !== 'StartupMessage') {
      throw new Error(`fake server connection #${this.index}: expected a StartupMessage, got ${p.type}`)
    }
    if (p.major !== 3) throw new Error(`fake server connection #${this.index}: unsupported protocol ${p.major}.${p.minor}`)
    const maxMinor = opts.maxMinor ?? 2
    const unrecognized = Object.keys(p.params).filter((k) => k.startsWith('_pq_.'))
    const minor = Math.min(p.minor, maxMinor)
    const out: Array<BackendMessage | Uint8Array> = []
    if (p.minor > maxMinor || unrecognized.length > 0) {
      out.push({ type: 'NegotiateProtocolVersion', newestMinor: minor, unrecognized })
    }
    out.push({ type: 'AuthenticationOk' })
    if (opts.before) out.push(...opts.before)
    const params: Record<string, string | undefined> = {
      ...DEFAULT_PARAMETERS,
      application_name: p.params['application_name'] ?? '',
      session_authorization: p.params['user'] ?? 'postgres',
      ...opts.parameters,
    }
    for (const [name, value] of Object.entries(params)) {
      if (value !== undefined) out.push(parameterStatus(name, value))
    }
    const processId = opts.processId ?? this.processIdSeq
    const secretKey = Buffer.from(opts.secretKey ?? keyBytes(minor >= 2 ? 32 : 4, processId))
    out.push(backendKeyData(processId, secretKey))
    out.push(readyForQuery(opts.status ?? 'I'))
    await this.send(...out)
    return { startup: p, minor, processId, secretKey, sslRequested }
  }

  end(): Promise<void> {
    if (!this.socket.destroyed) this.socket.end()
    return this.closed
  }

  destroy(): void {
    this.socket.destroy()
  }

  reset(): void {
    if (this.socket.destroyed) return
    this.socket.resetAndDestroy()
  }
}

function keyBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = (seed * 31 + i * 97 + 13) & 0xff
  return b
}

function describe(m: FrontendMessage): string {
  switch (m.type) {
    case 'Query':
      return `Query(${JSON.stringify(m.sql)})`
    case 'Parse':
      return `Parse(${JSON.stringify(m.name)}, ${JSON.stringify(m.sql)})`
    case 'Unknown':
      return `Unknown('${m.code}', ${m.body.length} bytes)`
    default:
      return m.type
  }
}

/**
 * Starts listening on 127.0.0.1 at an ephemeral port; `script` runs for each
 * accepted connection.
 */
export async function startFakeServer(script: (conn: FakeConn) => Promise<void>, options: FakeServerOptions = {}): Promise<FakeServer> {
  const connections: Conn[] = []
  const errors: unknown[] = []
  const running = new Set<Promise<void>>()
  const finished: Promise<void>[] = []
  let closing = false
  const settleWaiters: Array<() => void> = []

  const cancel = options.cancel
  const allowHalfOpen = cancel !== undefined || options.halfOpen === true
  const server = net.createServer({ allowHalfOpen }, (socket) => {
    const conn = new Conn(connections.length, socket)
    connections.push(conn)
    let route: ((autoEnd: boolean) => void) | undefined
    if (allowHalfOpen) conn.autoEnd = new Promise((resolve) => (route = resolve))
    const run = (async () => {
      try {
        const first = cancel === undefined ? undefined : await conn.peekStartup()
        route?.(options.halfOpen !== true && first?.type !== 'CancelRequest')
        if (cancel !== undefined && first?.type === 'CancelRequest') {
          void conn.readStartup() // consumed here: the script never sees it
          await cancel(first, conn)
        } else await script(conn)
        void conn.end() // not awaited: a client that never closes must not keep the script "running"
      } catch (err) {
        route?.(true)
        // Teardown by close() makes pending reads fail: that is not the script's fault.
        if (!(closing && err instanceof FakeConnClosedError)) errors.push(err)
        conn.destroy()
      }
    })()
    running.add(run)
    finished.push(run)
    void run.finally(() => {
      running.delete(run)
      for (const w of settleWaiters.splice(0)) w()
    })
  })
  server.on('error', (err) => errors.push(err))

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address() as net.AddressInfo

  return {
    host: '127.0.0.1',
    port: addr.port,
    connections,
    errors,
    async settled(n = 1) {
      while (finished.length < n || running.size > 0) {
        await new Promise<void>((resolve) => {
          settleWaiters.push(resolve)
          // New connections do not call the waiters; poll lightly for them.
          setTimeout(resolve, 10)
        })
      }
    },
    async close() {
      closing = true
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const c of connections) c.destroy()
      await Promise.all([...running])
      await stopped
      if (errors.length > 0) throw errors[0]
    },
  }
}
