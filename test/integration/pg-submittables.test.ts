// node-postgres's own submittables (pg-cursor, pg-query-stream, pg-copy-streams)
// on pgline/pg's Client: they drive the connection themselves (Parse, Bind,
// Execute with a row limit, Sync, COPY data), so the facade hands them the
// connection until their ReadyForQuery, as pg does. Knex streams this way.
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as facade from '../../src/pg/index.js'
import { optionsFor, uniqueName } from './_util.js'

const require = createRequire(import.meta.url)
const Cursor = require('pg-cursor') as new (text: string, values?: unknown[], config?: object) => any
type Rows = AsyncIterable<any> & { submit(connection: unknown): void }
const QueryStream = require('pg-query-stream') as new (text: string, values?: unknown[], config?: object) => Rows
const copyStreams = require('pg-copy-streams') as { from(sql: string): NodeJS.WritableStream & { rowCount: number; submit(c: unknown): void }; to(sql: string): Rows }

const cfg = () => {
  const o = optionsFor('scram')
  return { host: o.host, port: Number(o.port), user: o.user, password: o.password as string, database: o.database }
}

let client: facade.Client
let table: string

beforeAll(async () => {
  client = new facade.Client(cfg())
  await client.connect()
  table = uniqueName('subm')
  await client.query(`create table ${table} (id int8 primary key, t text)`)
})

afterAll(async () => {
  await client?.query(`drop table if exists ${table}`)
  await client?.end()
})

async function fresh(): Promise<facade.Client> {
  const c = new facade.Client(cfg())
  await c.connect()
  return c
}

describe('pg-cursor on pgline/pg', () => {
  it('reads in batches, rows parsed as node-postgres parses them', async () => {
    const cur = client.query(new Cursor('select g, g::int8 as big, $1::text as s from generate_series(1, 25) g', ['x']))
    const batches: number[] = []
    const all: any[] = []
    for (;;) {
      const rows = await cur.read(10)
      if (rows.length === 0) break
      batches.push(rows.length)
      all.push(...rows)
    }
    await cur.close()
    expect(batches).toEqual([10, 10, 5])
    expect(all[0]).toEqual({ g: 1, big: '1', s: 'x' })
    expect(all.map((r) => r.g)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1))
  })

  it('rows as arrays, and a cursor of its own type parsers', async () => {
    const types = { getTypeParser: (oid: number) => (oid === 23 ? (v: string) => Number(v) * 10 : (v: string) => v) }
    const cur = client.query(new Cursor('select 1::int4 as a, 2::int4 as b', [], { rowMode: 'array', types }))
    expect(await cur.read(5)).toEqual([[10, 20]])
    await cur.close()
  })

  it("a statement's error rejects the read, and the client goes on", async () => {
    const cur = client.query(new Cursor('select 1 / (g - 3) from generate_series(1, 5) g'))
    const err = await cur.read(10).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(facade.DatabaseError)
    expect((err as facade.DatabaseError).code).toBe('22012')
    expect((await client.query('select 2 as two')).rows).toEqual([{ two: 2 }])
  })

  it('a query issued while a cursor is open waits for it to close, then runs', async () => {
    const cur = client.query(new Cursor('select g from generate_series(1, 1000) g'))
    expect(await cur.read(3)).toEqual([{ g: 1 }, { g: 2 }, { g: 3 }])
    const order: string[] = []
    const q = client.query('select 7 as seven').then((r) => {
      order.push('query')
      return r.rows
    })
    await new Promise((r) => setTimeout(r, 50))
    order.push('close')
    await cur.close()
    expect(await q).toEqual([{ seven: 7 }])
    expect(order).toEqual(['close', 'query'])
  })

  it('closed right after query(), it ends its portal and the client goes on', async () => {
    const cur = client.query(new Cursor('select g from generate_series(1, 10) g'))
    await cur.close()
    expect((await client.query('select 8 as eight')).rows).toEqual([{ eight: 8 }])
  })

  it("a failing read's callback is called once, and the cursor says nothing more", async () => {
    const cur = client.query(new Cursor('select 1 / (g - 2) as v from generate_series(1, 5) g'))
    const events: string[] = []
    cur.on('error', () => events.push('error'))
    cur.on('end', () => events.push('end'))
    const calls: unknown[] = []
    await new Promise<void>((resolve) =>
      cur.read(10, (err: Error | null) => {
        calls.push(err?.message ?? null)
        setTimeout(resolve, 50)
      }),
    )
    expect(calls).toEqual(['division by zero'])
    expect(events).toEqual(['error'])
    await cur.close()
    expect((await client.query('select 9 as nine')).rows).toEqual([{ nine: 9 }])
  })

  it("a running cursor's JSON shows nothing of the connection's buffers", async () => {
    const cur = client.query(new Cursor('select 1'))
    expect(JSON.stringify(cur).length).toBeLessThan(2000)
    await cur.close()
  })

  it('rows of an empty statement, and a statement with no rows', async () => {
    const empty = client.query(new Cursor('select 1 where false'))
    expect(await empty.read(10)).toEqual([])
    await empty.close()
    const insert = client.query(new Cursor(`insert into ${table} values (1, 'a')`))
    expect(await insert.read(10)).toEqual([])
    await insert.close()
    expect((await client.query(`select t from ${table} where id = 1`)).rows).toEqual([{ t: 'a' }])
  })

  it('while it runs, client.connection emits the messages pg emits', async () => {
    const seen: string[] = []
    const on = (name: string) => () => seen.push(name)
    const names = ['rowDescription', 'portalSuspended', 'commandComplete', 'readyForQuery']
    const listeners = names.map((n) => [n, on(n)] as const)
    for (const [n, f] of listeners) client.connection.on(n, f)
    const cur = client.query(new Cursor('select g from generate_series(1, 3) g'))
    await cur.read(2)
    await cur.read(2)
    await cur.close()
    for (const [n, f] of listeners) client.connection.off(n, f)
    expect(seen).toEqual(['rowDescription', 'portalSuspended', 'commandComplete', 'readyForQuery'])
  })

  it('a cursor submitted before connect() waits for it; one after end() fails', async () => {
    const c = new facade.Client(cfg())
    const cur = c.query(new Cursor('select 1 as one'))
    await c.connect()
    expect(await cur.read(5)).toEqual([{ one: 1 }])
    await cur.close()
    await c.end()
    const late = c.query(new Cursor('select 1'))
    await expect(late.read(1)).rejects.toThrow(/closed/)
  })

  it('the server ending the session under a cursor rejects its read and the waiting query', async () => {
    const c = await fresh()
    c.on('error', () => undefined)
    const pid = c.processID
    const cur = c.query(new Cursor('select g from generate_series(1, 100000) g'))
    await cur.read(1)
    const waiting = c.query('select 1').then(
      () => undefined,
      (e: unknown) => e,
    )
    await client.query('select pg_terminate_backend($1)', [pid])
    await expect(cur.read(200000)).rejects.toBeInstanceOf(Error)
    expect(await waiting).toBeInstanceOf(Error)
    await c.end()
  })

  it('a client ended with a cursor open settles everything', async () => {
    const c = await fresh()
    const cur = c.query(new Cursor('select g from generate_series(1, 10) g'))
    await cur.read(1)
    // Observed from the start: it fails while end() is awaited.
    const waiting = c.query('select 1').then(
      () => undefined,
      (e: unknown) => e,
    )
    await c.end()
    expect(await waiting).toBeInstanceOf(Error)
  })

  it('through a pool client, released after the cursor closes', async () => {
    const pool = new facade.Pool({ ...cfg(), max: 1 })
    const pc = await pool.connect()
    const cur = pc.query(new Cursor('select g from generate_series(1, 4) g'))
    expect((await cur.read(10)).length).toBe(4)
    await cur.close()
    pc.release()
    expect((await pool.query('select 5 as five')).rows).toEqual([{ five: 5 }])
    await pool.end()
  })
})

describe('pg-query-stream on pgline/pg', () => {
  it('streams every row with backpressure, and the client goes on', async () => {
    let sum = 0
    let n = 0
    for await (const row of client.query(new QueryStream('select g from generate_series(1, 5000) g', [], { batchSize: 100 }))) {
      sum += row.g
      n++
    }
    expect(n).toBe(5000)
    expect(sum).toBe((5000 * 5001) / 2)
    expect((await client.query('select 3 as three')).rows).toEqual([{ three: 3 }])
  })

  it('breaking out early closes the portal and leaves the client usable', async () => {
    let n = 0
    for await (const row of client.query(new QueryStream('select g from generate_series(1, 100000) g', [], { batchSize: 50 }))) {
      n += row.g > 0 ? 1 : 0
      if (n === 120) break
    }
    expect(n).toBe(120)
    expect((await client.query('select 4 as four')).rows).toEqual([{ four: 4 }])
  })

  it("a statement's error destroys the stream with the DatabaseError", async () => {
    const s = client.query(new QueryStream('select 1 / (g - 500) from generate_series(1, 1000) g', [], { batchSize: 100 }))
    const err = await (async () => {
      for await (const _ of s) void _
    })().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect((err as facade.DatabaseError).code).toBe('22012')
    expect((await client.query('select 5 as five')).rows).toEqual([{ five: 5 }])
  })
})

describe('pg-copy-streams on pgline/pg', () => {
  it('from(): writes rows through COPY FROM STDIN', async () => {
    const t = uniqueName('copyin')
    await client.query(`create temp table ${t} (a int, b text)`)
    const lines = Array.from({ length: 2000 }, (_, i) => `${i}\trow ${i}\n`)
    const sink = client.query(copyStreams.from(`copy ${t} from stdin`))
    await pipeline(Readable.from(lines), sink)
    expect(sink.rowCount).toBe(2000)
    expect((await client.query(`select count(*)::int as n, max(a) as m from ${t}`)).rows).toEqual([{ n: 2000, m: 1999 }])
  })

  it('from(): bad data fails the COPY with the server error, and the client goes on', async () => {
    const t = uniqueName('copybad')
    await client.query(`create temp table ${t} (a int)`)
    const sink = client.query(copyStreams.from(`copy ${t} from stdin`))
    await expect(pipeline(Readable.from(['1\n', 'not a number\n']), sink)).rejects.toMatchObject({ code: '22P02' })
    expect((await client.query(`select count(*)::int as n from ${t}`)).rows).toEqual([{ n: 0 }])
  })

  it('from() on a table that does not exist, and destroy(): the stream fails, the client goes on', async () => {
    const missing = client.query(copyStreams.from('copy no_such_table_at_all from stdin'))
    await expect(pipeline(Readable.from(['1\n']), missing)).rejects.toMatchObject({ code: '42P01' })
    expect((await client.query('select 10 as ten')).rows).toEqual([{ ten: 10 }])
    const t = uniqueName('copydestroy')
    await client.query(`create temp table ${t} (a int)`)
    const sink = client.query(copyStreams.from(`copy ${t} from stdin`)) as unknown as NodeJS.WritableStream & { destroy(e?: Error): void }
    const failed = new Promise((resolve) => sink.on('error', resolve))
    sink.write('1\n')
    sink.destroy(new Error('changed my mind'))
    await failed
    expect((await client.query(`select count(*)::int as n from ${t}`)).rows).toEqual([{ n: 0 }])
  })

  it('to(): refused with an error that names what to use instead; the client goes on', async () => {
    const source = client.query(copyStreams.to('copy (select 1) to stdout'))
    const err = await (async () => {
      for await (const _ of source) void _
    })().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(String((err as Error).message)).toMatch(/copyTo\(\)/)
    expect((await client.query('select 6 as six')).rows).toEqual([{ six: 6 }])
  })
})

describe("node-postgres's Query", () => {
  it("emits 'row' for each row and 'end' with the result", async () => {
    const q = client.query(new facade.Query('select g from generate_series(1, 3) g where g > $1', [0]))
    expect(q).toBeInstanceOf(facade.Query)
    const rows: unknown[] = []
    q.on('row', (row: unknown) => rows.push(row))
    const [result] = (await once(q, 'end')) as [facade.QueryResult]
    expect(rows).toEqual([{ g: 1 }, { g: 2 }, { g: 3 }])
    expect(result.rowCount).toBe(3)
  })

  it("gives its error to its callback, or else to 'error'", async () => {
    const viaCallback = await new Promise<unknown>((resolve) => client.query(new facade.Query('select 1/0', (err) => resolve(err))))
    expect((viaCallback as facade.DatabaseError).code).toBe('22012')
    const q = client.query(new facade.Query({ text: 'select 1/0' }))
    const [viaEvent] = await once(q, 'error').catch((e: unknown) => [e])
    expect((viaEvent as facade.DatabaseError).code).toBe('22012')
    const [r] = (await once(client.query(new facade.Query({ text: 'select 1 as a', rowMode: 'array' })), 'end')) as [facade.QueryResult]
    expect(r.rows).toEqual([[1]])
  })
})

describe('a submittable without handleError', () => {
  it("its error reaches the client's 'error' event", async () => {
    const c = await fresh()
    const error = once(c, 'error')
    let readied = false
    c.query({
      submit(con: any) {
        con.query('select 1/0')
      },
      // As in node-postgres, a submittable that got an error hears nothing more.
      handleReadyForQuery: () => (readied = true),
    } as never)
    const [err] = await error
    expect((err as facade.DatabaseError).code).toBe('22012')
    expect((await c.query('select 1 as one')).rows).toEqual([{ one: 1 }])
    expect(readied).toBe(false)
    await c.end()
  })

  it('client.connection refuses to write when no submittable runs', () => {
    expect(() => client.connection.sync()).toThrow(/only while a submittable/)
  })
})
