// pgline behind PgBouncer in transaction mode (Debian's pgbouncer package;
// test/support/pgbouncer.ts starts one in front of the run's server). Between
// transactions a client may land on another server connection, so only what
// lives inside one transaction (or one Sync) is reliable: queries with
// unnamed statements (`prepare: false`, implied by `pooler: 'transaction'`),
// pipelines, COPY, transactions, streams and cursors inside a transaction.
// Session state (SET, temp tables, named statements, LISTEN) is not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, ConnectionError, DatabaseError, InterfaceError, PipelineAborted, type Connection, type ConnectionOptions, type Result } from '../../src/index.js'
import { findPgBouncer, startPgBouncer, type PgBouncer } from '../support/pgbouncer.js'
import { testServer } from '../support/env.js'
import { connectAs, uniqueName, type Role } from './_util.js'

const found = findPgBouncer()
const skipReason = 'reason' in found ? found.reason : undefined
if (skipReason) console.warn(`pgbouncer.test: skipped, ${skipReason}`)

let bouncer: PgBouncer
const opened: Connection[] = []

function viaBouncer(role: Role = 'scram', extra: ConnectionOptions = {}): Promise<Connection> {
  const s = testServer()
  const r = role === 'superuser' ? s.superuser : s.roles[role]
  return connect({
    host: bouncer.host, port: bouncer.port, database: bouncer.database, user: r.user, password: r.password,
    tls: 'disable', connectTimeout: 10_000,
    ...extra,
  }).then((c) => {
    opened.push(c)
    return c
  })
}

describe.skipIf(skipReason !== undefined)('through PgBouncer in transaction mode', () => {
  let conn: Connection
  const tables: string[] = []
  async function table(cols = 'i int primary key, s text'): Promise<string> {
    const t = uniqueName('bouncer')
    // A real table: a temp table is session state and may be on another server connection next time.
    await conn.query(`create table ${t} (${cols})`)
    tables.push(t)
    return t
  }

  beforeAll(async () => {
    bouncer = await startPgBouncer(testServer(), (found as { bin: string }).bin)
    conn = await viaBouncer('scram', { pooler: 'transaction' })
  })
  afterAll(async () => {
    try {
      for (const t of tables) await conn?.query(`drop table if exists ${t}`)
    } finally {
      await Promise.all(opened.map((c) => c.close().catch(() => undefined)))
      await bouncer?.stop()
    }
  })

  it('logs in with every auth method the server uses', async () => {
    for (const role of ['trust', 'md5', 'scram'] as const) {
      const c = await viaBouncer(role, { prepare: false })
      expect((await c.query<{ u: string }>('select current_user as u')).rows[0]!.u).toBe(testServer().roles[role].user)
      await c.close()
    }
  })

  it('connects with the default protocol version, 3.0', () => {
    expect(conn.protocolVersion).toBe('3.0')
  })

  it('explains why a PgBouncer before 1.22 refuses protocol 3.2', async (ctx) => {
    if (bouncer.negotiatesProtocol) ctx.skip(`PgBouncer ${bouncer.version} negotiates the protocol version`)
    // The pooler answers the 3.2 StartupMessage with "bad packet header" instead of NegotiateProtocolVersion.
    const err = await viaBouncer('scram', { pooler: 'transaction', protocolVersion: '3.2' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConnectionError)
    expect((err as ConnectionError).retrySafe).toBe(true)
    expect((err as Error).message).toMatch(/refused the protocol 3\.2 startup \(bad packet header.*PgBouncer before 1\.22.*max_protocol_version=3\.0/)
    expect((err as Error).cause).toBeInstanceOf(DatabaseError)
    expect(((err as Error).cause as DatabaseError).code).toBe('08P01')
  })

  it('is downgraded to 3.0 by a PgBouncer 1.22+ when asking for 3.2', async (ctx) => {
    if (!bouncer.negotiatesProtocol) ctx.skip(`PgBouncer ${bouncer.version} cannot negotiate the protocol version`)
    const c = await viaBouncer('scram', { pooler: 'transaction', protocolVersion: '3.2' })
    expect(c.protocolVersion).toBe('3.0')
    expect((await c.query<{ n: number }>('select 1 as n')).rows[0]!.n).toBe(1)
  })

  it('runs queries with parameters', async () => {
    const r = await conn.query<{ n: number; s: string; b: boolean | null }>('select $1::int + 1 as n, $2::text as s, $3::bool as b', [41, 'héllo', null])
    expect(r.rows).toEqual([{ n: 42, s: 'héllo', b: null }])
    expect(r.command).toBe('SELECT')
  })

  it('pipelines many concurrent queries on one connection, each with its own answer', async () => {
    const n = 500
    const all = await Promise.all(Array.from({ length: n }, (_, i) => conn.query<{ v: number; t: string }>('select $1::int as v, $2::text as t', [i, `q${i}`])))
    all.forEach((r, i) => expect(r.rows[0]).toEqual({ v: i, t: `q${i}` }))
  })

  it('runs an explicit pipeline: a failure aborts the rest of its Sync group only', async () => {
    const t = await table()
    const settled = await conn.pipeline(async (p) => {
      const group1 = [p.query(`insert into ${t} values ($1, 'a')`, [1]), p.query(`insert into ${t} values ($1, 'b')`, [2])]
      void p.sync()
      const group2 = [
        p.query(`insert into ${t} values ($1, 'c')`, [3]),
        p.query('select 1 / $1::int', [0]),
        p.query(`insert into ${t} values ($1, 'd')`, [4]),
      ]
      void p.sync()
      const group3 = [p.query(`select count(*)::int as n from ${t}`)]
      // Sync before awaiting: statements after the last Sync go out with Flush, and
      // PgBouncer (seen with 1.18) releases the server connection at the previous
      // Sync's ReadyForQuery, dropping their results: the await would hang.
      void p.sync()
      return Promise.allSettled([...group1, ...group2, ...group3])
    })
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled'])
    expect(((settled[3] as PromiseRejectedResult).reason as DatabaseError).code).toBe('22012')
    expect((settled[4] as PromiseRejectedResult).reason).toBeInstanceOf(PipelineAborted)
    // The failing group was one implicit transaction: its first insert was rolled back too.
    expect(((settled[5] as PromiseFulfilledResult<Result<{ n: number }>>).value).rows[0]!.n).toBe(2)
    expect((await conn.query<{ i: number }>(`select i from ${t} order by i`)).rows.map((r) => r.i)).toEqual([1, 2])
  })

  it('runs executeMany', async () => {
    const t = await table()
    const rows = Array.from({ length: 1000 }, (_, i) => [i, `r${i}`])
    expect(await conn.executeMany(`insert into ${t} values ($1, $2)`, rows)).toBe(1000)
    expect((await conn.query<{ n: number }>(`select count(*)::int as n from ${t}`)).rows[0]!.n).toBe(1000)
  })

  it('copies in and out', async () => {
    const t = await table()
    async function* gen() {
      for (let i = 0; i < 5000; i++) yield [i, i % 7 ? `row ${i}\ttab` : null]
    }
    expect(await conn.copyFrom(`copy ${t} from stdin`, gen())).toBe(5000)
    const w = await conn.copyFrom(`copy ${t} from stdin (format csv)`)
    await w.write('5000,"x"\n5001,"y"\n')
    expect(await w.end()).toBe(2)
    const back: unknown[][] = []
    for await (const r of conn.copyTo(`copy (select * from ${t} order by i) to stdout`).rows()) back.push(r)
    expect(back.length).toBe(5002)
    expect(back[1]).toEqual([1, 'row 1\ttab'])
    expect(back[7]).toEqual([7, null])
    let bytes = 0
    for await (const chunk of conn.copyTo(`copy ${t} to stdout (format binary)`)) bytes += chunk.length
    expect(bytes).toBeGreaterThan(5002 * 8)
  })

  it('runs transactions with savepoints and rollback', async () => {
    const t = await table()
    await conn.transaction(async (tx) => {
      await tx.query(`insert into ${t} values (1, 'kept')`)
      await tx
        .transaction(async (inner) => {
          await inner.query(`insert into ${t} values (2, 'rolled back to the savepoint')`)
          await inner.query(`insert into ${t} values (1, 'duplicate')`)
        })
        .catch(() => undefined)
      await tx.transaction(async (inner) => inner.query(`insert into ${t} values (3, 'kept')`))
      // Inside a transaction the server connection is ours: session-level settings hold until commit.
      await tx.query("set local application_name = 'pgline_tx'")
      expect((await tx.query<{ a: string }>("select current_setting('application_name') as a")).rows[0]!.a).toBe('pgline_tx')
    })
    const boom = new Error('boom')
    await expect(conn.transaction(async (tx) => {
      await tx.query(`insert into ${t} values (4, 'rolled back')`)
      throw boom
    })).rejects.toBe(boom)
    expect((await conn.query<{ i: number }>(`select i from ${t} order by i`)).rows.map((r) => r.i)).toEqual([1, 3])
    expect(conn.transactionStatus).toBe('I')
  })

  it('streams rows through an unnamed portal (one Sync, so one server connection)', async () => {
    const got: number[] = []
    for await (const r of conn.stream<{ g: number }>('select g from generate_series(1, $1::int) g', [2500], { batchSize: 300 })) got.push(r.g)
    expect(got.length).toBe(2500)
    expect(got[2499]).toBe(2500)
    // Breaking out closes the portal and syncs: the connection goes on.
    for await (const r of conn.stream<{ g: number }>('select g from generate_series(1, 10000) g', [], { batchSize: 100 })) if (r.g === 150) break
    expect((await conn.query('select 1 as ok')).rows[0]).toEqual({ ok: 1 })
  })

  it('uses a server-side cursor inside a transaction', async () => {
    await conn.transaction(async (tx) => {
      const c = tx.serverCursor<{ g: number }>('pooled_cursor')
      await c.execute('select g from generate_series(1, $1::int) g', [40])
      expect((await c.fetch(5)).map((r) => r.g)).toEqual([1, 2, 3, 4, 5])
      const rest: number[] = []
      for await (const r of c) rest.push(r.g)
      expect(rest.length).toBe(35)
      await c.close()
    })
  })

  it('round-trips types', async () => {
    const values = [
      ['int8', 9007199254740993n, 'int8'],
      ['numeric', '12345678901234567890.000123', 'numeric'],
      ['bytea', Buffer.from([0, 1, 2, 255]), 'bytea'],
      ['jsonb', { a: [1, 'x', null], b: { c: true } }, 'jsonb'],
      ['int[]', [1, null, 3], 'int4[]'],
      ['text[]', ['a', 'b c', '"q"', null], 'text[]'],
      ['uuid', '2b8e5c2e-5a8f-4b1d-9c6e-6a1f7c3e2d10', 'uuid'],
      ['timestamptz', new Date('2024-02-29T12:34:56.789Z'), 'timestamptz'],
      ['bool', true, 'bool'],
      ['float8', 1.5e300, 'float8'],
    ] as const
    for (const [name, value, cast] of values) {
      const r = await conn.query<{ v: unknown }>(`select $1::${cast} as v`, [value])
      expect(r.rows[0]!.v, name).toEqual(value)
    }
  })

  describe('pooler: transaction', () => {
    it('turns the statement cache off (prepare: false)', async () => {
      const a = await viaBouncer('scram', { pooler: 'transaction' })
      const b = await viaBouncer('scram', { pooler: 'transaction' })
      // Two clients, one server connection, the same statement names on both sides:
      // fine, since nothing named is prepared.
      for (let i = 0; i < 3; i++) {
        const [x, y] = await Promise.all([a.query('select $1::int as v', [i]), b.query('select $1::text as v', [`b${i}`])])
        expect([x.rows[0], y.rows[0]]).toEqual([{ v: i }, { v: `b${i}` }])
      }
    })

    it('rejects listen() with an InterfaceError that says why', async () => {
      const err = await conn.listen('pgline_pooled', () => {}).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(InterfaceError)
      expect((err as Error).message).toMatch(/LISTEN.*transaction.*pool/i)
      // Nothing was sent: the connection is fine.
      expect((await conn.query('select 1 as ok')).rows[0]).toEqual({ ok: 1 })
    })
  })

  describe('what transaction pooling breaks', () => {
    const single = (role: Role, extra: ConnectionOptions) => viaBouncer(role, { database: bouncer.singleDatabase, ...extra })

    it('named prepared statements from two clients collide on the shared server connection', async () => {
      // pgline_one has one server connection: both clients' statements land on it,
      // and each client names its first cached statement pgline_1.
      const a = await single('scram', { prepare: true })
      const b = await single('scram', { prepare: true })
      expect((await a.query('select $1::int as v', [1])).rows[0]).toEqual({ v: 1 })
      const err = await b.query('select $1::text as w', ['x']).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(DatabaseError)
      expect((err as DatabaseError).code).toBe('42P05') // duplicate_prepared_statement
      expect((err as Error).message).toMatch(/pgline_1.*already exists/)
      // The same two clients with prepare: false share the server connection without trouble.
      const c = await single('scram', { prepare: false })
      expect((await c.query('select $1::text as w', ['x'])).rows[0]).toEqual({ w: 'x' })
      // Leave the shared server connection clean for the next test.
      await c.simpleQuery('deallocate all')
    })

    it('session settings leak to the next client of the server connection', async () => {
      const a = await single('md5', { pooler: 'transaction' })
      const b = await single('md5', { pooler: 'transaction' })
      await a.query("set statement_timeout = '4321ms'")
      expect((await b.query<{ t: string }>("select current_setting('statement_timeout') as t")).rows[0]!.t).toBe('4321ms')
      await b.query('reset statement_timeout')
    })
  })
})

// Needs no pooler: the option's effects are visible on a direct connection too.
describe("the pooler: 'transaction' option", () => {
  it('makes listen() reject with an InterfaceError that says why, without sending anything', async () => {
    const c = await connectAs('scram', { pooler: 'transaction' })
    try {
      const err = await c.listen('pgline_pooled', () => {}).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(InterfaceError)
      expect((err as Error).message).toMatch(/LISTEN.*transaction-mode pooler/)
      expect((await c.query<{ n: number }>("select count(*)::int as n from pg_listening_channels()")).rows[0]!.n).toBe(0)
      await c.notify('pgline_pooled', 'still fine') // notify() goes through poolers
    } finally {
      await c.close()
    }
  })

  it('turns the statement cache off unless prepare is given', async () => {
    const count = async (c: Connection) => {
      for (let i = 0; i < 3; i++) await c.query('select $1::int as v', [i])
      return (await c.query<{ n: number }>('select count(*)::int as n from pg_prepared_statements', [], { prepare: false })).rows[0]!.n
    }
    const pooled = await connectAs('scram', { pooler: 'transaction' })
    const explicit = await connectAs('scram', { pooler: 'transaction', prepare: true })
    try {
      expect(await count(pooled)).toBe(0)
      expect(await count(explicit)).toBeGreaterThan(0)
    } finally {
      await pooled.close()
      await explicit.close()
    }
  })
})
