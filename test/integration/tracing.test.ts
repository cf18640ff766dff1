// Tracing through node:diagnostics_channel, against the real server: each
// operation's channel gets start, end, asyncStart and asyncEnd (and error)
// in that order, with a context that says what ran and where, never the
// parameter values or the password; the subscriber sees the caller's async
// context at start; a subscriber that throws leaves the query alone.
import { AsyncLocalStorage } from 'node:async_hooks'
import dc from 'node:diagnostics_channel'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CHANNELS, connect, Pool, type Connection } from '../../src/index.js'
import { connectAs, optionsFor, runScript, SRC_URL, uniqueName } from './_util.js'
import pg from '../../src/pg/index.js'

type Event = { channel: string; phase: string; ctx: Record<string, unknown> }

const PHASES = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const
let events: Event[] = []
const unsubscribers: (() => void)[] = []

function record(...names: string[]): void {
  for (const name of names) {
    const ch = dc.tracingChannel(name)
    const handlers = Object.fromEntries(PHASES.map((phase) => [phase, (ctx: object) => events.push({ channel: name, phase, ctx: ctx as Record<string, unknown> })]))
    ch.subscribe(handlers as never)
    unsubscribers.push(() => ch.unsubscribe(handlers as never))
  }
}

const phasesOf = (channel: string) => events.filter((e) => e.channel === channel).map((e) => e.phase)
const contextsOf = (channel: string) => [...new Set(events.filter((e) => e.channel === channel).map((e) => e.ctx))]

let conn: Connection
const T = uniqueName('trace')
const SECRET = 'sekrit-parameter-value'

beforeAll(async () => {
  conn = await connectAs('scram')
  await conn.query(`create table ${T} (id int, v text)`)
})

afterAll(async () => {
  await conn?.query(`drop table if exists ${T}`)
  await conn?.close()
})

afterEach(() => {
  for (const u of unsubscribers.splice(0)) u()
  events = []
})

describe('tracing channels', () => {
  it("a query: start and end in the caller's turn, asyncStart and asyncEnd once it settled, with the command tag and row count and no values", async () => {
    record(CHANNELS.query)
    const p = conn.query(`select $1::text as v, generate_series(1, 3) as n`, [SECRET])
    expect(phasesOf(CHANNELS.query)).toEqual(['start', 'end'])
    await p
    expect(phasesOf(CHANNELS.query)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd'])
    const [ctx] = contextsOf(CHANNELS.query)
    expect(ctx).toMatchObject({ kind: 'extended', sql: 'select $1::text as v, generate_series(1, 3) as n', paramCount: 1, command: 'SELECT', rowCount: 3 })
    expect(ctx!.connection).toEqual({ ...conn.toJSON(), tls: expect.any(Boolean), state: undefined, inFlight: undefined })
    expect(JSON.stringify(ctx)).not.toContain(SECRET)
    expect(JSON.stringify(ctx)).not.toContain(optionsFor('scram').password as string)
  })

  it('a failed query: error with the DatabaseError, then asyncStart and asyncEnd; the connection goes on', async () => {
    record(CHANNELS.query)
    await expect(conn.query('select 1/0')).rejects.toMatchObject({ code: '22012' })
    expect(phasesOf(CHANNELS.query)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    expect(contextsOf(CHANNELS.query)[0]!.error).toMatchObject({ code: '22012' })
    expect((await conn.query('select 1 as one')).rows).toEqual([{ one: 1 }])
  })

  it('simpleQuery, prepared statements and pipeline statements each publish a query; a Sync publishes on pipeline:sync', async () => {
    record(CHANNELS.query, CHANNELS.pipelineSync)
    await conn.simpleQuery(`insert into ${T} values (1, 'a'); insert into ${T} values (2, 'b')`)
    const stmt = await conn.prepare(`select v from ${T} where id = $1`)
    await stmt.execute([2])
    await conn.pipeline(async (p) => {
      void p.query(`insert into ${T} values ($1, $2)`, [3, SECRET])
      void p.query(`select count(*)::int as n from ${T}`)
      await p.sync()
    })
    const queries = contextsOf(CHANNELS.query)
    expect(queries.map((c) => [c.kind, c.command, c.rowCount])).toEqual([
      ['simple', 'INSERT', 1],
      ['extended', 'SELECT', 1],
      ['pipelined', 'INSERT', 1],
      ['pipelined', 'SELECT', 1],
    ])
    expect(queries[1]!.statementName).toBe(stmt.name)
    expect(contextsOf(CHANNELS.pipelineSync)).toEqual([expect.objectContaining({ statements: 2 })])
    expect(JSON.stringify(events.map((e) => e.ctx))).not.toContain(SECRET)
  })

  it('a transaction: commit, rollback, a savepoint; its queries inside it', async () => {
    record(CHANNELS.transaction)
    await conn.transaction(async (tx) => {
      await tx.query('select 1')
      await tx.transaction(async (inner) => void (await inner.query('select 2')))
    })
    await expect(
      conn.transaction(async () => {
        throw new Error('no')
      }, { isolation: 'serializable' }),
    ).rejects.toThrow('no')
    const txs = contextsOf(CHANNELS.transaction)
    expect(txs.map((c) => [c.savepoint, c.outcome])).toEqual([
      [false, 'commit'],
      [true, 'commit'],
      [false, 'rollback'],
    ])
    expect(txs[2]!.begin).toMatch(/serializable/i)
    expect(txs[2]!.error).toMatchObject({ message: 'no' })
  })

  it('COPY in and out, with the row count', async () => {
    record(CHANNELS.copy)
    const n = await conn.copyFrom(`copy ${T} (id, v) from stdin`, ['10\tx\n', '11\ty\n'])
    expect(n).toBe(2)
    let bytes = 0
    for await (const chunk of conn.copyTo(`copy ${T} to stdout`)) bytes += chunk.length
    expect(bytes).toBeGreaterThan(0)
    await expect(conn.copyFrom(`copy ${T} (id) from stdin`, ['not a number\n'])).rejects.toMatchObject({ code: '22P02' })
    expect(contextsOf(CHANNELS.copy).map((c) => [c.direction, c.rowCount, (c.error as { code?: string } | undefined)?.code])).toEqual([
      ['in', 2, undefined],
      ['out', 5, undefined],
      ['in', undefined, '22P02'],
    ])
  })

  it('connect: where, and at the end the session, TLS and the authentication method, never the password', async () => {
    record(CHANNELS.connect)
    const c = await connect(optionsFor('md5'))
    await c.close()
    await expect(connect(optionsFor('md5', { password: 'wrong-password' }))).rejects.toMatchObject({ code: '28P01' })
    const [ok, bad] = contextsOf(CHANNELS.connect)
    expect(ok).toMatchObject({ user: optionsFor('md5').user, authMethod: 'md5', processId: expect.any(Number), serverVersion: expect.any(String) })
    expect(bad!.error).toMatchObject({ code: '28P01' })
    expect(JSON.stringify([ok, bad])).not.toContain('wrong-password')
    expect(JSON.stringify([ok, bad])).not.toContain(optionsFor('md5').password as string)
  })

  it('a query refused at once (an aborted signal): start, end, then error, asyncStart, asyncEnd', async () => {
    record(CHANNELS.query)
    const ac = new AbortController()
    ac.abort()
    await expect(conn.query('select 1', [], { signal: ac.signal })).rejects.toMatchObject({ code: '57014' })
    expect(phasesOf(CHANNELS.query)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
  })

  it("a stream is a query of kind 'stream' from its start to its end; a COPY refused before it was sent still ends its trace", async () => {
    record(CHANNELS.query, CHANNELS.copy)
    const got: number[] = []
    for await (const r of conn.stream<{ n: number }>('select generate_series(1, 5) as n where $1::text is not null', [SECRET], { batchSize: 2 })) got.push(r.n)
    expect(got).toEqual([1, 2, 3, 4, 5])
    expect(contextsOf(CHANNELS.query)).toEqual([expect.objectContaining({ kind: 'stream', paramCount: 1 })])
    expect(phasesOf(CHANNELS.query)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd'])
    await expect(
      conn.transaction(async () => {
        for await (const _ of conn.copyTo(`copy ${T} to stdout`)) void _
      }),
    ).rejects.toThrow()
    expect(phasesOf(CHANNELS.copy)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    expect(JSON.stringify(events.map((e) => e.ctx))).not.toContain(SECRET)
  })

  it("a transaction's context never holds what its callback returned; one rolled back by its callback says so", async () => {
    record(CHANNELS.transaction)
    await conn.transaction(async (tx) => (await tx.query('select $1::text as s', [SECRET])).rows)
    await conn.transaction(async (tx) => {
      await tx.rollback()
      return 'fine'
    })
    const [first, second] = contextsOf(CHANNELS.transaction)
    expect(JSON.stringify(first)).not.toContain(SECRET)
    expect('result' in first!).toBe(false)
    expect(second!.outcome).toBe('rollback')
  })

  it("a pool's acquire: the time waited and the connection handed out; the caller's async context seen at start", async () => {
    record(CHANNELS.poolAcquire, CHANNELS.query)
    const als = new AsyncLocalStorage<string>()
    const seen: (string | undefined)[] = []
    const onStart = () => seen.push(als.getStore())
    dc.tracingChannel(CHANNELS.query).start.subscribe(onStart)
    unsubscribers.push(() => dc.tracingChannel(CHANNELS.query).start.unsubscribe(onStart))
    const pool = new Pool(optionsFor('scram'), { max: 1 })
    try {
      await als.run('request-1', () => pool.query('select 1'))
      await als.run('request-2', () => pool.query('select 2'))
    } finally {
      await pool.close()
    }
    expect(seen).toEqual(['request-1', 'request-2'])
    const acquires = contextsOf(CHANNELS.poolAcquire)
    expect(acquires).toHaveLength(2)
    expect(acquires[0]).toMatchObject({ pool: { user: optionsFor('scram').user }, waitedMs: expect.any(Number), connection: { processId: expect.any(Number) } })
    expect(phasesOf(CHANNELS.poolAcquire)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd', 'start', 'end', 'asyncStart', 'asyncEnd'])
  })
})

describe("pgline/pg on node-postgres's channels", () => {
  it('pg:query, pg:connection, pg:pool:connect, pg:pool:release and pg:pool:remove, in pg\'s shapes', async () => {
    record('pg:query', 'pg:connection', 'pg:pool:connect')
    const released: unknown[] = []
    const removed: unknown[] = []
    const onRelease = (m: unknown) => released.push(m)
    const onRemove = (m: unknown) => removed.push(m)
    dc.channel('pg:pool:release').subscribe(onRelease)
    dc.channel('pg:pool:remove').subscribe(onRemove)
    unsubscribers.push(() => dc.channel('pg:pool:release').unsubscribe(onRelease), () => dc.channel('pg:pool:remove').unsubscribe(onRemove))
    const o = optionsFor('scram')
    const pool = new pg.Pool({ host: o.host, port: Number(o.port), user: o.user, password: o.password as string, database: o.database, max: 1 })
    try {
      const client = await pool.connect()
      await client.query('select $1::text as v', [SECRET])
      await expect(client.query('select nope')).rejects.toThrow()
      client.release()
      const again = await pool.connect()
      again.release(new Error('done with it'))
    } finally {
      await pool.end()
    }
    const [q1, q2] = contextsOf('pg:query')
    expect(q1).toMatchObject({ query: { text: 'select $1::text as v' }, client: { user: o.user, database: o.database, processID: expect.any(Number), ssl: false }, result: { rowCount: 1 } })
    expect(q2).toMatchObject({ error: { code: '42703' } })
    expect(phasesOf('pg:connection')).toEqual(['start', 'end', 'asyncStart', 'asyncEnd'])
    expect(contextsOf('pg:connection')[0]).toMatchObject({ connection: { user: o.user, host: o.host } })
    const acquires = contextsOf('pg:pool:connect')
    expect(acquires.map((c) => c.client)).toEqual([expect.objectContaining({ reused: false }), expect.objectContaining({ reused: true })])
    expect(acquires[0]).toMatchObject({ pool: { maxSize: 1, totalCount: 0 } })
    expect(released).toEqual([{ client: { processID: expect.any(Number) }, error: undefined }, { client: { processID: expect.any(Number) }, error: expect.any(Error) }])
    expect(removed).toEqual([{ client: { processID: expect.any(Number) } }])
    expect(JSON.stringify(events.map((e) => ({ ...e.ctx, result: undefined })))).not.toContain(SECRET)
    expect(JSON.stringify(events.map((e) => ({ ...e.ctx, result: undefined })))).not.toContain(o.password as string)
  })
})

describe('a subscriber that throws', () => {
  it('is reported as an uncaught exception by Node; the query still settles with its result and the connection goes on', async () => {
    const out = await runScript(
      `import dc from 'node:diagnostics_channel'
import { connect, CHANNELS } from ${JSON.stringify(SRC_URL)}
const reported = []
process.on('uncaughtException', (e) => reported.push(e.message))
const boom = () => { throw new Error('subscriber bug') }
dc.tracingChannel(CHANNELS.query).subscribe({ start: boom, end: boom, asyncStart: boom, asyncEnd: boom, error: boom })
const conn = await connect(JSON.parse(process.env.OPTS))
const r = await conn.query('select 41 + 1 as n')
const failed = await conn.query('select 1/0').catch((e) => e.code)
const again = await conn.query('select 2 as n')
await conn.close()
await new Promise((r) => setTimeout(r, 20))
console.log(JSON.stringify({ n: r.rows[0].n, failed, again: again.rows[0].n, reported: reported.length }))`,
      { OPTS: JSON.stringify(optionsFor('scram')) },
    )
    expect(out, out.stderr).toMatchObject({ code: 0 })
    const seen = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as { n: number; failed: string; again: number; reported: number }
    expect(seen).toMatchObject({ n: 42, failed: '22012', again: 2 })
    // Every phase of the three queries threw: 4 + 5 + 4 handlers.
    expect(seen.reported).toBe(13)
  })
})
