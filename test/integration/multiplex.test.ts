// A multiplexing pool against the real server: many callers' statements on
// a few shared connections, each statement's error, timeout and result its
// own; statements that would change session state refused; a connection of
// one's own (transaction, acquire) still to be had; a lost connection fails
// only what was in flight on it; thousands of callers held by the queue.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConnectionError, MultiplexingRefused, Pool, PoolExhausted, PoolTimeout, QueryCanceled } from '../../src/index.js'
import { sessionChange } from '../../src/pool/multiplex.js'
import { optionsFor, runScript, SRC_URL, uniqueName } from './_util.js'

const T = uniqueName('mux')
let pool: Pool

beforeAll(async () => {
  pool = new Pool(optionsFor('scram'), { max: 3, multiplexing: true, multiplexingDepth: 50 })
  await pool.query(`create table ${T} (id int primary key, v text)`)
})

afterAll(async () => {
  await pool?.query(`drop table if exists ${T}`)
  await pool?.close()
})

/** The server processes behind a set of results (each query reports its backend's pid). */
const pids = (rows: { pid: number }[][]): Set<number> => new Set(rows.flat().map((r) => r.pid))

describe('multiplexing', () => {
  it('1000 callers at once on at most 3 connections, each gets its own result', async () => {
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => pool.query<{ n: number; pid: number }>('select $1::int as n, pg_backend_pid() as pid', [i])))
    expect(results.map((r) => r.rows[0]!.n)).toEqual(Array.from({ length: 1000 }, (_, i) => i))
    const used = pids(results.map((r) => r.rows))
    expect(used.size).toBeGreaterThanOrEqual(1)
    expect(used.size).toBeLessThanOrEqual(3)
    expect(pool.stats().size).toBeLessThanOrEqual(3)
    // While statements are in flight, stats() shows the sharing; once they are done, nothing is shared or waiting.
    const during = Promise.all(Array.from({ length: 300 }, (_, i) => pool.query('select $1::int as n', [i])))
    const busy = pool.stats()
    expect(busy.multiplexed!.inFlight + busy.multiplexed!.waiting).toBeGreaterThan(0)
    expect(busy.waiting).toBe(0)
    await during
    await new Promise((r) => setTimeout(r, 20))
    expect(pool.stats().multiplexed).toEqual({ shared: 0, inFlight: 0, waiting: 0 })
  })

  it("one statement's error touches no other caller's, nor the connection", async () => {
    const out = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => pool.query(i === 77 ? 'select 1/0' : 'select $1::int as n', i === 77 ? [] : [i])))
    expect(out.filter((r) => r.status === 'rejected')).toHaveLength(1)
    expect((out[77] as PromiseRejectedResult).reason).toMatchObject({ code: '22012' })
    expect(out.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ rows: Record<string, unknown>[] }>).value.rows[0]!.n)).toEqual(Array.from({ length: 200 }, (_, i) => i).filter((i) => i !== 77))
  })

  it("a timeout cancels its own statement only; the others on the same connection finish", async () => {
    const slow = pool.query('select pg_sleep(1)', [], { timeout: 200 })
    const others = Array.from({ length: 20 }, (_, i) => pool.query('select $1::int as n, pg_sleep(0.01)', [i]))
    await expect(slow).rejects.toBeInstanceOf(QueryCanceled)
    const done = await Promise.all(others)
    expect(done.map((r) => r.rows[0]!.n)).toEqual(Array.from({ length: 20 }, (_, i) => i))
  })

  it("a timeout with others' statements pipelined behind it abandons its own, and cancels none of theirs", async () => {
    const p = new Pool(optionsFor('scram'), { max: 1, multiplexing: true })
    try {
      // Warm the statement cache, so the three are really written back to back.
      await p.query('select pg_sleep($1)', [0])
      await p.query('select 1 as b')
      const a = p.query('select pg_sleep($1)', [0.3])
      const b = p.query('select 1 as b', [], { timeout: 50 })
      const c = p.query('select pg_sleep($1)', [0.3])
      const out = await Promise.allSettled([a, b, c])
      expect(out[0]!.status).toBe('fulfilled')
      expect(out[2]!.status).toBe('fulfilled')
      expect((out[1] as PromiseRejectedResult).reason).toMatchObject({ code: '57014', message: expect.stringMatching(/abandoned/) })
      // The connection is fine afterwards.
      expect((await p.query('select 2 as n')).rows).toEqual([{ n: 2 }])
    } finally {
      await p.close()
    }
  })

  it('statements that change session state are refused, naming pool.connection()', async () => {
    for (const sql of ['begin', 'BEGIN ISOLATION LEVEL SERIALIZABLE', ' /* x */ set search_path = x', 'listen ch', 'create temp table t (x int)', 'CREATE LOCAL TEMPORARY TABLE t (x int)', 'prepare p as select 1', 'discard all', 'declare c cursor for select 1', 'lock table t', 'copy t from stdin', 'commit', 'reset all']) {
      await expect(pool.query(sql), sql).rejects.toBeInstanceOf(MultiplexingRefused)
    }
    await expect(pool.query('set x = 1')).rejects.toThrow(/pool\.connection\(\)/)
    expect(sessionChange('select 1')).toBeUndefined()
    expect(sessionChange('with x as (select 1) select * from x')).toBeUndefined()
    expect(sessionChange('create table t (x int)')).toBeUndefined()
    expect(sessionChange('-- comment\nupdate t set x = 1')).toBeUndefined()
    expect(sessionChange('/* a /* nested */ comment */ begin')).toBeDefined()
    for (const sql of [';begin', '\vbegin', 'create or replace temp view v as select 1', 'create temporary sequence s', 'select 1 into temp t', 'create table pg_temp.t (x int)']) {
      expect(sessionChange(sql), sql).toBeDefined()
    }
    // Seen by name only, so these pass (README: keep them on a connection of your own).
    // Words inside strings, quoted names and comments are not SQL.
    for (const sql of ["select 'moved into temp storage'", 'select 1 as "into temp x"', 'select 1 -- into temp t', "select $q$ pg_temp.x $q$"]) {
      expect(sessionChange(sql), sql).toBeUndefined()
    }
    for (const sql of ["do $$ begin set search_path = x; end $$", "select set_config('search_path', 'x', false)", 'select pg_advisory_lock(1)', 'select 1 into t2']) {
      expect(sessionChange(sql), sql).toBeUndefined()
    }
  })

  it('a connection of its own is still to be had: a transaction while others multiplex, and its writes seen after commit', async () => {
    const load = Array.from({ length: 300 }, (_, i) => pool.query('select $1::int as n', [i]))
    const tx = pool.transaction(async (t) => {
      await t.query(`insert into ${T} values (1, 'a')`)
      const inside = await t.query(`select count(*)::int as n from ${T}`)
      return inside.rows[0]!.n
    })
    expect(await tx).toBe(1)
    expect((await Promise.all(load)).length).toBe(300)
    expect((await pool.query(`select v from ${T} where id = 1`)).rows).toEqual([{ v: 'a' }])
    await pool.connection(async (c) => {
      await c.query('set application_name = mine')
    })
    // A caller's second statement, issued after the first resolved, sees the first's effect.
    await pool.query(`update ${T} set v = 'b' where id = 1`)
    expect((await pool.query(`select v from ${T} where id = 1`)).rows).toEqual([{ v: 'b' }])
  })

  it('a lost connection fails only what was in flight on it; the pool goes on', async () => {
    const victim = (await pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid
    const admin = new Pool(optionsFor('superuser'), { max: 1 })
    try {
      const inflight = Array.from({ length: 60 }, (_, i) => pool.query<{ pid: number; n: number }>('select pg_backend_pid() as pid, $1::int as n, pg_sleep(0.2)', [i]))
      // Observed from the start: they fail while the terminate is awaited.
      const settled = Promise.allSettled(inflight)
      await new Promise((r) => setTimeout(r, 50))
      await admin.query('select pg_terminate_backend($1)', [victim])
      const out = await settled
      for (const r of out) {
        if (r.status === 'rejected') expect(r.reason).toSatisfy((e: unknown) => e instanceof ConnectionError || (e as { code?: string }).code === '57P01')
        else expect(r.value.rows[0]!.pid).not.toBe(victim)
      }
    } finally {
      await admin.close()
    }
    const after = await Promise.all(Array.from({ length: 50 }, (_, i) => pool.query('select $1::int as n', [i])))
    expect(after.map((r) => r.rows[0]!.n)).toEqual(Array.from({ length: 50 }, (_, i) => i))
  })

  it('backpressure: 5000 callers on one connection of depth 10 wait in the queue; maxWaiting refuses past it', async () => {
    const small = new Pool(optionsFor('scram'), { max: 1, multiplexing: true, multiplexingDepth: 10 })
    try {
      const all = await Promise.all(Array.from({ length: 5000 }, (_, i) => small.query('select $1::int as n', [i])))
      expect(all[4999]!.rows[0]!.n).toBe(4999)
    } finally {
      await small.close()
    }
    const bounded = new Pool(optionsFor('scram'), { max: 1, multiplexing: true, multiplexingDepth: 2, maxWaiting: 5 })
    try {
      const out = await Promise.allSettled(Array.from({ length: 20 }, () => bounded.query('select pg_sleep(0.05)')))
      // Before the first connection is open every statement waits: five do, the rest are refused at once.
      expect(out.filter((r) => r.status === 'rejected' && r.reason instanceof PoolExhausted)).toHaveLength(15)
      expect(out.filter((r) => r.status === 'fulfilled')).toHaveLength(5)
    } finally {
      await bounded.close()
    }
  })

  it('close(): statements already sent finish, those still waiting for room and later ones are refused', async () => {
    const p = new Pool(optionsFor('scram'), { max: 1, multiplexing: true, multiplexingDepth: 10 })
    const calls = Array.from({ length: 30 }, (_, i) => p.query('select $1::int as n, pg_sleep(0.3)', [i]))
    // Long enough for the connection to open and take the first ten.
    await new Promise((r) => setTimeout(r, 150))
    const closing = p.close()
    await expect(p.query('select 1')).rejects.toThrow(/closing|closed/)
    const out = await Promise.allSettled(calls)
    await closing
    expect(out.slice(0, 10).every((r) => r.status === 'fulfilled')).toBe(true)
    expect(out.slice(10).every((r) => r.status === 'rejected' && /closing|closed/.test(String(r.reason)))).toBe(true)
    expect(p.stats().size).toBe(0)
  })

  it("a statement waiting for room honours its signal and its own acquireTimeout; what runs is untouched", async () => {
    const p = new Pool(optionsFor('scram'), { max: 1, multiplexing: true, multiplexingDepth: 1 })
    try {
      const first = p.query('select pg_sleep(0.3) as s')
      const ac = new AbortController()
      const aborted = p.query('select 1', [], { signal: ac.signal })
      const timedOut = p.query('select 2', [], { acquireTimeout: 50 })
      const patient = p.query('select 3 as n')
      ac.abort(new Error('gave up'))
      await expect(aborted).rejects.toMatchObject({ name: 'PoolError', message: 'acquire aborted', cause: { message: 'gave up' } })
      await expect(timedOut).rejects.toBeInstanceOf(PoolTimeout)
      expect((await first).rows).toHaveLength(1)
      expect((await patient).rows).toEqual([{ n: 3 }])
    } finally {
      await p.close()
    }
  })

  it('lanes: a lost one with statements in flight goes back once they failed; one held past maxLifetime is retired; leaks are not reported for them', async () => {
    const errors: string[] = []
    const p = new Pool(optionsFor('scram'), { max: 1, multiplexing: true, maxLifetime: 300, leakTimeout: 200, onError: (e, source) => errors.push(source) })
    const admin = new Pool(optionsFor('superuser'), { max: 1 })
    try {
      const pid = (await p.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid
      const inflight = Promise.allSettled(Array.from({ length: 5 }, () => p.query('select pg_sleep(0.5)')))
      await new Promise((r) => setTimeout(r, 100))
      await admin.query('select pg_terminate_backend($1)', [pid])
      expect((await inflight).every((r) => r.status === 'rejected')).toBe(true)
      expect((await p.query('select 1 as n')).rows).toEqual([{ n: 1 }])
      // Constant load for longer than maxLifetime: the shared connection is replaced.
      const pids = new Set<number>()
      let stop = false
      const workers = Array.from({ length: 10 }, async () => {
        while (!stop) pids.add((await p.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid)
      })
      await new Promise((r) => setTimeout(r, 1000))
      stop = true
      await Promise.all(workers)
      expect(pids.size).toBeGreaterThan(1)
      expect(errors.filter((s) => s === 'leak')).toEqual([])
    } finally {
      await admin.close()
      await p.close()
    }
  })

  it('a waiting transaction gets its connection under constant multiplexed load', async () => {
    const p = new Pool(optionsFor('scram'), { max: 1, multiplexing: true })
    let stop = false
    const workers = Array.from({ length: 20 }, async () => {
      while (!stop) await p.query('select 1')
    })
    try {
      expect(await p.transaction(async (t) => (await t.query('select 7 as x')).rows, { acquireTimeout: 5000 })).toEqual([{ x: 7 }])
    } finally {
      stop = true
      await Promise.all(workers)
      await p.close()
    }
  })

  it('a steady stream of transactions does not starve multiplexed statements', async () => {
    const p = new Pool(optionsFor('scram'), { max: 2, multiplexing: true })
    let stop = false
    const txs = Array.from({ length: 10 }, async () => {
      while (!stop) await p.transaction(async (t) => void (await t.query('select pg_sleep(0.005)')))
    })
    try {
      await new Promise((r) => setTimeout(r, 50))
      expect((await p.query('select 1 as n', [], { acquireTimeout: 5000 })).rows).toEqual([{ n: 1 }])
    } finally {
      stop = true
      await Promise.all(txs)
      await p.close()
    }
  })

  it('a script that uses a multiplexing pool and never closes it exits by itself', async () => {
    const out = await runScript(
      `import { Pool } from ${JSON.stringify(SRC_URL)}
const pool = new Pool(JSON.parse(process.env.OPTS), { max: 2, multiplexing: true })
const r = await Promise.all(Array.from({ length: 50 }, (_, i) => pool.query('select $1::int as n', [i])))
console.log('done', r.length)`,
      { OPTS: JSON.stringify(optionsFor('scram')) },
    )
    expect(out, out.stderr).toMatchObject({ code: 0, killed: false })
    expect(out.stdout.trim()).toBe('done 50')
  })

  it('a script whose server cannot be reached, with a multiplexing pool it never closes, still exits once its statements gave up', async () => {
    const out = await runScript(
      `import { Pool } from ${JSON.stringify(SRC_URL)}
const pool = new Pool({ host: '127.0.0.1', port: 1, user: 'x', database: 'x', connectTimeout: 200 }, { multiplexing: true, acquireTimeout: 500 })
console.log(await pool.query('select 1').then(() => 'ok', (e) => e.name))`,
      {},
      15_000,
    )
    expect(out.killed, 'still running after 15 s').toBe(false)
    expect(out, out.stderr).toMatchObject({ code: 0 })
    expect(out.stdout.trim()).toBe('PoolTimeout')
  })

  it('a bad setting is refused by name', () => {
    expect(() => new Pool(optionsFor('scram'), { multiplexing: 'yes' as never })).toThrow(/multiplexing must be/)
    expect(() => new Pool(optionsFor('scram'), { multiplexing: true, multiplexingDepth: 0 })).toThrow(/multiplexingDepth/)
  })
})
