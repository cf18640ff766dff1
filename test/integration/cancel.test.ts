import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { QueryCanceled, TimeoutError, type Connection } from '../../src/index.js'
import { testServer } from '../support/env.js'
import { connectAs } from './_util.js'

let conn: Connection

beforeAll(async () => {
  conn = await connectAs('scram')
})
afterAll(async () => {
  await conn?.close()
})

async function waitRunning(c: Connection, watcher: Connection, pattern: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await watcher.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where pid = $1 and state = 'active' and query like $2",
      [c.processId, pattern],
    )
    if (r.rows[0]!.n > 0) return
    await new Promise((res) => setTimeout(res, 10))
  }
  throw new Error('query never started')
}

describe('cancellation', () => {
  it('cancels a running query on the server and rejects with QueryCanceled carrying the reason', async () => {
    const watcher = await connectAs('superuser')
    const ac = new AbortController()
    const started = Date.now()
    const running = conn.query('select pg_sleep(30)', [], { signal: ac.signal })
    await waitRunning(conn, watcher, 'select pg_sleep(30)%')
    const reason = new Error('user pressed stop')
    ac.abort(reason)
    const err = await running.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(QueryCanceled)
    expect((err as QueryCanceled).cause).toBe(reason)
    expect(Date.now() - started).toBeLessThan(25_000)
    expect((await conn.query('select 1 as ok')).rows[0]!.ok).toBe(1)
    await watcher.close()
  })

  it('removes a query aborted before it was sent without touching the server', async () => {
    const ac = new AbortController()
    ac.abort('early')
    const err = await conn.query('select 1', [], { signal: ac.signal }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(QueryCanceled)
    expect((err as Error).message).toMatch(/before it was sent/)
    expect((err as QueryCanceled).cause).toBe('early')
  })

  it('removes a queued query when aborted while an earlier one runs', async () => {
    const c = await connectAs('scram', { maxInFlight: 1 })
    await c.query('create temp table side_effects (v int)')
    const first = c.query('select pg_sleep(0.3) as s')
    const ac = new AbortController()
    const second = c.query('insert into side_effects values (1)', [], { signal: ac.signal })
    ac.abort()
    await expect(second).rejects.toBeInstanceOf(QueryCanceled)
    await first
    expect((await c.query('select count(*)::int as n from side_effects')).rows[0]!.n).toBe(0)
    await c.close()
  })

  it('applies a per-query timeout as a cancel with a TimeoutError cause', async () => {
    const err = await conn.query('select pg_sleep(10)', [], { timeout: 200 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(QueryCanceled)
    expect((err as QueryCanceled).cause).toBeInstanceOf(TimeoutError)
    expect(((err as QueryCanceled).cause as Error).message).toMatch(/200 ms/)
    expect((await conn.query('select 2 as ok')).rows[0]!.ok).toBe(2)
  })

  it('applies the connection default timeout and statement_timeout set at startup', async () => {
    const c = await connectAs('scram', { queryTimeout: 150 })
    await expect(c.query('select pg_sleep(5)')).rejects.toBeInstanceOf(QueryCanceled)
    await c.close()
    const s = await connectAs('scram', { statementTimeout: 100 })
    expect((await s.query('show statement_timeout')).rows[0]!.statement_timeout).toBe('100ms')
    const err = await s.query('select pg_sleep(5)').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(QueryCanceled)
    expect((err as QueryCanceled).message).toMatch(/statement timeout/)
    await s.close()
  })

  it('never lets a cancel that races the end of its query hit a later query', async () => {
    const c = await connectAs('scram')
    let canceled = 0
    for (let i = 0; i < 150; i++) {
      const ac = new AbortController()
      const q = c.query('select pg_sleep($1::float8) as s', [i % 3 === 0 ? 0.002 : 0], { signal: ac.signal })
      // Abort at varying points: before the write, right after, or after a few ms.
      if (i % 5 === 0) ac.abort()
      else setTimeout(() => ac.abort(), i % 4)
      await q.then(
        () => undefined,
        (e: unknown) => {
          expect(e).toBeInstanceOf(QueryCanceled)
          canceled++
        },
      )
      // The next query must never be the victim.
      const r = await c.query<{ i: number }>('select $1::int as i, pg_sleep(0.001)', [i])
      expect(r.rows[0]!.i).toBe(i)
    }
    expect(canceled).toBeGreaterThan(0)
    await c.close()
  }, 60_000)
})

/** The secret key length of the connection's cancel key (internal, for these tests only). */
const keyLength = (c: Connection): number | undefined => (c as unknown as { session: { secretKey?: Uint8Array } }).session.secretKey?.length

describe('cancellation keys by protocol version', () => {
  it('uses a 4-byte key with the default protocol 3.0', async () => {
    expect(conn.protocolVersion).toBe('3.0')
    expect(keyLength(conn)).toBe(4)
  })

  it.skipIf(testServer().major < 18)('cancels with the long key of protocol 3.2 when asked for it', async () => {
    const c = await connectAs('scram', { protocolVersion: '3.2' })
    const watcher = await connectAs('superuser')
    try {
      expect(c.protocolVersion).toBe('3.2')
      expect(keyLength(c)).toBeGreaterThan(4)
      const ac = new AbortController()
      const running = c.query('select pg_sleep(30)', [], { signal: ac.signal })
      await waitRunning(c, watcher, 'select pg_sleep(30)%')
      ac.abort()
      await expect(running).rejects.toBeInstanceOf(QueryCanceled)
      const timedOut = await c.query('select pg_sleep(10)', [], { timeout: 150 }).catch((e: unknown) => e)
      expect(timedOut).toBeInstanceOf(QueryCanceled)
      expect((await c.query('select 1 as ok')).rows[0]!.ok).toBe(1)
    } finally {
      await watcher.close()
      await c.close()
    }
  })
})
