// The scripted fake server, driven by a raw socket client built from our own
// frontend encoders and Decoder.

import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Decoder } from '../../../src/protocol/decoder.js'
import * as fe from '../../../src/protocol/frontend.js'
import type { BackendMessage } from '../../../src/protocol/messages.js'
import { Writer } from '../../../src/protocol/writer.js'
import {
  dataRowText,
  encodeBackend,
  errorResponse,
  frame,
  queryResult,
  readyForQuery,
  type FrontendMessage,
} from '../../support/backend-encoder.js'
import { FakeConnClosedError, startFakeServer, type FakeServer } from '../../support/fake-server.js'

/** A bare client: write frontend bytes, read backend messages. */
class RawClient {
  readonly decoder = new Decoder()
  private waiters: Array<() => void> = []
  private ended = false
  raw: Buffer[] = []
  /** Bytes to keep out of the decoder (the one-byte answer to SSLRequest). */
  skipBytes = 0

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.raw.push(c)
      const skip = Math.min(this.skipBytes, c.length)
      this.skipBytes -= skip
      this.decoder.push(c.subarray(skip))
      this.wake()
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      this.ended = true
      this.wake()
    })
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawClient(s)))
      s.once('error', reject)
    })
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  write(fn: (w: Writer) => void): void {
    const w = new Writer()
    fn(w)
    this.socket.write(w.flush())
  }

  /** The next message, or null if the connection closed first. */
  async next(): Promise<BackendMessage | null> {
    for (;;) {
      const m = this.decoder.next()
      if (m !== null) return m
      if (this.ended) return null
      await new Promise<void>((r) => this.waiters.push(r))
    }
  }

  /** Messages up to and including ReadyForQuery (or until close). */
  async untilReady(): Promise<BackendMessage[]> {
    const out: BackendMessage[] = []
    for (;;) {
      const m = await this.next()
      if (m === null) return out
      out.push(m)
      if (m.type === 'ReadyForQuery') return out
    }
  }

  /** Waits for the server to close the connection. */
  async closed(): Promise<void> {
    while (!this.ended) await new Promise<void>((r) => this.waiters.push(r))
  }

  async readByte(): Promise<number> {
    for (;;) {
      const all = Buffer.concat(this.raw)
      if (all.length > 0) return all[0]!
      if (this.ended) throw new Error('closed')
      await new Promise<void>((r) => this.waiters.push(r))
    }
  }
}

let server: FakeServer | undefined
const clients: RawClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy()
  await server?.close()
  server = undefined
})

async function connect(): Promise<RawClient> {
  const c = await RawClient.connect(server!.port)
  clients.push(c)
  return c
}

describe('fake server', () => {
  it('trust handshake for protocol 3.0: 4-byte key, default parameters, then a simple query', async () => {
    let seen: FrontendMessage | undefined
    server = await startFakeServer(async (conn) => {
      const hs = await conn.handshake()
      expect(hs.startup.params).toMatchObject({ user: 'bob', database: 'db' })
      expect(hs.minor).toBe(0)
      seen = await conn.expect('Query')
      await conn.send(...queryResult(['n', 's'], [['1', 'a'], [null, 'b']]), readyForQuery())
      await conn.expect('Terminate')
    })
    const c = await connect()
    c.write((w) => fe.startup(w, fe.PROTOCOL_3_0, { user: 'bob', database: 'db' }))
    const hello = await c.untilReady()
    expect(hello[0]).toEqual({ type: 'AuthenticationOk' })
    const params = Object.fromEntries(
      hello.flatMap((m) => (m.type === 'ParameterStatus' ? [[m.name, m.value]] : [])),
    )
    expect(params).toMatchObject({ server_version: expect.any(String), client_encoding: 'UTF8', session_authorization: 'bob' })
    const key = hello.find((m) => m.type === 'BackendKeyData')
    expect(key?.type === 'BackendKeyData' && key.secretKey.length).toBe(4)
    expect(hello.at(-1)).toEqual({ type: 'ReadyForQuery', status: 'I' })

    c.write((w) => fe.query(w, 'SELECT n, s FROM t'))
    const res = await c.untilReady()
    expect(res.map((m) => m.type)).toEqual(['RowDescription', 'DataRow', 'DataRow', 'CommandComplete', 'ReadyForQuery'])
    expect(res.flatMap((m) => (m.type === 'DataRow' ? [dataRowText(m)] : []))).toEqual([['1', 'a'], [null, 'b']])
    expect(seen).toEqual({ type: 'Query', sql: 'SELECT n, s FROM t' })
    c.write((w) => fe.terminate(w))
    await server.settled(1)
    expect(server.connections[0]!.received.map((m) => m.type)).toEqual(['StartupMessage', 'Query', 'Terminate'])
  })

  it('protocol 3.2: 32-byte key, no negotiation; SSLRequest answered with N', async () => {
    server = await startFakeServer(async (conn) => {
      const hs = await conn.handshake()
      expect(hs.sslRequested).toBe(true)
      expect(hs.minor).toBe(2)
    })
    const c = await connect()
    c.skipBytes = 1
    c.write((w) => fe.sslRequest(w))
    expect(await c.readByte()).toBe(0x4e) // 'N'
    c.write((w) => fe.startup(w, fe.PROTOCOL_3_2, { user: 'u' }))
    const msgs = await c.untilReady()
    expect(msgs.some((m) => m.type === 'NegotiateProtocolVersion')).toBe(false)
    const key = msgs.find((m) => m.type === 'BackendKeyData')
    expect(key?.type === 'BackendKeyData' && key.secretKey.length).toBe(32)
    await c.closed() // the script returned: the server ends the connection
  })

  it('a newer minor or _pq_ options get NegotiateProtocolVersion', async () => {
    server = await startFakeServer(async (conn) => {
      await conn.handshake({ maxMinor: 0 })
    })
    const c = await connect()
    c.write((w) => fe.startup(w, fe.PROTOCOL_3_2, { user: 'u', '_pq_.x': '1' }))
    const msgs = await c.untilReady()
    expect(msgs[0]).toEqual({ type: 'NegotiateProtocolVersion', newestMinor: 0, unrecognized: ['_pq_.x'] })
    const key = msgs.find((m) => m.type === 'BackendKeyData')
    expect(key?.type === 'BackendKeyData' && key.secretKey.length).toBe(4)
  })

  it('ErrorResponse during startup, then the server hangs up', async () => {
    server = await startFakeServer(async (conn) => {
      await conn.readStartup()
      await conn.send(errorResponse({ severity: 'FATAL', code: '28000', message: 'no pg_hba.conf entry' }))
      await conn.end()
    })
    const c = await connect()
    c.write((w) => fe.startup(w, fe.PROTOCOL_3_0, { user: 'u' }))
    const m = await c.next()
    expect(m?.type === 'ErrorResponse' && m.fields).toMatchObject({ severity: 'FATAL', code: '28000' })
    expect(await c.next()).toBeNull()
  })

  it('sendAndCut delivers exactly n bytes, then the connection is gone', async () => {
    const msgs = queryResult(['a'], [['x'.repeat(50)]])
    server = await startFakeServer(async (conn) => {
      await conn.handshake()
      await conn.expect('Query')
      await conn.sendAndCut(37, ...msgs)
    })
    const c = await connect()
    c.write((w) => fe.startup(w, fe.PROTOCOL_3_0, { user: 'u' }))
    await c.untilReady()
    const before = c.decoder.buffered
    c.write((w) => fe.query(w, 'SELECT'))
    await c.closed()
    expect(c.decoder.buffered - before).toBeLessThanOrEqual(37)
    const got: BackendMessage[] = []
    for (let m = c.decoder.next(); m !== null; m = c.decoder.next()) got.push(m)
    expect(got.map((m) => m.type)).toEqual(['RowDescription']) // the DataRow is cut
    expect(c.decoder.buffered).toBe(37 - encodeBackend(msgs[0]!).length)
  })

  it('sendRaw sends arbitrary bytes (a malformed message mid-query)', async () => {
    server = await startFakeServer(async (conn) => {
      await conn.handshake()
      await conn.expect('Query')
      await conn.sendRaw(frame('Z', 'X'))
    })
    const c = await connect()
    c.write((w) => fe.startup(w, fe.PROTOCOL_3_0, { user: 'u' }))
    await c.untilReady()
    c.write((w) => fe.query(w, 'SELECT 1'))
    await expect(c.next()).rejects.toThrow(/transaction status/)
  })

  it('extended protocol messages are parsed; a CancelRequest arrives on its own connection', async () => {
    const got: FrontendMessage[] = []
    let cancel: unknown
    server = await startFakeServer(async (conn) => {
      if (conn.index === 1) {
        cancel = await conn.readStartup()
        return conn.end()
      }
      await conn.handshake({ processId: 77, secretKey: Buffer.from([9, 9, 9, 9]) })
      for (let i = 0; i < 5; i++) got.push(await conn.readMessage())
      await conn.send({ type: 'ParseComplete' }, { type: 'BindComplete' }, { type: 'NoData' }, { type: 'CommandComplete', tag: 'SELECT 0' }, readyForQuery())
      await conn.expect('Terminate')
    })
    const c = await connect()
    c.write((w) => fe.startup(w, fe.PROTOCOL_3_0, { user: 'u' }))
    await c.untilReady()
    c.write((w) => {
      fe.parse(w, 's', 'SELECT $1::int', [23])
      fe.bind(w, '', 's', [1], [Buffer.from([0, 0, 0, 5])], [1])
      fe.describe(w, 'P', '')
      fe.execute(w, '', 0)
      fe.sync(w)
    })
    expect((await c.untilReady()).map((m) => m.type)).toEqual([
      'ParseComplete', 'BindComplete', 'NoData', 'CommandComplete', 'ReadyForQuery',
    ])
    const k = await connect()
    k.write((w) => fe.cancelRequest(w, 77, Buffer.from([9, 9, 9, 9])))
    await k.closed()
    c.write((w) => fe.terminate(w))
    await server.settled(2)
    expect(got).toEqual([
      { type: 'Parse', name: 's', sql: 'SELECT $1::int', paramOids: [23] },
      { type: 'Bind', portal: '', statement: 's', paramFormats: [1], values: [Buffer.from([0, 0, 0, 5])], resultFormats: [1] },
      { type: 'Describe', kind: 'P', name: '' },
      { type: 'Execute', portal: '', maxRows: 0 },
      { type: 'Sync' },
    ])
    expect(cancel).toEqual({ type: 'CancelRequest', processId: 77, secretKey: Buffer.from([9, 9, 9, 9]) })
  })

  it('a read pending when the client disconnects rejects with FakeConnClosedError; close() reports script errors', async () => {
    let caught: unknown
    server = await startFakeServer(async (conn) => {
      await conn.handshake()
      try {
        await conn.readMessage()
      } catch (err) {
        caught = err
        throw err
      }
    })
    const c = await connect()
    c.write((w) => fe.startup(w, fe.PROTOCOL_3_0, { user: 'u' }))
    await c.untilReady()
    c.socket.destroy()
    await server.settled(1)
    expect(caught).toBeInstanceOf(FakeConnClosedError)
    const s = server
    server = undefined
    await expect(s.close()).rejects.toBeInstanceOf(FakeConnClosedError)
  })

  it('close() tears down a script still waiting, without reporting it', async () => {
    server = await startFakeServer(async (conn) => {
      await conn.handshake()
      await conn.readMessage() // never comes
    })
    const c = await connect()
    c.write((w) => fe.startup(w, fe.PROTOCOL_3_0, { user: 'u' }))
    await c.untilReady()
    const s = server
    server = undefined
    await s.close()
    await c.closed()
  })

  it('reset() makes the client see a reset connection', async () => {
    server = await startFakeServer(async (conn) => {
      await conn.handshake()
      await conn.expect('Query')
      conn.reset()
    })
    const c = await connect()
    const err = new Promise<unknown>((resolve) => c.socket.once('error', resolve))
    c.write((w) => fe.startup(w, fe.PROTOCOL_3_0, { user: 'u' }))
    await c.untilReady()
    c.write((w) => fe.query(w, 'SELECT pg_sleep(1)'))
    await c.closed()
    expect(await err).toMatchObject({ code: 'ECONNRESET' })
  })
})
