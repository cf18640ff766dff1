import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InterfaceError, SerializationFailure, type Connection } from '../../src/index.js'
import { connectAs, uniqueName } from './_util.js'

let conn: Connection
let t: string

beforeAll(async () => {
  conn = await connectAs('scram')
  t = uniqueName('tx')
  await conn.query(`create table ${t} (id int primary key, v int not null default 0)`)
})
afterAll(async () => {
  await conn?.query(`drop table if exists ${t}`)
  await conn?.close()
})

const ids = async (): Promise<number[]> => (await conn.query<{ id: number }>(`select id from ${t} order by id`)).rows.map((r) => r.id)

describe('transactions', () => {
  it('commits on return and reports the status while open', async () => {
    await conn.query(`delete from ${t}`)
    const out = await conn.transaction(async (tx) => {
      await tx.query(`insert into ${t} (id) values ($1)`, [1])
      expect(conn.transactionStatus).toBe('T')
      return 'done'
    })
    expect(out).toBe('done')
    expect(conn.transactionStatus).toBe('I')
    expect(await ids()).toEqual([1])
  })

  it('rolls back on throw and rethrows', async () => {
    await conn.query(`delete from ${t}`)
    const boom = new Error('boom')
    await expect(
      conn.transaction(async (tx) => {
        await tx.query(`insert into ${t} (id) values (2)`)
        throw boom
      }),
    ).rejects.toBe(boom)
    expect(await ids()).toEqual([])
    expect(conn.transactionStatus).toBe('I')
  })

  it('turns nested transactions into savepoints', async () => {
    await conn.query(`delete from ${t}`)
    await conn.transaction(async (tx) => {
      await tx.query(`insert into ${t} (id) values (10)`)
      await tx
        .transaction(async (inner) => {
          await inner.query(`insert into ${t} (id) values (11)`)
          await inner.query(`insert into ${t} (id) values (10)`) // duplicate: fails
        })
        .catch(() => undefined)
      await tx.transaction(async (inner) => {
        await inner.query(`insert into ${t} (id) values (12)`)
        await inner.transaction(async (deeper) => deeper.query(`insert into ${t} (id) values (13)`))
      })
    })
    expect(await ids()).toEqual([10, 12, 13])
  })

  it('sets isolation level, read only and deferrable', async () => {
    await conn.transaction(
      async (tx) => {
        const r = await tx.query("select current_setting('transaction_isolation') as iso, current_setting('transaction_read_only') as ro")
        expect(r.rows[0]).toEqual({ iso: 'serializable', ro: 'on' })
      },
      { isolation: 'serializable', readOnly: true, deferrable: true },
    )
    await expect(conn.transaction(async () => undefined, { isolation: 'chaos' as 'serializable' })).rejects.toThrow(/unknown isolation level/)
  })

  it('refuses the outer connection inside the callback, a handle after the end, and a second commit', async () => {
    let leaked: { query: (s: string) => Promise<unknown> } | undefined
    await conn.transaction(async (tx) => {
      leaked = tx
      await expect(conn.query('select 1')).rejects.toBeInstanceOf(InterfaceError)
      await expect(conn.transaction(async () => 1)).rejects.toBeInstanceOf(InterfaceError)
      await tx.commit()
      await expect(tx.commit()).rejects.toThrow(/already committed/)
      await expect(tx.query('select 1')).rejects.toThrow(/already committed/)
    })
    await expect(leaked!.query('select 1')).rejects.toBeInstanceOf(InterfaceError)
    // The outer handle is refused while a nested one runs.
    await conn.transaction(async (tx) => {
      await tx.transaction(async () => {
        await expect(tx.query('select 1')).rejects.toBeInstanceOf(InterfaceError)
      })
      await tx.query('select 1')
    })
  })

  it('says so when an error was swallowed and COMMIT rolled back', async () => {
    await conn.query(`delete from ${t}`)
    await expect(
      conn.transaction(async (tx) => {
        await tx.query(`insert into ${t} (id) values (1)`)
        await tx.query('select 1/0').catch(() => undefined)
      }),
    ).rejects.toThrow(/COMMIT rolled it back/)
    expect(await ids()).toEqual([])
  })

  it('explicit begin/commit work and expose the status', async () => {
    await conn.query('begin')
    expect(conn.transactionStatus).toBe('T')
    await conn.query('commit')
    expect(conn.transactionStatus).toBe('I')
  })

  it('retries a real serialization failure when asked', async () => {
    await conn.query(`delete from ${t}`)
    await conn.query(`insert into ${t} (id, v) values (1, 0)`)
    const other = await connectAs('scram')
    let attempts = 0
    let interfered = false
    const run = (retry: boolean) =>
      conn.transaction(
        async (tx) => {
          attempts++
          const v = (await tx.query<{ v: number }>(`select v from ${t} where id = 1`)).rows[0]!.v
          if (!interfered) {
            // Another transaction commits a change to the row we read.
            interfered = true
            await other.query(`update ${t} set v = v + 100 where id = 1`)
          }
          await tx.query(`update ${t} set v = $1 where id = 1`, [v + 1])
        },
        { isolation: 'serializable', ...(retry ? { retry: { attempts: 3, backoff: { initialMs: 1, maxMs: 5 } } } : {}) },
      )
    await expect(run(false)).rejects.toBeInstanceOf(SerializationFailure)
    interfered = false
    attempts = 0
    await run(true)
    expect(attempts).toBe(2)
    expect((await conn.query<{ v: number }>(`select v from ${t} where id = 1`)).rows[0]!.v).toBe(201)
    await other.close()
  })
})

describe('LISTEN/NOTIFY', () => {
  it('delivers 10,000 notifications in order, with odd channel names quoted', async () => {
    const listener = await connectAs('scram')
    const channel = 'Odd "channel"; drop table x'
    const got: string[] = []
    let resolveAll!: () => void
    const all = new Promise<void>((r) => (resolveAll = r))
    const stop = await listener.listen(channel, (payload) => {
      got.push(payload)
      if (got.length === 10_000) resolveAll()
    })
    await conn.pipeline(async (p) => {
      for (let i = 0; i < 10_000; i++) void p.query('select pg_notify($1, $2)', [channel, String(i)])
    })
    await all
    expect(got).toEqual(Array.from({ length: 10_000 }, (_, i) => String(i)))
    await stop()
    await conn.notify(channel, 'after stop')
    await listener.query('select 1') // a round trip for anything in flight to arrive
    expect(got).toHaveLength(10_000)
    await listener.close()
  })

  it('sends with notify()', async () => {
    const listener = await connectAs('scram')
    const seen = new Promise<string>((resolve) => void listener.listen('pgline_ch', (p) => resolve(p)))
    await new Promise((r) => setTimeout(r, 50))
    await conn.notify('pgline_ch', 'hello')
    expect(await seen).toBe('hello')
    await listener.close()
  })
})
