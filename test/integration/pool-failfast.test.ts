// A pool whose connects are refused for good (wrong password, no such
// database, auth method or TLS refused) hands the refusal to waiting callers
// at once; faults that heal (nothing listening, server starting up, too many
// connections) keep the backoff and end in PoolTimeout or a connection.
import net from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  ClientAuthenticationError,
  ConnectionError,
  DatabaseError,
  Pool,
  PoolTimeout,
  type Connection,
  type ConnectionOptions,
  type PoolErrorSource,
  type PoolOptions,
} from '../../src/index.js'
import { errorResponse } from '../support/backend-encoder.js'
import { startFakeServer } from '../support/fake-server.js'
import { connectAs, optionsFor, uniqueName, until } from './_util.js'

let admin: Connection
const pools: Pool[] = []

beforeAll(async () => {
  admin = await connectAs('superuser')
})
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close({ timeout: 1000 })))
})
afterAll(async () => {
  await admin?.close()
})

interface Made {
  pool: Pool
  errors: { err: Error; source: PoolErrorSource }[]
}

function makePool(connection: ConnectionOptions, options: PoolOptions = {}): Made {
  const errors: Made['errors'] = []
  const pool = new Pool(connection, { onError: (err, source) => errors.push({ err, source }), ...options })
  pools.push(pool)
  return { pool, errors }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))


async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  await new Promise<void>((r) => server.close(() => r()))
  return port
}

/** The error a query on `pool` rejects with. */
async function failure(pool: Pool): Promise<unknown> {
  return pool.query('select 1').then(
    () => new Error('the query unexpectedly succeeded'),
    (e: unknown) => e,
  )
}

describe('refused for good: waiting callers get the error at once', () => {
  it('wrong password: DatabaseError 28P01 after one connect attempt, not PoolTimeout', async () => {
    const { pool, errors } = makePool(optionsFor('scram', { password: 'not-the-password' }), { backoff: { initialMs: 5, maxMs: 10 } })
    const err = await failure(pool)
    expect(err).not.toBeInstanceOf(PoolTimeout)
    expect(err).toBeInstanceOf(DatabaseError)
    expect((err as DatabaseError).code).toBe('28P01')
    expect(errors.map((e) => [e.source, (e.err as DatabaseError).code])).toEqual([['connect', '28P01']])
    // With min 0 and nobody waiting, the backoff timer retries nothing by itself.
    await sleep(100)
    expect(errors).toHaveLength(1)
    expect(pool.stats()).toMatchObject({ opening: 0, waiting: 0, timeouts: 0, opened: 0 })
  })

  it('several callers at once all get the error; none waits for a timeout', async () => {
    const { pool, errors } = makePool(optionsFor('scram', { password: 'not-the-password' }), { max: 3 })
    const results = await Promise.all(Array.from({ length: 6 }, () => failure(pool)))
    for (const e of results) expect((e as DatabaseError).code).toBe('28P01')
    // One attempt per connection the pool opened for them, not one per caller.
    expect(errors.length).toBeGreaterThanOrEqual(1)
    expect(errors.length).toBeLessThanOrEqual(3)
    expect(pool.stats().timeouts).toBe(0)
  })

  it('the next acquire tries again: a password fixed on the server is picked up', async () => {
    const role = uniqueName('failfast')
    const password = 'pw-' + uniqueName('x')
    await admin.query(`create role ${role} login password 'something-else'`)
    try {
      const { pool, errors } = makePool(optionsFor('scram', { user: role, password }), { backoff: { initialMs: 5, maxMs: 10 } })
      expect((await failure(pool) as DatabaseError).code).toBe('28P01')
      await admin.query(`alter role ${role} password '${password}'`)
      expect((await pool.query<{ u: string }>('select current_user as u')).rows[0]!.u).toBe(role)
      expect(errors).toHaveLength(1)
      await pool.close()
    } finally {
      await admin.query(`drop role ${role}`)
    }
  })

  it('no such database: 3D000', async () => {
    const { pool, errors } = makePool(optionsFor('scram', { database: uniqueName('nodb') }))
    const err = await failure(pool)
    expect(err).toBeInstanceOf(DatabaseError)
    expect((err as DatabaseError).code).toBe('3D000')
    expect(errors).toHaveLength(1)
  })

  it('no such role: the server answers with class 28 (28P01 under password auth)', async () => {
    const { pool, errors } = makePool(optionsFor('scram', { user: uniqueName('norole') }))
    const err = await failure(pool)
    expect(err).toBeInstanceOf(DatabaseError)
    // A role that does not exist fails like a wrong password, so that roles cannot be probed.
    expect((err as DatabaseError).code).toBe('28P01')
    expect(errors).toHaveLength(1)
  })

  it('client-side auth refusals: no password given, requireAuth refusing the method', async () => {
    const none = makePool(optionsFor('scram', { password: '', passfile: '/nonexistent/pgpass' }))
    const e1 = await failure(none.pool)
    expect(e1).toBeInstanceOf(ClientAuthenticationError)
    expect((e1 as Error).message).toMatch(/no password was given/)
    expect(none.errors).toHaveLength(1)

    const refused = makePool(optionsFor('md5', { requireAuth: 'scram-sha-256' }))
    const e2 = await failure(refused.pool)
    expect(e2).toBeInstanceOf(ClientAuthenticationError)
    expect(refused.errors).toHaveLength(1)
  })

  it('TLS required but the server does not offer it', async () => {
    const { pool, errors } = makePool(optionsFor('scram', { tls: 'require' }))
    const err = await failure(pool)
    expect(err).toBeInstanceOf(ConnectionError)
    expect((err as Error).message).toMatch(/does not accept TLS/)
    expect(errors).toHaveLength(1)
  })

  it('min refills keep backing off in the background and report every failure to onError', async () => {
    const { pool, errors } = makePool(optionsFor('scram', { password: 'not-the-password' }), { min: 2, backoff: { initialMs: 5, maxMs: 20 } })
    await until('three reported failures', () => errors.length >= 3)
    expect(errors.every((e) => e.source === 'connect' && (e.err as DatabaseError).code === '28P01')).toBe(true)
    expect(pool.stats().opening).toBeLessThanOrEqual(2)
    // A caller meanwhile gets the refusal, not a timeout.
    expect((await failure(pool) as DatabaseError).code).toBe('28P01')
  })
})

describe('faults that heal keep the backoff', () => {
  it('nothing listening: PoolTimeout naming the connection error, after several attempts', async () => {
    const port = await freePort()
    const { pool, errors } = makePool({ ...optionsFor(), port }, { acquireTimeout: 300, backoff: { maxMs: 30 } })
    const err = await failure(pool)
    expect(err).toBeInstanceOf(PoolTimeout)
    expect((err as PoolTimeout).cause).toBeInstanceOf(ConnectionError)
    expect(errors.length).toBeGreaterThan(1)
  })

  it.each([
    ['57P03', 'the database system is starting up'],
    ['53300', 'sorry, too many clients already'],
  ])('%s at startup is retried until the server lets the connection in', async (code, message) => {
    const server = await startFakeServer(async (conn) => {
      if (conn.index < 2) {
        await conn.readStartup() // no TLS asked: tls 'disable' below
        await conn.send(errorResponse({ severity: 'FATAL', code, message }))
        return
      }
      await conn.handshake()
      await conn.expect('Terminate')
    })
    try {
      const { pool, errors } = makePool({ host: server.host, port: server.port, user: 'u', database: 'd', tls: 'disable' }, { backoff: { initialMs: 5, maxMs: 10 } })
      const lease = await pool.acquire()
      await lease.release()
      expect(errors.map((e) => (e.err as DatabaseError).code)).toEqual([code, code])
      await pool.close()
    } finally {
      await server.close()
    }
  })
})
