// A pool over a REAL primary and a REAL streaming standby (private to this
// file) with `replicas`: each target reaches its server, writes on a standby
// are refused by the server, and under load the primary goes away and the
// standby is promoted: every statement settles, and the 'primary' target
// finds the new primary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InterfaceError, Pool, type ConnectionOptions } from '../../src/index.js'
import { startReplicaPair, type ReplicaPair } from '../support/replica.js'

let pair: ReplicaPair
let pool: Pool

beforeAll(async () => {
  pair = await startReplicaPair()
}, 120_000)
afterAll(async () => {
  await pool?.close()
  await pair?.stop()
}, 60_000)

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

function opts(): ConnectionOptions {
  const P = pair.primary
  return {
    host: '127.0.0.1,127.0.0.1',
    port: `${P.port},${pair.standby.port}`,
    database: P.database,
    user: P.roles.scram.user,
    password: P.roles.scram.password,
    connectTimeout: 20_000,
  }
}

const portOf = async (target?: 'primary' | 'standby' | 'prefer-standby'): Promise<number> =>
  (await pool.query<{ p: number }>('select inet_server_port() as p', [], target === undefined ? {} : { target })).rows[0]!.p

describe('a pool with replicas', () => {
  it("each target reaches its server: primary by default, standby, prefer-standby; a standby refuses writes itself", async () => {
    pool = new Pool(opts(), { max: 3, replicas: true, acquireTimeout: 5_000, backoff: { initialMs: 20, maxMs: 200 } })
    expect(await portOf()).toBe(pair.primary.port)
    expect(await portOf('primary')).toBe(pair.primary.port)
    expect(await portOf('standby')).toBe(pair.standby.port)
    expect(await portOf('prefer-standby')).toBe(pair.standby.port)
    await pool.query('create table if not exists replica_t (id serial primary key, v int)')
    await expect(pool.query('create table replica_nope (x int)', [], { target: 'standby' })).rejects.toMatchObject({ code: '25006' })
    const inTx = await pool.transaction(async (tx) => (await tx.query<{ r: boolean }>('select pg_is_in_recovery() as r')).rows[0]!.r, { target: 'standby' })
    expect(inTx).toBe(true)
    await pool.connection(async (c) => expect(c.toJSON().port).toBe(pair.standby.port), { target: 'standby' })
    expect(pool.statsOf('standby').size).toBeGreaterThan(0)
    expect(pool.stats().size).toBe(pool.statsOf('primary').size + pool.statsOf('standby').size + pool.statsOf('prefer-standby').size)
  })

  it('a bad target is refused by name; a pool without replicas refuses standby targets', async () => {
    await expect(pool.query('select 1', [], { target: 'replica' as never })).rejects.toThrow(/target must be 'primary', 'standby' or 'prefer-standby'/)
    const plain = new Pool(opts(), { max: 1 })
    try {
      await expect(plain.query('select 1', [], { target: 'standby' })).rejects.toBeInstanceOf(InterfaceError)
      expect((await plain.query<{ n: number }>('select 1 as n', [], { target: 'primary' })).rows).toEqual([{ n: 1 }])
    } finally {
      await plain.close()
    }
  })

  it('failover under load: every statement settles; after the promotion the primary target writes on the new primary', async () => {
    let stop = false
    let ok = 0
    const failed: unknown[] = []
    const load = Array.from({ length: 8 }, async (_, i) => {
      while (!stop) {
        await pool.query('select $1::int as n', [i], { target: i % 2 === 0 ? 'primary' : 'prefer-standby' }).then(
          () => ok++,
          (e: unknown) => failed.push(e),
        )
        await sleep(5)
      }
    })
    await sleep(200)
    await pair.stopPrimary()
    await pair.promoteStandby()
    // The primary target finds the promoted standby (a new connection checks read-write).
    let writes: unknown
    for (const until = Date.now() + 30_000; Date.now() < until; await sleep(100)) {
      writes = await pool.query<{ p: number }>('insert into replica_t (v) values (2) returning inet_server_port() as p').then((r) => r.rows[0]!.p, (e: unknown) => e)
      if (writes === pair.standby.port) break
    }
    expect(writes).toBe(pair.standby.port)
    const before = ok
    await sleep(300)
    stop = true
    await Promise.all(load)
    // Load went on after the failover; what failed during it failed with an error, not silence.
    expect(ok).toBeGreaterThan(before)
    for (const e of failed) expect(e).toBeInstanceOf(Error)
  }, 90_000)
})
