// What a real server cannot be made to do on demand, played by a scripted
// fake server: malformed messages, a connection cut at byte N, a refusal
// during startup, values no codec can read.
import { describe, expect, it } from 'vitest'
import { connect, ConnectionError, DatabaseError, DecodeError, ProtocolError, TooManyConnections } from '../../src/index.js'
import {
  commandComplete,
  dataRow,
  encodeBackendAll,
  errorResponse,
  field,
  frame,
  noticeResponse,
  readyForQuery,
  rowDescription,
  unnamedReply,
} from '../support/backend-encoder.js'
import { startFakeServer, type FakeConn } from '../support/fake-server.js'

// Unnamed statements keep each query to one Parse/Bind/Describe/Execute/Sync
// exchange, which is what these scripts play.
const connectTo = (port: number, extra = {}) =>
  connect({ host: '127.0.0.1', port, user: 'u', database: 'd', connectTimeout: 5000, prepare: false, tls: 'disable', ...extra })

async function untilSync(conn: FakeConn): Promise<void> {
  await conn.readUntil('Sync')
}

describe('a misbehaving server', () => {
  it('closes the connection on a malformed message and rejects every pending query', async () => {
    const server = await startFakeServer(async (conn) => {
      await conn.handshake()
      await untilSync(conn)
      // A DataRow whose column claims more bytes than the message holds.
      const bad = Buffer.alloc(2 + 4 + 2)
      bad.writeInt16BE(1, 0)
      bad.writeInt32BE(100, 2)
      await conn.send({ type: 'ParseComplete' }, { type: 'BindComplete' }, rowDescription(['a']), frame('D', bad))
      await conn.closed
    })
    try {
      const c = await connectTo(server.port)
      const results = await Promise.allSettled([c.query('select 1 as a'), c.query('select 2 as a')])
      for (const r of results) {
        expect(r.status).toBe('rejected')
        const reason = (r as PromiseRejectedResult).reason as ConnectionError
        expect(reason).toBeInstanceOf(ConnectionError)
        expect(reason.cause).toBeInstanceOf(ProtocolError)
        expect(String((reason.cause as Error).message)).toMatch(/'D'.*overruns/)
      }
      expect(c.closed).toBe(true)
    } finally {
      await server.close()
    }
  })

  it('rejects an unknown message type', async () => {
    const server = await startFakeServer(async (conn) => {
      await conn.handshake()
      await untilSync(conn)
      await conn.send(frame('~', 'junk'))
      await conn.closed
    })
    try {
      const c = await connectTo(server.port)
      const err = (await c.query('select 1').catch((e: unknown) => e)) as ConnectionError
      expect(err).toBeInstanceOf(ConnectionError)
      expect((err.cause as Error).message).toMatch(/unknown message type '~'/)
    } finally {
      await server.close()
    }
  })

  it('refuses a message larger than the declared limit without waiting for its body', async () => {
    const server = await startFakeServer(async (conn) => {
      await conn.handshake()
      await untilSync(conn)
      const header = Buffer.alloc(5)
      header.write('D', 0)
      header.writeInt32BE(64 * 1024 * 1024, 1)
      await conn.sendRaw(header) // the 64 MiB body never comes
      await conn.closed
    })
    try {
      const c = await connectTo(server.port, { maxMessageSize: 1024 * 1024 })
      const err = (await c.query('select 1').catch((e: unknown) => e)) as ConnectionError
      expect(err).toBeInstanceOf(ConnectionError)
      expect((err.cause as Error).message).toMatch(/invalid length 67108864/)
    } finally {
      await server.close()
    }
  })

  const reply = encodeBackendAll(unnamedReply(['n'], [['1'], ['2']]))
  const cuts = [0, 1, 5, 6, 20, Math.floor(reply.length / 2), reply.length - 6, reply.length - 1]
  for (const n of cuts) {
    it(`rejects pending queries with ConnectionError when the connection is cut after byte ${n} of the reply`, async () => {
      const server = await startFakeServer(async (conn) => {
        await conn.handshake()
        await untilSync(conn)
        await conn.sendAndCut(n, reply)
      })
      try {
        const c = await connectTo(server.port)
        const closes: unknown[] = []
        c.on('close', (e) => closes.push(e))
        const settled = await Promise.allSettled([c.query('select n from t'), c.query('select 2')])
        for (const s of settled) {
          expect(s.status).toBe('rejected')
          expect((s as PromiseRejectedResult).reason).toBeInstanceOf(ConnectionError)
          expect(((s as PromiseRejectedResult).reason as ConnectionError).retrySafe).toBe(false)
        }
        expect(c.closed).toBe(true)
        expect(closes).toHaveLength(1)
      } finally {
        await server.close()
      }
    })
  }

  it('gives the server error when startup is refused', async () => {
    const server = await startFakeServer(async (conn) => {
      await conn.readStartup()
      await conn.send(errorResponse({ severity: 'FATAL', code: '53300', message: 'sorry, too many clients already' }))
      await conn.end()
    })
    try {
      const err = await connectTo(server.port).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(TooManyConnections)
      expect(err).toBeInstanceOf(DatabaseError)
      expect((err as Error).message).toBe('sorry, too many clients already')
    } finally {
      await server.close()
    }
  })

  it('explains a refused protocol 3.2 startup (a pooler without protocol negotiation)', async () => {
    const startups: number[] = []
    const server = await startFakeServer(async (conn) => {
      const startup = await conn.readStartup()
      startups.push(startup.type === 'StartupMessage' ? startup.minor : -1)
      await conn.send(errorResponse({ severity: 'FATAL', code: '08P01', message: "bad packet header: '0000005800030002'" }))
      await conn.end()
    })
    try {
      const err = await connectTo(server.port, { protocolVersion: '3.2' }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConnectionError)
      expect((err as ConnectionError).retrySafe).toBe(true)
      expect((err as Error).message).toMatch(/^the server refused the protocol 3\.2 startup \(bad packet header: .*\); .*PgBouncer before 1\.22.*max_protocol_version=3\.0/)
      expect(((err as Error).cause as DatabaseError).code).toBe('08P01')
      // The same refusal of a 3.0 startup is the server's own error, unexplained.
      const plain = await connectTo(server.port).catch((e: unknown) => e)
      expect(plain).toBeInstanceOf(DatabaseError)
      expect((plain as DatabaseError).code).toBe('08P01')
      expect(startups).toEqual([2, 0])
    } finally {
      await server.close()
    }
  })

  it('gives a ConnectionError when the server hangs up during startup', async () => {
    const server = await startFakeServer(async (conn) => {
      await conn.readStartup()
      conn.destroy()
    })
    try {
      const err = await connectTo(server.port).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConnectionError)
    } finally {
      await server.close()
    }
  })

  it('delivers a notice that arrives in the middle of a result without disturbing the rows', async () => {
    const server = await startFakeServer(async (conn) => {
      await conn.handshake()
      await untilSync(conn)
      const [p, bc, rd, d1, d2, cc, z] = unnamedReply([field('n', { typeOid: 23 })], [['1'], ['2']])
      await conn.send(p!, bc!, rd!, d1!, noticeResponse({ severity: 'NOTICE', code: '00000', message: 'halfway' }), d2!, cc!, z!)
      await conn.readUntil('Terminate')
    })
    try {
      const notices: string[] = []
      const c = await connectTo(server.port, { onNotice: (n: { message: string }) => notices.push(n.message) })
      const r = await c.query('select n from t')
      expect(r.rows).toEqual([{ n: 1 }, { n: 2 }])
      expect(notices).toEqual(['halfway'])
      await c.close()
    } finally {
      await server.close()
    }
  })

  it.each(['object', 'columns'] as const)('rejects a value its codec cannot read with a DecodeError naming the column, and stays usable (rowMode %s)', async (rowMode) => {
    const server = await startFakeServer(async (conn) => {
      await conn.handshake()
      await untilSync(conn)
      await conn.send(...unnamedReply([field('doc', { typeOid: 114 })], [['{"ok": true}'], ['{not json']]))
      await untilSync(conn)
      await conn.send({ type: 'ParseComplete' }, { type: 'BindComplete' }, rowDescription([field('v', { typeOid: 23 })]), dataRow(['7']), commandComplete('SELECT 1'), readyForQuery())
      await conn.readUntil('Terminate')
    })
    try {
      const c = await connectTo(server.port)
      const err = await c.query('select doc from t', [], { rowMode }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(DecodeError)
      expect((err as DecodeError).column).toBe('doc')
      expect((err as Error).message).toMatch(/column "doc".*114/)
      expect(c.closed).toBe(false)
      expect((await c.query('select 7 as v')).rows).toEqual([{ v: 7 }])
      await c.close()
    } finally {
      await server.close()
    }
  })
})
