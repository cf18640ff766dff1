import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ConnectionError,
  DatabaseError,
  InterfaceError,
  ParameterError,
  SyntaxError as PgSyntaxError,
  UniqueViolation,
  UndefinedTable,
  type Connection,
} from '../../src/index.js'
import { connectAs, uniqueName } from './_util.js'

let conn: Connection

beforeAll(async () => {
  conn = await connectAs('scram')
})
afterAll(async () => {
  await conn?.close()
})

describe('server errors', () => {
  it('maps a syntax error to its class with the position, and the connection stays usable', async () => {
    const err = await conn.query('select 1 frm nowhere').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PgSyntaxError)
    expect(err).toBeInstanceOf(DatabaseError)
    const e = err as DatabaseError
    expect(e.code).toBe('42601')
    expect(e.severity).toBe('ERROR')
    expect(e.position).toBe(14) // 'frm' parses as an alias; the error is at 'nowhere'
    expect(e.query).toBe('select 1 frm nowhere')
    expect((await conn.query('select 1 as ok')).rows[0]!.ok).toBe(1)
  })

  it('formats the error of a multi-line statement with its line and a caret, keeping the SQL out of the message', async () => {
    const sql = 'select 1,\n\t2 as two\nfrm nowhere'
    const e = (await conn.query(sql).catch((x: unknown) => x)) as DatabaseError
    expect(e.query).toBe(sql)
    expect(e.message).not.toContain('nowhere')
    expect(e.format()).toBe(['ERROR:  syntax error at or near "frm"', 'LINE 3: frm nowhere', '        ^'].join('\n'))
    const inner = (await conn.query('do $$ begin perform nosuch from (select 1) s; end $$').catch((x: unknown) => x)) as DatabaseError
    const lines = inner.format().split('\n')
    expect(lines[0]).toBe('ERROR:  column "nosuch" does not exist')
    expect(lines[1]).toMatch(/^LINE 1: .*nosuch/)
    expect(lines[1]!.slice(lines[2]!.indexOf('^')).startsWith('nosuch')).toBe(true)
    expect(lines).toContain(`QUERY:  ${inner.internalQuery}`)
    expect(lines.at(-1)).toMatch(/^CONTEXT:  PL\/pgSQL/)
  })

  it('carries every field of a constraint violation', async () => {
    const t = uniqueName('uq')
    await conn.query(`create temp table ${t} (id int constraint ${t}_pk primary key)`)
    await conn.query(`insert into ${t} values (1)`)
    const err = await conn.query(`insert into ${t} values ($1)`, [1]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UniqueViolation)
    const e = err as UniqueViolation
    expect(e.code).toBe('23505')
    expect(e.table).toBe(t)
    expect(e.constraint).toBe(`${t}_pk`)
    expect(e.schema).toMatch(/^pg_temp/)
    expect(e.detail).toContain('(id)=(1)')
    expect(e.file).toBeTruthy()
    expect(e.line).toBeGreaterThan(0)
    expect(e.routine).toBeTruthy()
  })

  it('reports errors from a PL/pgSQL context with where, hint and internal query', async () => {
    const err = await conn
      .query(`do $$ begin raise exception using message = 'boom', detail = 'd', hint = 'h', errcode = '22012'; end $$`)
      .catch((e: unknown) => e)
    const e = err as DatabaseError
    expect(e.code).toBe('22012')
    expect(e.message).toBe('boom')
    expect(e.detail).toBe('d')
    expect(e.hint).toBe('h')
    expect(e.where).toContain('PL/pgSQL')
    const inner = (await conn.query('do $$ begin perform 1/0 from (select 1) s where nosuch = 1; end $$').catch((x: unknown) => x)) as DatabaseError
    expect(inner.internalQuery).toContain('nosuch')
    expect(inner.internalPosition).toBeGreaterThan(0)
  })

  it('names an undefined table', async () => {
    await expect(conn.query('select * from no_such_table_here')).rejects.toBeInstanceOf(UndefinedTable)
  })

  it('keeps other pipelined queries apart from the failing one', async () => {
    const [a, b, c] = await Promise.allSettled([
      conn.query('select 1 as v'),
      conn.query('select 1/0 as v'),
      conn.query('select 3 as v'),
    ])
    expect(a.status === 'fulfilled' && a.value.rows[0]!.v).toBe(1)
    expect(b.status === 'rejected' && (b.reason as DatabaseError).code).toBe('22012')
    expect(c.status === 'fulfilled' && c.value.rows[0]!.v).toBe(3)
  })

  it('tracks transaction status through a failed transaction', async () => {
    await conn.query('begin')
    expect(conn.transactionStatus).toBe('T')
    await conn.query('select nonsense_column').catch(() => undefined)
    expect(conn.transactionStatus).toBe('E')
    await expect(conn.query('select 1')).rejects.toMatchObject({ code: '25P02' })
    await conn.query('rollback')
    expect(conn.transactionStatus).toBe('I')
  })

  it('delivers notices to handlers', async () => {
    const seen: string[] = []
    const c = await connectAs('scram', { onNotice: (n) => seen.push(`${n.severity}:${n.message}`) })
    await c.query(`do $$ begin raise notice 'hello %', 42; raise warning 'careful'; end $$`)
    expect(seen).toEqual(['NOTICE:hello 42', 'WARNING:careful'])
    await c.close()
  })
})

describe('bad input is refused before sending', () => {
  it('checks the parameter count', async () => {
    await expect(conn.query('select $1::int, $2::int', [1])).rejects.toThrow(/uses 2 parameters .* but 1 was given/)
    await expect(conn.query('select $1::int', [1, 2])).rejects.toBeInstanceOf(InterfaceError)
    // A $1 inside a literal, a comment or a dollar-quoted body is not a parameter.
    const r = await conn.query(`select '$1' as a, $$ $2 $$ as b /* $3 */ -- $4\n, $1::int as c`, [7])
    expect(r.rows[0]).toEqual({ a: '$1', b: ' $2 ', c: 7 })
  })

  it('names the parameter no codec accepts', async () => {
    const err = await conn.query('select $1, $2', [1, Symbol('s')]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ParameterError)
    expect((err as ParameterError).index).toBe(1)
    expect((err as Error).message).toContain('$2')
    const err2 = await conn.query('select $1', [new Map()]).catch((e: unknown) => e)
    expect((err2 as Error).message).toMatch(/\$1.*Map/)
    expect((await conn.query('select 5 as five')).rows[0]!.five).toBe(5)
  })

  it('refuses queries on a closed connection', async () => {
    const c = await connectAs('trust')
    await c.close()
    await expect(c.query('select 1')).rejects.toThrow(InterfaceError)
    await expect(c.query('select 1')).rejects.toThrow(/closed/)
  })
})

describe('losing the connection', () => {
  it('rejects every pending query with ConnectionError when the server ends the session', async () => {
    const victim = await connectAs('scram')
    const admin = await connectAs('superuser')
    const closes: unknown[] = []
    victim.on('close', (e) => closes.push(e))
    const pending = [victim.query('select pg_sleep(30)'), victim.query('select 1'), victim.query('select 2')]
    const settledAll = Promise.allSettled(pending) // handlers attached now: they reject while we wait below
    // Make sure the sleep is running before pulling the plug.
    for (let i = 0; i < 100; i++) {
      const r = await admin.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where pid = $1 and query like 'select pg_sleep%'", [victim.processId])
      if (r.rows[0]!.n > 0) break
      await new Promise((res) => setTimeout(res, 20))
    }
    await admin.query('select pg_terminate_backend($1)', [victim.processId])
    const settled = await settledAll
    for (const s of settled) {
      expect(s.status).toBe('rejected')
      expect((s as PromiseRejectedResult).reason).toBeInstanceOf(ConnectionError)
    }
    // The running query may have had effects; the ones still waiting were never sent.
    expect(((settled[0] as PromiseRejectedResult).reason as ConnectionError).retrySafe).toBe(false)
    expect(victim.closed).toBe(true)
    expect(closes).toHaveLength(1)
    // A later query is never sent: safe to retry elsewhere (see server-gone.test.ts).
    const later = await victim.query('select 1').catch((e: unknown) => e)
    expect(later).toBeInstanceOf(ConnectionError)
    expect((later as ConnectionError).retrySafe).toBe(true)
    // The server's FATAL says why, unless the kernel's reset (the server closed
    // with our unread queries in its buffer) arrives first and drops it.
    expect((later as Error).message).toMatch(/^(the server closed the connection: .*\(SQLSTATE 57P01\)|the connection was lost: .*ECONNRESET)$/)
    await admin.close()
  })
})
