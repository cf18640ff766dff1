// The built-in pool against the real test server. Every pool gets its own
// application_name, so pg_stat_activity shows exactly its connections.
import { spawn } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  ConnectionError,
  ConnectionLeak,
  InterfaceError,
  Pool,
  PoolClosed,
  PoolError,
  PoolExhausted,
  PoolTimeout,
  type Connection,
  type PoolErrorSource,
  type PoolOptions,
} from '../../src/index.js'
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
  app: string
  errors: { err: Error; source: PoolErrorSource }[]
}

function makePool(options: PoolOptions = {}): Made {
  const app = uniqueName('pool')
  const errors: Made['errors'] = []
  const pool = new Pool(optionsFor('scram', { applicationName: app }), {
    onError: (err, source) => errors.push({ err, source }),
    ...options,
  })
  pools.push(pool)
  return { pool, app, errors }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

async function backends(app: string): Promise<number[]> {
  const r = await admin.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1 order by pid', [app])
  return r.rows.map((x) => x.pid)
}

describe('pool basics', () => {
  it('runs queries, lends connections and transactions, and counts', async () => {
    const { pool } = makePool({ max: 3 })
    const r = await pool.query<{ n: number }>('select $1::int + 1 as n', [41])
    expect(r.rows[0]!.n).toBe(42)
    const status = await pool.connection(async (c) => {
      await c.query('select 1')
      return c.transactionStatus
    })
    expect(status).toBe('I')
    const inTx = await pool.transaction(async (tx) => (await tx.query<{ s: string }>("select current_setting('transaction_isolation') as s")).rows[0]!.s, {
      isolation: 'serializable',
    })
    expect(inTx).toBe('serializable')
    {
      await using lease = await pool.acquire()
      expect((await lease.query<{ n: number }>('select 7 as n')).rows[0]!.n).toBe(7)
      expect(pool.stats().inUse).toBe(1)
    }
    const s = pool.stats()
    expect(s).toMatchObject({ max: 3, min: 0, inUse: 0, waiting: 0, acquiredTotal: 4, timeouts: 0, errors: 0 })
    expect(s.size).toBe(s.idle)
    expect(s.opened).toBeGreaterThanOrEqual(1)
    expect(s.opened).toBeLessThanOrEqual(3)
  })

  it('a released lease refuses further use', async () => {
    const { pool } = makePool({ max: 1 })
    const lease = await pool.acquire()
    await lease.release()
    await lease.release() // twice is harmless
    expect(() => lease.connection).toThrow(InterfaceError)
    await expect(lease.query('select 1')).rejects.toBeInstanceOf(InterfaceError)
  })

  it('rejects bad sizes', () => {
    expect(() => new Pool(optionsFor(), { min: 5, max: 2 })).toThrow(InterfaceError)
    expect(() => new Pool(optionsFor(), { max: 0 })).toThrow(InterfaceError)
    expect(() => new Pool(optionsFor(), { min: -1 })).toThrow(InterfaceError)
  })
})

describe('bounds and waiting', () => {
  it('1,000 concurrent callers on max 10 all succeed, never more than 10 server sessions', async () => {
    const { pool, app } = makePool({ max: 10 })
    let running = true
    let peak = 0
    let samples = 0
    const sampler = (async () => {
      while (running) {
        peak = Math.max(peak, (await backends(app)).length)
        samples++
      }
    })()
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => pool.query<{ n: number }>('select $1::int as n, pg_sleep(0.002)', [i])),
    )
    running = false
    await sampler
    expect(results.map((r) => r.rows[0]!.n)).toEqual(Array.from({ length: 1000 }, (_, i) => i))
    expect(samples).toBeGreaterThan(5)
    expect(peak).toBeGreaterThan(1)
    expect(peak).toBeLessThanOrEqual(10)
    const s = pool.stats()
    expect(s.acquiredTotal).toBe(1000)
    expect(s.size).toBeLessThanOrEqual(10)
    expect(s.opened).toBeLessThanOrEqual(10)
    expect(s.waitTimeMsTotal).toBeGreaterThan(0)
    expect(s.waitTimeMsAverage).toBeCloseTo(s.waitTimeMsTotal / 1000)
  })

  it('serves waiters first come, first served', async () => {
    const { pool } = makePool({ max: 1 })
    const held = await pool.acquire()
    const order: number[] = []
    const waiters = Array.from({ length: 20 }, (_, i) =>
      pool.connection(async (c) => {
        order.push(i)
        await c.query('select 1')
      }),
    )
    await until('all 20 wait', () => pool.stats().waiting === 20)
    await held.release()
    await Promise.all(waiters)
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i))
  })

  it('acquireTimeout rejects with PoolTimeout, and the connection that arrives late goes idle', async () => {
    // Opening is slowed by configure, so the caller gives up before it arrives.
    const { pool } = makePool({ max: 2, acquireTimeout: 100, configure: () => sleep(400) })
    const t0 = Date.now()
    const err = await pool.acquire().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PoolTimeout)
    expect((err as PoolTimeout).waitedMs).toBeGreaterThanOrEqual(95)
    expect((err as Error).message).toMatch(/timed out after 100 ms waiting for a connection \(max 2: 0 in use, 0 idle, 1 opening/)
    expect(Date.now() - t0).toBeLessThan(400)
    await until('the late connection is idle', () => pool.stats().idle === 1)
    expect(pool.stats()).toMatchObject({ size: 1, idle: 1, inUse: 0, waiting: 0, timeouts: 1 })
    const lease = await pool.acquire() // at once, from the idle set
    expect(pool.stats().opened).toBe(1)
    await lease.release()
  })

  it('acquireTimeout when every connection is held', async () => {
    const { pool } = makePool({ max: 1 })
    const held = await pool.acquire()
    await expect(pool.acquire({ timeout: 50 })).rejects.toThrow(/timed out after 50 ms waiting for a connection \(max 1: 1 in use/)
    await held.release()
    expect(pool.stats()).toMatchObject({ timeouts: 1, waiting: 0, idle: 1 })
  })

  it('maxWaiting refuses the caller past the queue limit with PoolExhausted', async () => {
    const { pool } = makePool({ max: 1, maxWaiting: 2 })
    const held = await pool.acquire()
    const a = pool.query('select 1')
    const b = pool.query('select 2')
    await until('two wait', () => pool.stats().waiting === 2)
    await expect(pool.query('select 3')).rejects.toBeInstanceOf(PoolExhausted)
    await expect(pool.acquire()).rejects.toThrow(/2 already wait \(maxWaiting 2/)
    await held.release()
    await Promise.all([a, b])
    expect(pool.stats()).toMatchObject({ exhausted: 2, acquiredTotal: 3 })
  })

  it('an aborted acquire stops waiting', async () => {
    const { pool } = makePool({ max: 1 })
    const held = await pool.acquire()
    const ac = new AbortController()
    const p = pool.acquire({ signal: ac.signal })
    await until('it waits', () => pool.stats().waiting === 1)
    ac.abort(new Error('no longer needed'))
    const err = await p.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PoolError)
    expect((err as Error).cause).toMatchObject({ message: 'no longer needed' })
    expect(pool.stats().waiting).toBe(0)
    await held.release()
  })

  it('resize grows and shrinks', async () => {
    const { pool, app } = makePool({ max: 2 })
    pool.resize(4, 6)
    await until('4 open', () => pool.stats().idle === 4)
    expect(await backends(app)).toHaveLength(4)
    const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()])
    pool.resize(0, 1)
    expect(pool.stats().idle).toBe(0) // the idle one closed at once
    await Promise.all(leases.map((l) => l.release()))
    await until('1 left', async () => pool.stats().size === 1 && (await backends(app)).length === 1)
    expect(() => pool.resize(3, 2)).toThrow(InterfaceError)
  })
})

describe('returned connections', () => {
  it('rolls back a transaction left open, and keeps the connection', async () => {
    const { pool } = makePool({ max: 1 })
    const pid1 = await pool.connection(async (c) => {
      await c.query('begin')
      await c.query('create temp table pool_left_open (x int)')
      expect(c.transactionStatus).toBe('T')
      return c.processId
    })
    const { status, pid2, exists } = await pool.connection(async (c) => ({
      status: c.transactionStatus,
      pid2: c.processId,
      exists: (await c.query<{ t: string | null }>("select to_regclass('pg_temp.pool_left_open')::text as t")).rows[0]!.t,
    }))
    expect(status).toBe('I')
    expect(pid2).toBe(pid1)
    expect(exists).toBeNull()
  })

  it('rolls back a failed transaction', async () => {
    const { pool } = makePool({ max: 1 })
    await pool.connection(async (c) => {
      await c.query('begin')
      await expect(c.query('select 1/0')).rejects.toThrow(/division by zero/)
      expect(c.transactionStatus).toBe('E')
    })
    expect(await pool.connection(async (c) => c.transactionStatus)).toBe('I')
    expect(pool.stats()).toMatchObject({ opened: 1, closed: 0, errors: 0 })
  })

  it('drops a connection the caller closed, or asked to discard', async () => {
    const { pool } = makePool({ max: 1 })
    await pool.connection((c) => c.close())
    expect(pool.stats()).toMatchObject({ size: 0, closed: 1 })
    const lease = await pool.acquire()
    await lease.release({ discard: true })
    expect(pool.stats()).toMatchObject({ closed: 2 })
    expect((await pool.query<{ n: number }>('select 1 as n')).rows[0]!.n).toBe(1)
  })

  it('reset runs on release; DISCARD ALL leaves the statement cache consistent', async () => {
    const { pool, errors } = makePool({ max: 1, reset: async (c) => void (await c.simpleQuery('discard all')) })
    const sql = 'select $1::int * 2 as n, current_setting($2, true) as v'
    await pool.connection(async (c) => {
      await c.query("set application_name = 'changed_by_caller'")
      await c.query(sql, [1, 'application_name'])
      await c.query(sql, [2, 'application_name']) // now a cached prepared statement
    })
    const r = await pool.query<{ n: number; v: string }>(sql, [3, 'application_name'])
    expect(r.rows[0]!.n).toBe(6)
    expect(r.rows[0]!.v).not.toBe('changed_by_caller')
    expect((await pool.query<{ n: number }>(sql, [4, 'application_name'])).rows[0]!.n).toBe(8)
    expect(errors).toEqual([])
    expect(pool.stats().opened).toBe(1)
  })

  it('a failing reset drops the connection and tells onError', async () => {
    const { pool, errors } = makePool({ max: 1, reset: async () => { throw new Error('reset broke') } })
    await pool.query('select 1')
    expect(pool.stats()).toMatchObject({ idle: 0, inUse: 0, closed: 1 })
    await until('it is closed', () => pool.stats().size === 0) // size counts it while it closes
    expect(errors.map((e) => [e.source, e.err.message])).toEqual([['reset', 'reset broke']])
  })

  it('check runs on acquire; a failing check swaps the connection', async () => {
    let fail = 1
    const { pool, errors } = makePool({
      max: 2,
      check: async (c) => {
        await Pool.ping(c)
        if (fail-- > 0) throw new Error('check failed')
      },
    })
    await pool.query('select 1') // the first connection fails its check; the caller gets the next one
    expect(errors.map((e) => [e.source, e.err.message])).toEqual([['check', 'check failed']])
    expect(pool.stats()).toMatchObject({ opened: 2, closed: 1, acquiredTotal: 1 })
  })
})

describe('lost connections', () => {
  it('idle connections terminated by the server are replaced and reported', async () => {
    const { pool, app, errors } = makePool({ min: 3, max: 5 })
    await until('3 idle', () => pool.stats().idle === 3)
    const before = await backends(app)
    expect(before).toHaveLength(3)
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [app])
    await until('3 reported', () => errors.length === 3)
    expect(errors.every((e) => e.source === 'idle' && e.err.message.includes('terminating connection'))).toBe(true)
    await until('3 new ones', async () => pool.stats().idle === 3 && (await backends(app)).length === 3)
    const after = await backends(app)
    expect(after.some((p) => before.includes(p))).toBe(false)
    expect((await pool.query<{ n: number }>('select 1 as n')).rows[0]!.n).toBe(1)
    expect(pool.stats()).toMatchObject({ size: 3, closed: 3, errors: 3 })
  })

  it('a busy connection terminated by the server: that caller gets ConnectionError, the pool recovers', async () => {
    const { pool, app, errors } = makePool({ max: 2 })
    const victim = pool.query('select pg_sleep(30)')
    const settled = victim.catch((e: unknown) => e)
    await until('the sleep runs', async () => {
      const r = await admin.query("select 1 from pg_stat_activity where application_name = $1 and query like 'select pg_sleep%'", [app])
      return r.rows.length === 1
    })
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [app])
    const err = await settled
    expect(err).toBeInstanceOf(ConnectionError)
    expect((err as ConnectionError).retrySafe).toBe(false)
    expect(errors).toEqual([]) // the caller heard about it; nothing else to report
    expect((await pool.query<{ n: number }>('select 2 as n')).rows[0]!.n).toBe(2)
    expect(pool.stats()).toMatchObject({ inUse: 0, size: 1, closed: 1 })
  })

  it('an unreachable server: callers get PoolTimeout naming the connection error', async () => {
    const port = await freePort()
    const errors: { err: Error; source: PoolErrorSource }[] = []
    const pool = new Pool({ ...optionsFor(), port }, { min: 2, acquireTimeout: 300, backoff: { maxMs: 50 }, onError: (err, source) => errors.push({ err, source }) })
    pools.push(pool)
    const results = await Promise.allSettled([pool.query('select 1'), pool.query('select 2')])
    for (const r of results) {
      expect(r.status).toBe('rejected')
      const e = (r as PromiseRejectedResult).reason as PoolTimeout
      expect(e).toBeInstanceOf(PoolTimeout)
      expect(e.message).toMatch(/the pool cannot connect to the server: cannot connect to 127\.0\.0\.1:\d+: connect ECONNREFUSED/)
      expect(e.cause).toBeInstanceOf(ConnectionError)
    }
    expect(errors.length).toBeGreaterThan(1)
    expect(errors.every((e) => e.source === 'connect' && e.err instanceof ConnectionError)).toBe(true)
    // The pool keeps trying for min: 2, so a connect may be under way ('opening'),
    // but no connection ever existed.
    expect(pool.stats()).toMatchObject({ idle: 0, inUse: 0, opened: 0, timeouts: 2 })
  })
})

describe('leaks, lifetime, idle', () => {
  it('reports a connection held past leakTimeout with the stack of its acquire, and leaves it alone', async () => {
    const { pool, errors } = makePool({ max: 1, leakTimeout: 100 })
    async function holdsTheConnection() {
      return pool.acquire()
    }
    const lease = await holdsTheConnection()
    await until('the leak is reported', () => errors.length === 1, 2_000)
    const { err, source } = errors[0]!
    expect(source).toBe('leak')
    expect(err).toBeInstanceOf(ConnectionLeak)
    expect(err.stack).toContain('holdsTheConnection')
    expect((err as ConnectionLeak).processId).toBe(lease.connection.processId)
    expect((err as ConnectionLeak).heldMs).toBeGreaterThanOrEqual(95)
    expect((await lease.query<{ n: number }>('select 1 as n')).rows[0]!.n).toBe(1)
    await lease.release()
    // A connection returned in time is not reported.
    await pool.query('select 1')
    await sleep(150)
    expect(errors).toHaveLength(1)
    expect(pool.stats().leaks).toBe(1)
  })

  it('maxLifetime rotates connections, never one in use', async () => {
    const { pool } = makePool({ min: 2, max: 2, maxLifetime: 150 })
    const held = await pool.acquire()
    const heldPid = held.connection.processId
    const pids = new Set<number>()
    for (const end = Date.now() + 700; Date.now() < end; ) {
      pids.add((await pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid)
      await sleep(20)
    }
    expect(pids.size).toBeGreaterThanOrEqual(3)
    // Long past its lifetime, but in use: still open and working.
    expect(held.connection.closed).toBe(false)
    expect((await held.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid).toBe(heldPid)
    const closedBefore = pool.stats().closed
    await held.release() // expired: closed on return
    expect(pool.stats().closed).toBe(closedBefore + 1)
    expect(pool.stats().size).toBeLessThanOrEqual(2)
  })

  it('maxIdle shrinks the pool back to min', async () => {
    const { pool, app } = makePool({ min: 1, max: 4, maxIdle: 150 })
    const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire(), pool.acquire()])
    await Promise.all(leases.map((l) => l.release()))
    expect(pool.stats().idle).toBe(4)
    await until('back to 1', async () => pool.stats().size === 1 && (await backends(app)).length === 1, 3_000)
    expect(pool.stats().idle).toBe(1)
  })
})

describe('close', () => {
  it('waits for a running query, refuses new callers with PoolClosed', async () => {
    const { pool } = makePool({ max: 2 })
    const running = pool.query<{ n: number }>('select 5 as n, pg_sleep(0.4)')
    await until('it runs', () => pool.stats().inUse === 1)
    const waiting = pool.acquire() // waits for a connection, then is told the pool closed
    const t0 = Date.now()
    const closing = pool.close({ timeout: 5_000 })
    await expect(pool.query('select 1')).rejects.toBeInstanceOf(PoolClosed)
    await expect(pool.acquire()).rejects.toThrow(/the pool is closing/)
    await expect(waiting).rejects.toBeInstanceOf(PoolClosed)
    expect((await running).rows[0]!.n).toBe(5)
    await closing
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
    expect(Date.now() - t0).toBeLessThan(3_000)
    await expect(pool.acquire()).rejects.toThrow(/the pool is closed/)
    expect(pool.stats()).toMatchObject({ size: 0, inUse: 0, idle: 0 })
    expect(pool.closed).toBe(true)
  })

  it('after the timeout, closes connections still checked out', async () => {
    const { pool, app } = makePool({ max: 2, min: 2 })
    const lease = await pool.acquire()
    const t0 = Date.now()
    await pool.close({ timeout: 150 })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
    expect(Date.now() - t0).toBeLessThan(2_000)
    await until('no sessions left', async () => (await backends(app)).length === 0)
    await expect(lease.query('select 1')).rejects.toBeInstanceOf(InterfaceError) // the connection is closed
    await lease.release() // harmless
    expect(pool.stats().size).toBe(0)
  })

  it('a caller whose connection is being checked when close() starts gets PoolClosed', async () => {
    const { pool } = makePool({ max: 1, check: () => sleep(200) })
    const p = pool.acquire()
    await until('the check runs', () => pool.stats().opened === 1 && pool.stats().inUse === 1)
    await pool.close({ timeout: 0 })
    await expect(p).rejects.toBeInstanceOf(PoolClosed)
    await until('its connection closed', () => pool.stats().size === 0)
  })

  it('an idle pool does not keep the process alive', async () => {
    const here = path.dirname(fileURLToPath(import.meta.url))
    const script = `
      import { Pool } from ${JSON.stringify(path.join(here, '../../src/index.ts'))}
      const pool = new Pool(${JSON.stringify(optionsFor())}, { min: 2, maxLifetime: 60000, maxIdle: 60000, leakTimeout: 60000 })
      await pool.query('select 1')
      while (pool.stats().idle < 2) await new Promise((r) => setTimeout(r, 10))
      console.log('idle', pool.stats().idle)
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.join(here, '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (b: Buffer) => (out += b.toString()))
    child.stderr.on('data', (b: Buffer) => (out += b.toString()))
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        resolve(-1)
      }, 15_000)
      child.on('exit', (c) => {
        clearTimeout(timer)
        resolve(c)
      })
    })
    expect(out).toContain('idle 2')
    expect(code).toBe(0)
  }, 20_000)
})

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}
