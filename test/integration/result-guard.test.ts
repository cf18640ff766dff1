// maxRows / maxResultBytes against the real server: a result past its limit
// rejects with ResultTooLarge, its remaining rows are discarded as they
// arrive (not decoded, not kept), and the same connection goes on: the
// next query, the open transaction, the rest of a pipeline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, InterfaceError, Pool, ResultTooLarge, TypeMap, type Connection } from '../../src/index.js'
import { connectAs, optionsFor, uniqueName } from './_util.js'

let conn: Connection

beforeAll(async () => {
  conn = await connectAs('scram')
})
afterAll(async () => {
  await conn?.close()
})

/** The rejection of `p`, which must reject. */
async function rejection(p: Promise<unknown>): Promise<Error & Partial<ResultTooLarge>> {
  return p.then(
    () => {
      throw new Error('expected a rejection')
    },
    (err: Error) => err,
  )
}

const series = (n: number) => `select g from generate_series(1, ${n}) g`

describe('maxRows per query', () => {
  it('exactly at the limit passes; one over rejects with ResultTooLarge, on the same connection that then goes on', async () => {
    const pid = conn.processId
    expect((await conn.query(series(10), [], { maxRows: 10 })).rowCount).toBe(10)
    const err = await rejection(conn.query(series(11), [], { maxRows: 10 }))
    expect(err).toBeInstanceOf(ResultTooLarge)
    expect(err.kind).toBe('rows')
    expect(err.limit).toBe(10)
    expect(err.message).toContain('maxRows: 10')
    expect(err.message).toContain('stream()')
    // The same connection runs the next query.
    const after = await conn.query<{ n: number }>('select 42 as n')
    expect(after.rows).toEqual([{ n: 42 }])
    expect(conn.processId).toBe(pid)
    expect(conn.transactionStatus).toBe('I')
  })

  it('with prepared statements (prepare: true) and unnamed ones alike', async () => {
    for (const prepare of [true, false]) {
      expect((await conn.query(series(3), [], { maxRows: 3, prepare })).rowCount).toBe(3)
      await expect(conn.query(series(4), [], { maxRows: 3, prepare })).rejects.toBeInstanceOf(ResultTooLarge)
      expect((await conn.query('select $1::int as v', [7], { prepare })).rows).toEqual([{ v: 7 }])
    }
  })

  it("rowMode 'array' and 'columns' are held to it too", async () => {
    await expect(conn.query(series(6), [], { maxRows: 5, rowMode: 'array' })).rejects.toBeInstanceOf(ResultTooLarge)
    await expect(conn.query(series(6), [], { maxRows: 5, rowMode: 'columns' })).rejects.toBeInstanceOf(ResultTooLarge)
    const cols = await conn.query(series(5), [], { maxRows: 5, rowMode: 'columns' })
    expect(cols.columns.length).toBe(5)
    const arr = await conn.query<[number]>(series(5), [], { maxRows: 5, rowMode: 'array' })
    expect(arr.rows).toEqual([[1], [2], [3], [4], [5]])
  })

  it('a statement that returns no rows is never refused', async () => {
    const r = await conn.query('select 1 where false', [], { maxRows: 1, maxResultBytes: 1 })
    expect(r.rowCount).toBe(0)
  })

  it('a limit that is not a non-negative integer is refused before anything is sent', async () => {
    await expect(conn.query('select 1', [], { maxRows: -1 })).rejects.toThrow(InterfaceError)
    await expect(conn.query('select 1', [], { maxResultBytes: 2.5 })).rejects.toThrow(/maxResultBytes must be a positive integer/)
    await expect(connectAs('scram', { maxRows: 'ten' as unknown as number })).rejects.toThrow(/maxRows must be a positive integer .* got string/)
  })
})

describe('maxResultBytes', () => {
  it('counts the DataRow bytes as they arrive', async () => {
    // Each row: 7 bytes of message header, 4 of column length, 100 of text.
    const sql = "select repeat('x', 100) as t from generate_series(1, 10)"
    const opts = { prepare: false } as const
    expect((await conn.query(sql, [], { ...opts, maxResultBytes: 1110 })).rowCount).toBe(10)
    const err = await rejection(conn.query(sql, [], { ...opts, maxResultBytes: 1109 }))
    expect(err).toBeInstanceOf(ResultTooLarge)
    expect(err).toMatchObject({ kind: 'bytes', limit: 1109 })
    expect(err.message).toContain('maxResultBytes: 1109')
    expect((await conn.query('select 1 as one')).rows).toEqual([{ one: 1 }])
  })

  it('both limits at once: whichever is passed first', async () => {
    const sql = "select repeat('y', 1000) as t from generate_series(1, 100)"
    await expect(conn.query(sql, [], { maxRows: 1000, maxResultBytes: 10_000 })).rejects.toMatchObject({ kind: 'bytes' })
    await expect(conn.query(sql, [], { maxRows: 50, maxResultBytes: 10_000_000 })).rejects.toMatchObject({ kind: 'rows' })
  })
})

describe('maxRows per connection', () => {
  it('applies to every query; a query sets its own, or lifts it with 0 or Infinity', async () => {
    const c = await connectAs('scram', { maxRows: 5 })
    try {
      expect((await c.query(series(5))).rowCount).toBe(5)
      await expect(c.query(series(6))).rejects.toMatchObject({ kind: 'rows', limit: 5 })
      expect((await c.query(series(50), [], { maxRows: 50 })).rowCount).toBe(50)
      expect((await c.query(series(50), [], { maxRows: 0 })).rowCount).toBe(50)
      expect((await c.query(series(50), [], { maxRows: Infinity })).rowCount).toBe(50)
      await expect(c.query(series(50), [], { maxRows: 10 })).rejects.toMatchObject({ limit: 10 })
    } finally {
      await c.close()
    }
  })

  it('simpleQuery counts the rows of all its results together', async () => {
    const c = await connectAs('scram', { maxRows: 6 })
    try {
      const ok = await c.simpleQuery('select generate_series(1, 3); select generate_series(1, 3)')
      expect(ok.map((r) => r.rowCount)).toEqual([3, 3])
      await expect(c.simpleQuery('select generate_series(1, 4); select generate_series(1, 3)')).rejects.toBeInstanceOf(ResultTooLarge)
      // Every statement ran on the server all the same.
      const t = uniqueName('guard_simple')
      await expect(
        c.simpleQuery(`select generate_series(1, 10); create temp table ${t} (x int); insert into ${t} values (1)`),
      ).rejects.toBeInstanceOf(ResultTooLarge)
      expect((await c.query(`select count(*)::int as n from ${t}`)).rows).toEqual([{ n: 1 }])
    } finally {
      await c.close()
    }
  })

  it('executeMany is unaffected by a small limit (each statement is its own result)', async () => {
    const c = await connectAs('scram', { maxRows: 1 })
    try {
      const t = uniqueName('guard_many')
      await c.query(`create temp table ${t} (x int)`)
      expect(await c.executeMany(`insert into ${t} values ($1)`, [[1], [2], [3]])).toBe(3)
      await expect(c.query(`select x from ${t}`)).rejects.toBeInstanceOf(ResultTooLarge)
    } finally {
      await c.close()
    }
  })

  it("the driver's own catalog reads (loadType) are not held to it", async () => {
    const c = await connectAs('scram', { maxRows: 1, maxResultBytes: 1 })
    const comp = uniqueName('guard_comp')
    const mood = uniqueName('guard_mood')
    try {
      await c.query(`create type ${comp} as (a int, b text, c bool)`)
      await c.query(`create type ${mood} as enum ('sad', 'ok', 'happy')`)
      expect((await c.loadType(comp)).kind).toBe('composite')
      expect((await c.loadType(mood)).kind).toBe('enum')
      expect((await c.query(`select row(1, 'x', true)::${comp} as v`, [], { maxResultBytes: 0 })).rows).toEqual([{ v: { a: 1, b: 'x', c: true } }])
    } finally {
      await c.query(`drop type if exists ${comp}, ${mood}`)
      await c.close()
    }
  })

  it('stream() is not held to it: it is how large results are read', async () => {
    const c = await connectAs('scram', { maxRows: 5, maxResultBytes: 100 })
    try {
      let n = 0
      for await (const _ of c.stream(series(1000), [], { batchSize: 100 })) n++
      expect(n).toBe(1000)
    } finally {
      await c.close()
    }
  })

  it('a server cursor is held to it per FETCH', async () => {
    const c = await connectAs('scram', { maxRows: 10 })
    try {
      await c.transaction(async (tx) => {
        const cur = tx.serverCursor<{ g: number }>()
        await cur.execute(series(100))
        expect(await cur.fetch(10)).toHaveLength(10)
        await expect(cur.fetchall()).rejects.toBeInstanceOf(ResultTooLarge)
        await cur.close()
      })
    } finally {
      await c.close()
    }
  })
})

describe('in a transaction', () => {
  it('the transaction is not aborted: the server finished the statement, only the client refused the result', async () => {
    const t = uniqueName('guard_tx')
    await conn.query(`create table ${t} (x int)`)
    try {
      await conn.transaction(async (tx) => {
        await tx.query(`insert into ${t} values (1)`)
        await expect(tx.query(series(100), [], { maxRows: 10 })).rejects.toBeInstanceOf(ResultTooLarge)
        expect(conn.transactionStatus).toBe('T') // not 'E'
        await tx.query(`insert into ${t} values (2)`)
      })
      expect((await conn.query<{ x: number }>(`select x from ${t} order by x`)).rows).toEqual([{ x: 1 }, { x: 2 }])

      // Not caught, it rolls the transaction back like any error thrown in it.
      await expect(
        conn.transaction(async (tx) => {
          await tx.query(`insert into ${t} values (3)`)
          await tx.query(series(100), [], { maxRows: 10 })
        }),
      ).rejects.toBeInstanceOf(ResultTooLarge)
      expect((await conn.query(`select count(*)::int as n from ${t}`)).rows).toEqual([{ n: 2 }])
    } finally {
      await conn.query(`drop table ${t}`)
    }
  })
})

describe('in a pipeline', () => {
  it('the statement past its limit fails alone; its siblings in the same Sync group resolve and commit', async () => {
    const t = uniqueName('guard_pipe')
    await conn.query(`create table ${t} (x int)`)
    try {
      const outcome = await conn.pipeline(async (p) => {
        const a = p.query(`insert into ${t} values (1)`)
        const b = p.query(series(20), [], { maxRows: 5 })
        const c = p.query(`insert into ${t} values (2) returning x`)
        const d = p.query(series(5), [], { maxRows: 5, rowMode: 'columns' })
        const s = p.sync()
        return Promise.allSettled([a, b, c, d, s])
      })
      expect(outcome.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'])
      expect((outcome[1] as PromiseRejectedResult).reason).toBeInstanceOf(ResultTooLarge)
      expect((await conn.query(`select count(*)::int as n from ${t}`)).rows).toEqual([{ n: 2 }])
    } finally {
      await conn.query(`drop table ${t}`)
    }
  })
})

describe('through a Pool', () => {
  it("the pool's connection options carry the limit to its connections, which stay in the pool after a refusal", async () => {
    const pool = new Pool(optionsFor('scram', { maxRows: 3 }), { max: 1 })
    try {
      const pid = (await pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid
      await expect(pool.query(series(4))).rejects.toMatchObject({ kind: 'rows', limit: 3 })
      expect((await pool.query(series(4), [], { maxRows: 4 })).rowCount).toBe(4)
      expect((await pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid).toBe(pid)
    } finally {
      await pool.close()
    }
  })
})

describe('a Pool given a bad limit', () => {
  it('refuses it when made, not in the background', () => {
    expect(() => new Pool(optionsFor('scram', { maxRows: -1 }))).toThrow(/maxRows must be a positive integer/)
    expect(() => new Pool(optionsFor('scram', { maxResultBytes: 0.5 }))).toThrow(InterfaceError)
  })
})

describe('a huge result', () => {
  it('with maxRows 10 decodes 10 rows of 5 million and keeps the heap flat', async () => {
    let decoded = 0
    const types = new TypeMap(conn.types)
    const int4 = (buf: Buffer, start: number, end: number): number => {
      decoded++
      return end - start === 4 ? buf.readInt32BE(start) : Number(buf.toString('latin1', start, end))
    }
    types.registerDecoder(23, 0, int4)
    types.registerDecoder(23, 1, int4)
    const before = process.memoryUsage().heapUsed
    const err = await rejection(conn.query('select g from generate_series(1, 5000000) g', [], { maxRows: 10, types }))
    const after = process.memoryUsage().heapUsed
    expect(err).toBeInstanceOf(ResultTooLarge)
    expect(decoded).toBe(10)
    // 5 million row objects would take hundreds of MB; what is left is the garbage of reading.
    expect(after - before).toBeLessThan(64 * 1024 * 1024)
    expect((await conn.query('select 1 as one')).rows).toEqual([{ one: 1 }])
  })
})

describe('connect() takes the options from a URL-less object and from a connection string', () => {
  it('both forms', async () => {
    const o = optionsFor('scram')
    const url = `postgres://${encodeURIComponent(o.user!)}:${encodeURIComponent(o.password as string)}@${o.host}:${o.port}/${o.database}`
    const c = await connect(url, { maxRows: 2, maxResultBytes: 1_000_000 })
    try {
      await expect(c.query(series(3))).rejects.toBeInstanceOf(ResultTooLarge)
    } finally {
      await c.close()
    }
  })
})
