// The server goes away under load and comes back: on a private embedded
// server, since the shared one must stay up for every other test file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConnectionError, Pool, PoolTimeout, type PoolErrorSource } from '../../src/index.js'
import { startEmbedded, type EmbeddedServer } from '../support/embedded.js'

let server: EmbeddedServer

beforeAll(async () => {
  server = await startEmbedded({ major: 18 })
}, 60_000)
afterAll(async () => {
  await server?.stop()
})

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

function poolOptions() {
  const { host, port, database, roles } = server.info
  return { host, port, database, user: roles.scram.user, password: roles.scram.password, applicationName: 'pool_restart' }
}

describe('the server stops and starts again', () => {
  it('mid-load: every caller succeeds or gets PoolTimeout/ConnectionError, none hangs, the pool recovers', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    const errors: { err: Error; source: PoolErrorSource }[] = []
    const pool = new Pool(poolOptions(), {
      min: 2,
      max: 5,
      acquireTimeout: 1_500,
      backoff: { initialMs: 50, maxMs: 400 },
      onError: (err, source) => errors.push({ err, source }),
    })
    try {
      const outcomes = { ok: 0, timeout: 0, connection: 0, other: [] as unknown[] }
      let maxSize = 0
      let stopLoad = false
      const worker = async () => {
        while (!stopLoad) {
          try {
            await pool.query('select pg_sleep(0.005)')
            outcomes.ok++
          } catch (err) {
            if (err instanceof PoolTimeout) outcomes.timeout++
            else if (err instanceof ConnectionError) outcomes.connection++
            else outcomes.other.push(err)
          }
          maxSize = Math.max(maxSize, pool.stats().size)
        }
      }
      const workers = Array.from({ length: 40 }, worker)
      await sleep(300)
      const okBefore = outcomes.ok
      expect(okBefore).toBeGreaterThan(0)

      // Down for longer than acquireTimeout, so some callers must time out.
      await server.stopServer()
      const down = Date.now()
      await sleep(2_000)
      await server.startServer()
      const restarted = Date.now()
      await sleep(1_000)
      stopLoad = true
      // None hangs: every worker finishes its current call within acquireTimeout and a bit.
      const finished = await Promise.race([Promise.all(workers).then(() => true), sleep(10_000).then(() => false)])
      expect(finished).toBe(true)

      expect(outcomes.other).toEqual([])
      expect(outcomes.timeout).toBeGreaterThan(0)
      expect(outcomes.ok).toBeGreaterThan(okBefore) // it served again after the restart
      expect(maxSize).toBeLessThanOrEqual(5)
      expect(errors.length).toBeGreaterThan(0) // lost idle connections, refused connects
      expect(errors.every((e) => e.source === 'idle' || e.source === 'connect')).toBe(true)
      expect(restarted - down).toBeGreaterThanOrEqual(2_000)

      // Afterwards: queries work, nothing leaked.
      const r = await pool.query<{ n: number }>('select 1 as n')
      expect(r.rows[0]!.n).toBe(1)
      const s = pool.stats()
      expect(s.inUse).toBe(0)
      expect(s.waiting).toBe(0)
      expect(s.size).toBeLessThanOrEqual(5)
      await sleep(50) // a rejection would be reported on a later tick
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
      await pool.close({ timeout: 1_000 })
    }
  }, 30_000)

  it('while it is down: PoolTimeout names the connection error; after the restart the first query works', async () => {
    const pool = new Pool(poolOptions(), { max: 3, acquireTimeout: 400, backoff: { initialMs: 20, maxMs: 200 } })
    try {
      expect((await pool.query<{ n: number }>('select 1 as n')).rows[0]!.n).toBe(1)
      await server.stopServer()
      const err = await pool.query('select 1').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(PoolTimeout)
      // The idle connection was lost and the reconnects were refused: both are named.
      expect((err as Error).message).toMatch(/the pool cannot connect to the server: cannot connect to 127\.0\.0\.1:\d+: connect ECONNREFUSED/)
      expect((err as Error).cause).toBeInstanceOf(ConnectionError)
      await server.startServer()
      const r = await pool.query<{ n: number }>('select 2 as n', [], { acquireTimeout: 5_000 })
      expect(r.rows[0]!.n).toBe(2)
      expect(pool.stats().size).toBeLessThanOrEqual(3)
    } finally {
      await pool.close({ timeout: 1_000 })
    }
  }, 30_000)
})
