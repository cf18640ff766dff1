// Multi-host connects, the parts a real primary/standby pair cannot pin down
// (that is test/integration/standby.test.ts): the load_balance_hosts=random
// shuffle is uniform, and which startup errors move on to the next host.
import { describe, expect, it } from 'vitest'
import { CannotConnectNow, connect, ConnectionError, DatabaseError } from '../../../src/index.js'
import { shuffleHosts } from '../../../src/config/config.js'
import { errorResponse } from '../../support/backend-encoder.js'
import { startFakeServer, type FakeConn, type FakeServer } from '../../support/fake-server.js'

describe('shuffleHosts (load_balance_hosts=random)', () => {
  it('gives every order exactly once over all equally likely random draws', () => {
    // Fisher-Yates on 4 hosts draws from 4, 3 and 2 choices: 24 draws, 24 orders.
    const seen = new Map<string, number>()
    for (let a = 0; a < 4; a++) {
      for (let b = 0; b < 3; b++) {
        for (let c = 0; c < 2; c++) {
          const draws = [(a + 0.5) / 4, (b + 0.5) / 3, (c + 0.5) / 2]
          const order = shuffleHosts(['a', 'b', 'c', 'd'], () => draws.shift()!).join('')
          seen.set(order, (seen.get(order) ?? 0) + 1)
        }
      }
    }
    expect(seen.size).toBe(24)
    expect([...seen.values()].every((n) => n === 1)).toBe(true)
  })

  it('puts each host first about equally often with Math.random (a sort with a random comparator does not)', () => {
    const first: Record<string, number> = { a: 0, b: 0, c: 0, d: 0, e: 0 }
    const n = 50_000
    for (let i = 0; i < n; i++) first[shuffleHosts(['a', 'b', 'c', 'd', 'e'])[0]!]!++
    // Expected 10000 each, standard deviation ~90: ±1000 is over ten of them.
    for (const count of Object.values(first)) expect(Math.abs(count - n / 5)).toBeLessThan(1_000)
  })

  it('keeps every host, shuffles in place and returns the same array', () => {
    const hosts = [1, 2, 3, 4, 5, 6, 7]
    expect(shuffleHosts(hosts)).toBe(hosts)
    expect([...hosts].sort()).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(shuffleHosts([])).toEqual([])
    expect(shuffleHosts(['only'])).toEqual(['only'])
  })
})

/** A server that refuses every startup with this FATAL error. */
function refusing(code: string, message: string): Promise<FakeServer> {
  return startFakeServer(async (conn: FakeConn) => {
    await conn.readStartup()
    await conn.send(errorResponse({ severity: 'FATAL', code, message }))
  })
}

/** A server that accepts (trust) and then serves until the client leaves. */
function accepting(): Promise<FakeServer> {
  return startFakeServer(async (conn) => {
    await conn.handshake()
    await conn.readUntil('Terminate').catch(() => undefined)
  })
}

const hostList = (...servers: FakeServer[]) => ({
  host: servers.map(() => '127.0.0.1').join(','),
  port: servers.map((s) => s.port).join(','),
  user: 'u',
  database: 'd',
  tls: 'disable' as const,
})

describe('which startup failures move on to the next host', () => {
  it('57P03 "cannot connect now" (starting up, shutting down) moves on, as in libpq', async () => {
    const down = await refusing('57P03', 'the database system is shutting down')
    const up = await accepting()
    try {
      const conn = await connect(hostList(down, up))
      expect(conn.closed).toBe(false)
      await conn.close()
      expect(down.connections).toHaveLength(1)
      expect(up.connections).toHaveLength(1)

      // Every host refusing: one ConnectionError that names each with its reason.
      const err = await connect(hostList(down, down)).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConnectionError)
      expect((err as Error).message).toBe(
        `no host accepted the connection (127.0.0.1:${down.port}: the database system is shutting down; ` +
          `127.0.0.1:${down.port}: the database system is shutting down)`,
      )
      expect((err as Error).cause).toBeInstanceOf(CannotConnectNow)
    } finally {
      await down.close()
      await up.close()
    }
  })

  it('with a single host, the 57P03 error itself is thrown', async () => {
    const down = await refusing('57P03', 'the database system is starting up')
    try {
      const err = await connect(hostList(down)).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(CannotConnectNow)
      expect((err as DatabaseError).code).toBe('57P03')
    } finally {
      await down.close()
    }
  })

  it('any other refusal (here a failed login) is the answer: the next host is not tried', async () => {
    const refuses = await refusing('28P01', 'password authentication failed for user "u"')
    const up = await accepting()
    try {
      const err = await connect(hostList(refuses, up)).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(DatabaseError)
      expect((err as DatabaseError).code).toBe('28P01')
      expect(up.connections).toHaveLength(0)
    } finally {
      await refuses.close()
      await up.close()
    }
  })
})
