// pgline/pg against node-postgres itself: the same queries through both, on
// the same server, must give the same rows, fields, command tags and errors.
import { inspect } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as facade from '../../src/pg/index.js'
import { optionsFor, uniqueName } from './_util.js'

const cfg = (): { host?: string; port: number; user?: string; password: string; database?: string } => {
  const o = optionsFor('scram')
  return { host: o.host, port: Number(o.port), user: o.user, password: o.password as string, database: o.database }
}

let real: pg.Client
let ours: facade.Client

beforeAll(async () => {
  real = new pg.Client(cfg())
  ours = new facade.Client(cfg())
  await Promise.all([real.connect(), ours.connect()])
  // Dates without a zone are read in the local zone by both; pin it so the comparison means something.
  await real.query("set timezone = 'UTC'")
  await ours.query("set timezone = 'UTC'")
})

afterAll(async () => {
  await Promise.all([real?.end(), ours?.end()])
})

/** The parts of a result node-postgres users read. */
const shape = (r: pg.QueryResult | facade.QueryResult) => ({ command: r.command, rowCount: r.rowCount, oid: r.oid, rows: r.rows, fields: r.fields })

const VALUES = [
  "select 1::int2 as a, 2::int4 as b, 9007199254740993::int8 as c, 1.5::float4 as d, 0.1::float8 as e, 12345.678900::numeric as f, true as g, false as h",
  "select 'héllo'::text as a, 'x'::varchar(3) as b, 'ab'::char(4) as c, '\\x00ff10'::bytea as d, null::text as e, ''::text as f",
  "select '2024-02-29'::date as a, '2024-02-29 13:14:15.123456'::timestamp as b, '2024-02-29 13:14:15.5+02'::timestamptz as c, '0044-03-15 BC'::date as d, 'infinity'::timestamptz as e, '-infinity'::date as f",
  "select '1 year 2 mons 3 days 04:05:06.789'::interval as a, '-00:00:01'::interval as b, '13:14:15'::time as c, '13:14:15+02'::timetz as d",
  `select '{"a":[1,2,{"b":null}]}'::json as a, '{"x":"y"}'::jsonb as b, '"s"'::jsonb as c, '[1,2]'::jsonb as d`,
  `select array[1,2,null]::int4[] as a, array['a','b c','d"e','f\\g',null,'NULL']::text[] as b, '{{1,2},{3,4}}'::int8[] as c, '{}'::int4[] as d, array[true,false]::bool[] as e`,
  "select array['2024-01-02'::date] as a, array['{\"k\":1}'::jsonb] as b, array[1.5::float8] as c, array['\\x01'::bytea] as d, '[2:3]={7,8}'::int4[] as e",
  "select '(1.5,2)'::point as a, '<(1,2),3>'::circle as b, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid as c, '192.168.0.1/24'::inet as d, 12.34::money as e",
  "select 1 as x, 2 as x, 'dup' as \"?column?\"",
  "select '1960-01-01 00:00:00.5+00'::timestamptz as a, '0044-03-15 12:00:00+01 BC'::timestamptz as b, '0099-01-01 00:00:00+00'::timestamptz as c, '2024-06-01 10:00:00.999999-07:30'::timestamptz as d, '1969-12-31 23:59:59.9999+00'::timestamptz as e",
  "select '{{1,2},{NULL,4}}'::int2[] as a, '{1.5,NaN,Infinity,-Infinity}'::float8[] as b, '{0.1,3.4e38}'::float4[] as c, '{t,f,NULL}'::bool[] as d, '[0:1]={5,6}'::int4[] as e, '{}'::float8[] as f",
]

describe('pgline/pg gives what node-postgres gives', () => {
  for (const sql of VALUES) {
    it(`rows and fields of: ${sql.slice(0, 70)}`, async () => {
      // Simple protocol (no values), extended protocol (values), and rows as arrays.
      expect(shape(await ours.query(sql))).toEqual(shape(await real.query(sql)))
      // The same text again: pgline/pg now runs it prepared, with binary results; the values must not change.
      expect(shape(await ours.query(sql))).toEqual(shape(await real.query(sql)))
      const withParam = `${sql}, $1::int as p`
      expect(shape(await ours.query(withParam, [7]))).toEqual(shape(await real.query(withParam, [7])))
      expect(shape(await ours.query({ text: sql, rowMode: 'array' }))).toEqual(shape(await real.query({ text: sql, rowMode: 'array' })))
    })
  }

  it('parameters prepared as node-postgres prepares them', async () => {
    class Money {
      constructor(readonly cents: number) {}
      toPostgres(): string {
        return (this.cents / 100).toFixed(2)
      }
    }
    const params: unknown[] = [
      new Date(Date.UTC(2024, 1, 29, 13, 14, 15, 123)),
      Buffer.from('AB'),
      [1, null, [2, 3]],
      ['a,b', 'c"d', null, 'e\\f'],
      { a: 1, b: [true, null] },
      new Money(1234),
      12345678901234567890n,
      undefined,
      null,
      true,
      1.5,
      'plain',
      new Uint8Array([67, 68]),
    ]
    const sql = `select ${params.map((_, i) => `$${i + 1}::text as p${i}`).join(', ')}`
    expect(shape(await ours.query(sql, params))).toEqual(shape(await real.query(sql, params)))
    const typed = 'select $1::timestamptz as a, $2::bytea as b, $3::int[] as c, $4::jsonb as d, $5::numeric as e'
    const tparams = [params[0], params[1], [1, null, 3], params[4], params[5]]
    expect(shape(await ours.query(typed, tparams))).toEqual(shape(await real.query(typed, tparams)))
  })

  it('command tags, row counts and oid for DDL and DML, and several statements at once', async () => {
    const t = uniqueName('pgf')
    const script = `create temp table ${t} (id serial primary key, v text unique); insert into ${t} (v) values ('a'), ('b'); update ${t} set v = v || '!'; delete from ${t} where v = 'a!'; select * from ${t}`
    const a = (await real.query(script)) as unknown as pg.QueryResult[]
    const b = (await ours.query(script.replaceAll(t, `${t}_2`))) as unknown as facade.QueryResult[]
    expect(b.map(shape).map((s) => ({ ...s, fields: s.fields.map((f) => ({ ...f, tableID: 0 })) }))).toEqual(
      a.map(shape).map((s) => ({ ...s, fields: s.fields.map((f) => ({ ...f, tableID: 0 })) })),
    )
    const ins = `insert into ${t}_2 (v) values ($1) returning id`
    expect(shape(await ours.query(ins, ['z']))).toMatchObject({ command: 'INSERT', rowCount: 1, oid: 0 })
    expect(Object.keys(await ours.query('select 1'))).toEqual(expect.arrayContaining(['command', 'rowCount', 'oid', 'rows', 'fields']))
  })

  it('a COMMIT in a failed transaction reports ROLLBACK, as the server says', async () => {
    for (const c of [real, ours] as { query(sql: string): Promise<{ command: string }> }[]) {
      await c.query('begin')
      await expect(c.query('select 1/0')).rejects.toThrow()
      const r = await c.query('commit')
      expect(r.command).toBe('ROLLBACK')
    }
  })

  it('errors: DatabaseError with the same own enumerable fields, absent ones undefined', async () => {
    const t = uniqueName('pgf_err')
    await real.query(`create table ${t} (id int primary key)`)
    try {
      await real.query(`insert into ${t} values (1)`)
      const sql = `insert into ${t} values ($1)`
      const a = (await real.query(sql, [1]).catch((e: unknown) => e)) as Record<string, unknown>
      const b = (await ours.query(sql, [1]).catch((e: unknown) => e)) as Record<string, unknown>
      expect(b).toBeInstanceOf(facade.DatabaseError)
      const fields = ['severity', 'code', 'detail', 'hint', 'position', 'schema', 'table', 'column', 'dataType', 'constraint', 'routine', 'where', 'message', 'name']
      for (const f of fields) expect([f, b[f]]).toEqual([f, a[f]])
      expect(Object.keys(b)).toEqual(expect.arrayContaining(['code', 'detail', 'constraint', 'table', 'schema', 'hint']))
      expect(b.hint).toBeUndefined()
      const syntax = (await ours.query("selec 1").catch((e: unknown) => e)) as Record<string, unknown>
      expect(syntax.position).toBe('1')
      expect(syntax.code).toBe('42601')
    } finally {
      await real.query(`drop table ${t}`)
    }
  })
})

describe('pgline/pg types', () => {
  it('types.setTypeParser (global), client.setTypeParser and a query config types apply in that order', async () => {
    const c = new facade.Client(cfg())
    await c.connect()
    try {
      facade.types.setTypeParser(1700, (v) => `global:${v}`)
      expect((await c.query('select 1.5::numeric as n')).rows[0].n).toBe('global:1.5')
      c.setTypeParser(1700, (v) => parseFloat(v))
      expect((await c.query('select 1.5::numeric as n', [])).rows[0].n).toBe(1.5)
      const types = { getTypeParser: (oid: number) => (oid === 1700 ? (v: string) => `query:${v}` : facade.types.getTypeParser(oid)) }
      expect((await c.query({ text: 'select 1.5::numeric as n, 2::int4 as i', types })).rows[0]).toEqual({ n: 'query:1.5', i: 2 })
    } finally {
      facade.types.setTypeParser(1700, (v) => v)
      await c.end()
    }
  })

  it('defaults.parseInt8 makes int8 a number', async () => {
    const c = new facade.Client(cfg())
    await c.connect()
    try {
      facade.defaults.parseInt8 = true
      expect((await c.query('select 42::int8 as n, array[1,2]::int8[] as a')).rows[0]).toEqual({ n: 42, a: [1, 2] })
    } finally {
      facade.defaults.parseInt8 = false
      await c.end()
    }
    expect(facade.defaults.parseInt8).toBe(false)
  })

  it('escapeIdentifier and escapeLiteral match node-postgres', () => {
    for (const s of ['plain', 'a"b', "it's", 'back\\slash', "both\\'"]) {
      expect(facade.escapeIdentifier(s)).toBe(real.escapeIdentifier(s))
      expect(facade.escapeLiteral(s)).toBe(real.escapeLiteral(s))
    }
  })
})

describe('pgline/pg client and pool behaviour', () => {
  it('callbacks: connect(cb), query(text, cb), query(text, values, cb), end(cb)', async () => {
    const c = new facade.Client(cfg())
    const connected = new Promise<void>((resolve) => c.once('connect', () => resolve()))
    const ended = new Promise<void>((resolve) => c.once('end', () => resolve()))
    await new Promise<void>((resolve, reject) => c.connect((err) => (err ? reject(err) : resolve())))
    await connected
    const r1 = await new Promise<facade.QueryResult>((resolve, reject) => c.query('select 1 as n', (err, r) => (err ? reject(err) : resolve(r))))
    expect(r1.rows).toEqual([{ n: 1 }])
    const r2 = await new Promise<facade.QueryResult>((resolve, reject) => c.query('select $1::int as n', [2], (err, r) => (err ? reject(err) : resolve(r))))
    expect(r2.rows).toEqual([{ n: 2 }])
    const e = await new Promise<Error | null>((resolve) => c.query('select nope', (err) => resolve(err)))
    expect(e).toBeInstanceOf(facade.DatabaseError)
    expect(c.processID).toBeGreaterThan(0)
    await new Promise<void>((resolve, reject) => c.end((err) => (err ? reject(err) : resolve())))
    await ended
    await expect(c.query('select 1')).rejects.toThrow(/not queryable/)
  })

  it('queries issued before connect() resolves run once it has; queued queries keep their order and their own errors', async () => {
    const c = new facade.Client(cfg())
    const early = c.query('select 1 as n')
    await c.connect()
    const qs = [c.query('select 1 as n'), c.query('select 1/0'), c.query('select 3 as n')]
    const out = await Promise.allSettled([early, ...qs])
    expect(out.map((o) => (o.status === 'fulfilled' ? o.value.rows[0].n : (o.reason as { code: string }).code))).toEqual([1, 1, '22012', 3])
    await c.end()
  })

  it('notifications and notices reach the client as events', async () => {
    const c = new facade.Client(cfg())
    await c.connect()
    const got = new Promise<{ channel: string; payload: string }>((resolve) => c.on('notification', resolve))
    const notice = new Promise<{ message: string }>((resolve) => c.on('notice', resolve))
    await c.query('listen pgf_chan')
    await c.query("select pg_notify('pgf_chan', 'hi')")
    expect(await got).toMatchObject({ channel: 'pgf_chan', payload: 'hi' })
    await c.query("do $$ begin raise notice 'careful'; end $$")
    expect((await notice).message).toBe('careful')
    await c.end()
  })

  it('a pool: connect/release, pool.query, counts, events, release(err) retires the client, end()', async () => {
    const pool = new facade.Pool({ ...cfg(), max: 2 })
    expect(pool.constructor.name).toContain('Pool')
    const events: string[] = []
    for (const e of ['connect', 'acquire', 'release', 'remove']) pool.on(e, () => events.push(e))
    const a = await pool.connect()
    const b = await pool.connect()
    expect([pool.totalCount, pool.idleCount, pool.waitingCount]).toEqual([2, 0, 0])
    const third = pool.connect()
    expect(pool.waitingCount).toBe(1)
    a.release()
    const c = await third
    expect(c).toBe(a)
    b.release(new Error('broken'))
    c.release()
    expect(events.filter((e) => e === 'remove')).toHaveLength(1)
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => pool.query('select $1::int as n', [i])))
    expect(results.map((r) => r.rows[0].n)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(pool.totalCount).toBeLessThanOrEqual(2)
    await pool.end()
    expect(pool.ended).toBe(true)
    await expect(pool.query('select 1')).rejects.toThrow(/after calling end/)
  })

  it('pool.connect(cb) with release, and a waiting caller times out after connectionTimeoutMillis', async () => {
    const pool = new facade.Pool({ ...cfg(), max: 1, connectionTimeoutMillis: 200 })
    const client = await new Promise<facade.PoolClient>((resolve, reject) => pool.connect((err, c) => (err ? reject(err) : resolve(c!))))
    await expect(pool.connect()).rejects.toThrow(/timeout exceeded/)
    client.release()
    await pool.end()
  })
})

describe('pgline/pg Cursor and QueryStream (pg-cursor and pg-query-stream shapes)', () => {
  it('a Cursor reads in chunks, leaves the client usable after close(), and reports a failure', async () => {
    const c = new facade.Client(cfg())
    await c.connect()
    try {
      const cursor = c.query(new facade.Cursor('select g as n from generate_series(1, $1::int) g', [25]))
      const seen: number[] = []
      for (;;) {
        const rows = (await cursor.read(10)) as { n: number }[]
        if (rows.length === 0) break
        seen.push(rows.length)
      }
      await cursor.close()
      expect(seen).toEqual([10, 10, 5])
      const early = c.query(new facade.Cursor('select g from generate_series(1, 1000000) g', [], { rowMode: 'array' }))
      expect(await early.read(2)).toEqual([[1], [2]])
      await early.close()
      expect((await c.query('select 1 as ok')).rows).toEqual([{ ok: 1 }])
      const bad = c.query(new facade.Cursor('select 1/0'))
      await expect(bad.read(1)).rejects.toMatchObject({ code: '22012' })
      expect((await c.query('select 2 as ok')).rows).toEqual([{ ok: 2 }])
    } finally {
      await c.end()
    }
  })

  it('a QueryStream is a Readable of rows', async () => {
    const c = new facade.Client(cfg())
    await c.connect()
    try {
      const stream = c.query(new facade.QueryStream('select g as n from generate_series(1, 250) g', [], { batchSize: 100 }))
      const rows: { n: number }[] = []
      for await (const r of stream) rows.push(r as { n: number })
      expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1))
      expect((await c.query('select 1 as ok')).rows).toEqual([{ ok: 1 }])
    } finally {
      await c.end()
    }
  })
})

describe('pgline/pg keeps secrets out of sight', () => {
  it('a client and a pool printed or serialised show neither the password nor a connection string carrying it', async () => {
    const { inspect } = await import('node:util')
    const o = cfg()
    const url = `postgres://${o.user}:${encodeURIComponent(o.password)}@${o.host}:${o.port}/${o.database}`
    const client = new facade.Client({ connectionString: url })
    await client.connect()
    const pool = new facade.Pool({ ...o, max: 1 })
    try {
      expect((await client.query('select 1 as n')).rows).toEqual([{ n: 1 }])
      expect((await pool.query('select 1 as n')).rows).toEqual([{ n: 1 }])
      for (const shown of [inspect(client, { depth: 5 }), JSON.stringify(client), inspect(pool, { depth: 5 }), JSON.stringify(pool.options)]) {
        expect(shown).not.toContain(o.password)
      }
    } finally {
      await client.end()
      await pool.end()
    }
  })
})

describe('pgline/pg configuration and pool hooks', () => {
  it('falls back to the PG* environment when the config leaves things out', async () => {
    const o = cfg()
    const keys = ['PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE'] as const
    const saved = keys.map((k) => process.env[k])
    Object.assign(process.env, { PGHOST: o.host, PGPORT: String(o.port), PGUSER: o.user, PGPASSWORD: o.password, PGDATABASE: o.database })
    try {
      const c = new facade.Client()
      await c.connect()
      expect((await c.query('select current_user as u, current_database() as d')).rows[0]).toEqual({ u: o.user, d: o.database })
      await c.end()
    } finally {
      keys.forEach((k, i) => (saved[i] === undefined ? delete process.env[k] : (process.env[k] = saved[i])))
    }
  })

  it("queries a pool's 'connect' handler issues run before the checkout's first query", async () => {
    const pool = new facade.Pool({ ...cfg(), max: 1 })
    pool.on('connect', (client: facade.Client) => {
      void client.query("set application_name = 'set_on_connect'")
    })
    try {
      expect((await pool.query('show application_name')).rows).toEqual([{ application_name: 'set_on_connect' }])
    } finally {
      await pool.end()
    }
  })

  it('statement_timeout and application_name from the config reach the server; query_timeout cancels a query', async () => {
    const c = new facade.Client({ ...cfg(), statement_timeout: 1234, application_name: 'pgf_app', query_timeout: 200 })
    await c.connect()
    try {
      expect((await c.query('show statement_timeout')).rows[0].statement_timeout).toBe('1234ms')
      expect((await c.query('show application_name')).rows[0].application_name).toBe('pgf_app')
      // As node-postgres: query_timeout rejects with 'Query read timeout' (pgline also cancels it on the server).
      await expect(c.query('select pg_sleep(5)')).rejects.toThrow('Query read timeout')
      expect((await c.query('select 1 as ok')).rows).toEqual([{ ok: 1 }])
    } finally {
      await c.end()
    }
  })
})

// What node-postgres's own integration suite checks of a client, run on both:
// each case must behave the same on pg and on pgline/pg.
describe('node-postgres behaviours its own suite checks, on pg and on pgline/pg alike', () => {
  const libs = [
    ['pg', pg],
    ['pgline/pg', facade],
  ] as const
  for (const [name, lib] of libs) {
    describe(name, () => {
      const client = async (extra: object = {}) => {
        const c = new (lib.Client as typeof pg.Client)({ ...cfg(), ...extra })
        await c.connect()
        return c
      }

      it("'drain' once the last queued query is done, after its callback", async () => {
        const c = await client()
        const order: string[] = []
        const drained = new Promise<void>((resolve) => c.once('drain', () => resolve(void order.push('drain'))))
        c.query('select 1', () => order.push('first'))
        c.query('select 2', () => order.push('second'))
        await drained
        expect(order).toEqual(['first', 'second', 'drain'])
        await c.end()
      })

      it('a Query of several statements emits the rows of each', async () => {
        const c = await client()
        const rows: unknown[] = []
        const q = c.query(new lib.Query("select 1 as a; select 'z'::text as b") as never) as unknown as NodeJS.EventEmitter
        q.on('row', (r: unknown) => rows.push(r))
        await new Promise((resolve) => q.once('end', resolve))
        expect(rows).toEqual([{ a: 1 }, { b: 'z' }])
        await c.end()
      })

      it("end() while a query runs fails it and the queued one with 'Connection terminated', and 'end' comes", async () => {
        const c = await client()
        const order: string[] = []
        const running = c.query('select pg_sleep(5)').catch((e: Error) => order.push(`query: ${e.message}`))
        const queued = c.query('select 1').catch((e: Error) => order.push(`queued: ${e.message}`))
        c.once('end', () => order.push('end'))
        await new Promise((r) => setTimeout(r, 50))
        await c.end()
        await Promise.all([running, queued])
        expect(order.sort()).toEqual(['end', 'query: Connection terminated', 'queued: Connection terminated'])
      })

      it('a named statement runs again by its name alone', async () => {
        const c = await client()
        await c.query({ name: 'by_name', text: 'select $1::int as n', values: [1] })
        const again = await c.query({ name: 'by_name', values: [2] } as never)
        expect((again as pg.QueryResult).rows).toEqual([{ n: 2 }])
        await c.end()
      })

      it("queryMode 'extended' refuses several statements without values", async () => {
        const c = await client()
        await expect(c.query({ text: 'select 1; select 2', queryMode: 'extended' } as never)).rejects.toMatchObject({ code: '42601' })
        await c.end()
      })

      it("a notice is named 'notice' and carries the server's fields", async () => {
        const c = await client()
        const notice = new Promise<Record<string, unknown>>((resolve) => c.once('notice', resolve as never))
        await c.query("do $$ begin raise notice 'hello' using detail = 'd'; end $$")
        expect(await notice).toMatchObject({ name: 'notice', message: 'hello', detail: 'd', severity: 'NOTICE', code: '00000' })
        await c.end()
      })

      it('the Promise option makes the promises it returns', async () => {
        class Marked<T> extends Promise<T> {}
        const c = new (lib.Client as typeof pg.Client)({ ...cfg(), Promise: Marked } as never)
        expect(c.connect()).toBeInstanceOf(Marked)
        await new Promise((r) => setTimeout(r, 100))
        const q = c.query('select 1')
        expect(q).toBeInstanceOf(Marked)
        await q
        await c.end()
      })

      it('fractional statement_timeout is whole milliseconds', async () => {
        const c = await client({ statement_timeout: 3000.7 })
        expect((await c.query('show statement_timeout')).rows[0].statement_timeout).toBe('3s')
        await c.end()
      })

      it('the server ending a session: the running query gets its 57P01, the client an error, later queries refuse', async () => {
        const c = await client()
        const errors: Error[] = []
        c.on('error', (e) => errors.push(e))
        const pid = (await c.query('select pg_backend_pid() as p')).rows[0].p
        const running = c.query('select pg_sleep(5)').catch((e: { code?: string }) => e)
        await new Promise((r) => setTimeout(r, 100))
        await ours.query('select pg_terminate_backend($1)', [pid])
        expect(await running).toMatchObject({ code: '57P01' })
        await new Promise((r) => setTimeout(r, 100))
        expect(errors.map((e) => e.message)).toEqual(['Connection terminated unexpectedly'])
        await expect(c.query('select 1')).rejects.toThrow(/not queryable/)
      })

      it('a password function that gives no string fails the connect with a clear error', async () => {
        const c = new (lib.Client as typeof pg.Client)({ ...cfg(), password: (() => 42) as never })
        await expect(c.connect()).rejects.toThrow('Password must be a string')
      })

      it('an interval has only the parts it holds', async () => {
        const c = await client()
        const { i } = (await c.query("select '1 year 2 mons 3 days'::interval as i")).rows[0]
        expect(Object.keys(i)).toEqual(['years', 'months', 'days'])
        await c.end()
      })

      it('an SSL key is kept out of the printed client', async () => {
        const c = new (lib.Client as typeof pg.Client)({ ...cfg(), ssl: { rejectUnauthorized: false, key: 'PRIVATE-KEY-TEXT' } })
        expect(JSON.stringify(c)).not.toContain('PRIVATE-KEY-TEXT')
        expect(inspect(c, { depth: 5 })).not.toContain('PRIVATE-KEY-TEXT')
      })
    })
  }
})
