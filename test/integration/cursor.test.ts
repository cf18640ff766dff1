import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DatabaseError, InterfaceError, type Connection } from '../../src/index.js'
import { connectAs } from './_util.js'

let conn: Connection
beforeAll(async () => {
  conn = await connectAs('scram')
})
afterAll(async () => {
  await conn?.close()
})

describe('client-side cursor', () => {
  it('executes and fetches one, many and all', async () => {
    const cur = conn.cursor<{ g: number }>()
    expect(cur.rowcount).toBe(-1)
    await cur.execute('select g from generate_series(1, 10) g where g > $1', [0])
    expect(cur.rowcount).toBe(10)
    expect(cur.statusMessage).toBe('SELECT')
    expect(await cur.fetchone()).toEqual({ g: 1 })
    cur.arraysize = 2
    expect(await cur.fetchmany()).toEqual([{ g: 2 }, { g: 3 }])
    expect(await cur.fetchmany(3)).toEqual([{ g: 4 }, { g: 5 }, { g: 6 }])
    const rest: number[] = []
    for await (const r of cur) rest.push(r.g)
    expect(rest).toEqual([7, 8, 9, 10])
    expect(await cur.fetchone()).toBeNull()
    expect(await cur.fetchall()).toEqual([])
  })

  it('describes columns with size, precision and scale', async () => {
    const cur = conn.cursor()
    await cur.execute("select 1.5::numeric(10,2) as n, 'x'::varchar(7) as v, 1::int4 as i, 'a'::text as t", [])
    expect(cur.description).toEqual([
      { name: 'n', typeOid: 1700, size: null, precision: 10, scale: 2, nullable: null },
      { name: 'v', typeOid: 1043, size: 7, precision: null, scale: null, nullable: null },
      { name: 'i', typeOid: 23, size: 4, precision: null, scale: null, nullable: null },
      { name: 't', typeOid: 25, size: null, precision: null, scale: null, nullable: null },
    ])
  })

  it('moves between the results of several statements with nextset()', async () => {
    const cur = conn.cursor()
    await cur.execute('select 1 as a; select 2 as b, 3 as c; create temp table if not exists nextset_t (x int)')
    expect(await cur.fetchall()).toEqual([{ a: 1 }])
    expect(cur.nextset()).toBe(true)
    expect(await cur.fetchone()).toEqual({ b: 2, c: 3 })
    expect(cur.nextset()).toBe(true)
    expect(cur.statusMessage).toBe('CREATE TABLE')
    expect(cur.description).toBeNull()
    expect(cur.nextset()).toBe(false)
  })

  it('runs executeMany and refuses use after close', async () => {
    await conn.query('create temp table if not exists many_t (x int)')
    const cur = conn.cursor()
    await cur.executeMany('insert into many_t values ($1)', [[1], [2], [3]])
    expect(cur.rowcount).toBe(3)
    cur.close()
    await expect(cur.fetchone()).rejects.toBeInstanceOf(InterfaceError)
  })
})

describe('streaming', () => {
  it('streams a large result in batches', async () => {
    let sum = 0
    let n = 0
    const s = conn.stream<{ g: number }>('select g from generate_series(1, $1::int) g', [200_000], { batchSize: 5000 })
    for await (const r of s) {
      sum += r.g
      n++
    }
    expect(n).toBe(200_000)
    expect(sum).toBe((200_000 * 200_001) / 2)
    expect(s.fields.map((f) => f.name)).toEqual(['g'])
    expect((await conn.query('select 1 as ok')).rows[0]!.ok).toBe(1)
  })

  it('closes the portal on break and on a thrown error, leaving the connection usable', async () => {
    let seen = 0
    for await (const r of conn.stream<{ g: number }>('select g from generate_series(1, 1000000) g', [], { batchSize: 100 })) {
      seen = r.g
      if (r.g === 250) break
    }
    expect(seen).toBe(250)
    expect(conn.transactionStatus).toBe('I')
    expect((await conn.query('select 2 as ok')).rows[0]!.ok).toBe(2)
    const boom = new Error('consumer failed')
    await expect(
      (async () => {
        for await (const r of conn.stream<{ g: number }>('select g from generate_series(1, 100000) g', [], { batchSize: 10 })) {
          if (r.g === 35) throw boom
        }
      })(),
    ).rejects.toBe(boom)
    expect((await conn.query('select 3 as ok')).rows[0]!.ok).toBe(3)
  })

  it('rejects with the server error raised mid-stream, and the connection stays usable', async () => {
    const got: number[] = []
    const err = await (async () => {
      for await (const r of conn.stream<{ v: number }>('select 1000 / (500 - g) as v from generate_series(1, 1000) g', [], { batchSize: 100 })) got.push(r.v)
    })().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DatabaseError)
    expect((err as DatabaseError).code).toBe('22012')
    expect(got.length).toBeLessThan(500)
    expect((await conn.query('select 4 as ok')).rows[0]!.ok).toBe(4)
  })

  it('refuses other queries on the connection inside the loop instead of deadlocking', async () => {
    for await (const r of conn.stream('select 1 as x')) {
      expect(r).toEqual({ x: 1 })
      await expect(conn.query('select 1')).rejects.toBeInstanceOf(InterfaceError)
    }
  })

  it('adapts to a Node Readable for stream.pipeline()', async () => {
    const out: number[] = []
    await pipeline(
      conn.stream<{ g: number }>('select g from generate_series(1, 2500) g', [], { batchSize: 1000 }).toReadable(),
      new Writable({
        objectMode: true,
        write(row: { g: number }, _enc, cb) {
          out.push(row.g)
          cb()
        },
      }),
    )
    expect(out.length).toBe(2500)
    expect(out[2499]).toBe(2500)
  })
})

describe('server-side cursors', () => {
  it('explains that a cursor without hold needs a transaction', async () => {
    const c = conn.serverCursor('needs_tx')
    await expect(c.execute('select 1')).rejects.toThrow(/needs a transaction/)
  })

  it('fetches, scrolls and iterates inside a transaction', async () => {
    await conn.transaction(async (tx) => {
      const c = tx.serverCursor<{ g: number }>('my "cursor"', { scrollable: true })
      await c.execute('select g from generate_series(1, $1::int) g', [50])
      expect(await c.fetchone()).toEqual({ g: 1 })
      expect((await c.fetch(3)).map((r) => r.g)).toEqual([2, 3, 4])
      await c.scroll(10, 'absolute')
      expect(await c.fetchone()).toEqual({ g: 11 })
      await c.scroll(-5, 'relative')
      expect(await c.fetchone()).toEqual({ g: 7 })
      expect(c.description![0]!.name).toBe('g')
      c.itersize = 7
      const rest: number[] = []
      for await (const r of c) rest.push(r.g)
      expect(rest).toEqual(Array.from({ length: 43 }, (_, i) => i + 8))
      await c.close()
      await expect(c.fetch(1)).rejects.toBeInstanceOf(InterfaceError)
    })
  })

  it('lives on after commit with withHold', async () => {
    const c = conn.serverCursor<{ g: number }>(undefined, { withHold: true })
    await c.execute('select g from generate_series(1, 5) g')
    expect(conn.transactionStatus).toBe('I')
    expect((await c.fetchall()).map((r) => r.g)).toEqual([1, 2, 3, 4, 5])
    await c.close()
  })
})
