// Many hosts against a REAL primary and a REAL streaming standby (private to
// this file): target_session_attrs, load_balance_hosts, and failover when the
// primary goes away. The shared test server is not used.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  connect, ConnectionError, DatabaseError, Pool,
  type Connection, type ConnectionOptions, type TargetSessionAttrs,
} from '../../src/index.js'
import { startReplicaPair, type ReplicaPair } from '../support/replica.js'
import type { ServerInfo } from '../support/embedded.js'

let pair: ReplicaPair
let P: ServerInfo // primary
let S: ServerInfo // standby

beforeAll(async () => {
  pair = await startReplicaPair()
  P = pair.primary
  S = pair.standby
}, 120_000)
afterAll(async () => {
  await pair?.stop()
}, 60_000)

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

type Node = 'primary' | 'standby'
const node = (n: Node): ServerInfo => (n === 'primary' ? P : S)
let promoted = false // the failover test promotes the standby at its end

/** Options for a host list of nodes, as the scram role (connectTimeout generous: a loaded 2-core machine). */
function opts(nodes: Node[], extra: ConnectionOptions = {}): ConnectionOptions {
  return {
    host: nodes.map(() => '127.0.0.1').join(','),
    port: nodes.map((n) => node(n).port).join(','),
    database: P.database,
    user: P.roles.scram.user,
    password: P.roles.scram.password,
    connectTimeout: 20_000,
    ...extra,
  }
}

/** The same as a connection string (the password separately: it is random hex, but keep URLs free of it). */
function url(nodes: Node[], query: string): string {
  const hosts = nodes.map((n) => `127.0.0.1:${node(n).port}`).join(',')
  return `postgresql://${P.roles.scram.user}@${hosts}/${P.database}?${query}`
}
const urlExtra = (): ConnectionOptions => ({ password: P.roles.scram.password, connectTimeout: 20_000 })

/** Which node a connection landed on, told apart by the server itself. */
async function where(conn: Connection): Promise<{ node: Node; recovery: boolean; port: number }> {
  const r = await conn.query<{ recovery: boolean; port: number }>('select pg_is_in_recovery() as recovery, inet_server_port() as port')
  const { recovery, port } = r.rows[0]!
  const n: Node = port === P.port ? 'primary' : 'standby'
  return { node: n, recovery, port }
}

async function landsOn(conn: Promise<Connection>): Promise<Node> {
  const c = await conn
  try {
    const w = await where(c)
    // The port and the recovery state agree: the node really is what we think.
    expect(w.recovery).toBe(w.node === 'standby' && !promoted)
    return w.node
  } finally {
    await c.close()
  }
}

/** Resolves with the rejection, failing the test if the promise fulfils. */
async function rejection(p: Promise<Connection>): Promise<Error> {
  const outcome = await p.then(
    async (c) => {
      await c.close()
      return undefined
    },
    (err: unknown) => err as Error,
  )
  if (outcome === undefined) throw new Error('expected the connect to fail, but it succeeded')
  return outcome
}

const target = (n: Node) => `127\\.0\\.0\\.1:${node(n).port}`

describe('the pair itself', () => {
  it('pg_is_in_recovery() is false on the primary and true on the standby', async () => {
    const p = await connect(opts(['primary']))
    const s = await connect(opts(['standby']))
    try {
      expect(await where(p)).toEqual({ node: 'primary', recovery: false, port: P.port })
      expect(await where(s)).toEqual({ node: 'standby', recovery: true, port: S.port })
      // A standby refuses writes.
      const err = await s.query('create table standby_nope (x int)').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(DatabaseError)
      expect((err as DatabaseError).code).toBe('25006') // read_only_sql_transaction
    } finally {
      await p.close()
      await s.close()
    }
  })

  it('a row written on the primary becomes visible on the standby', async () => {
    const p = await connect(opts(['primary']))
    const s = await connect(opts(['standby']))
    try {
      await p.query('create table replicated (id int primary key, note text)')
      await p.query('insert into replicated values ($1, $2)', [1, 'from the primary'])
      let seen: unknown[] = []
      for (const until = Date.now() + 30_000; Date.now() < until; await sleep(50)) {
        // The table itself arrives by replication too: until then, undefined_table.
        const r = await s.query<{ note: string }>('select note from replicated where id = 1', [], { prepare: false }).catch(() => undefined)
        seen = r?.rows.map((x) => x.note) ?? []
        if (seen.length > 0) break
      }
      expect(seen).toEqual(['from the primary'])
    } finally {
      await p.close()
      await s.close()
    }
  }, 60_000)
})

// Host list "standby,primary" and the reverse: what each target_session_attrs picks.
const cases: { nodes: Node[]; want: TargetSessionAttrs; lands: Node }[] = [
  { nodes: ['standby', 'primary'], want: 'any', lands: 'standby' },
  { nodes: ['standby', 'primary'], want: 'read-write', lands: 'primary' },
  { nodes: ['standby', 'primary'], want: 'read-only', lands: 'standby' },
  { nodes: ['standby', 'primary'], want: 'primary', lands: 'primary' },
  { nodes: ['standby', 'primary'], want: 'standby', lands: 'standby' },
  { nodes: ['standby', 'primary'], want: 'prefer-standby', lands: 'standby' },
  { nodes: ['primary', 'standby'], want: 'any', lands: 'primary' },
  { nodes: ['primary', 'standby'], want: 'read-write', lands: 'primary' },
  { nodes: ['primary', 'standby'], want: 'read-only', lands: 'standby' },
  { nodes: ['primary', 'standby'], want: 'primary', lands: 'primary' },
  { nodes: ['primary', 'standby'], want: 'standby', lands: 'standby' },
  { nodes: ['primary', 'standby'], want: 'prefer-standby', lands: 'standby' },
  // One-node lists: prefer-standby falls back to the primary; 'any' takes what there is.
  { nodes: ['primary'], want: 'prefer-standby', lands: 'primary' },
  { nodes: ['primary', 'primary'], want: 'prefer-standby', lands: 'primary' },
  { nodes: ['standby'], want: 'any', lands: 'standby' },
]

describe('target_session_attrs picks the right node', () => {
  it.each(cases)('$nodes with $want lands on the $lands (options)', async ({ nodes, want, lands }) => {
    expect(await landsOn(connect(opts(nodes, { targetSessionAttrs: want })))).toBe(lands)
  })

  it.each(cases)('$nodes with $want lands on the $lands (connection string)', async ({ nodes, want, lands }) => {
    expect(await landsOn(connect(url(nodes, `target_session_attrs=${want}`), urlExtra()))).toBe(lands)
  })

  it('read-write over standbys only fails, naming every host tried and why', async () => {
    // The one standby twice: over TCP and over its unix socket (two different targets).
    const options = {
      ...opts(['standby']),
      host: `127.0.0.1,${S.socketDir}`,
      port: `${S.port},${S.port}`,
      targetSessionAttrs: 'read-write' as const,
    }
    const err = await rejection(connect(options))
    expect(err).toBeInstanceOf(ConnectionError)
    expect(err.message).toContain('no host accepted the connection')
    expect(err.message).toMatch(new RegExp(`${target('standby')}: not read-write`))
    expect(err.message).toContain(`${S.socketDir}/.s.PGSQL.${S.port}: not read-write`)
  })

  it('primary over standbys only, and standby over primaries only, fail the same way', async () => {
    const e1 = await rejection(connect(url(['standby', 'standby'], 'target_session_attrs=primary'), urlExtra()))
    expect(e1).toBeInstanceOf(ConnectionError)
    expect(e1.message.match(new RegExp(`${target('standby')}: not primary`, 'g'))).toHaveLength(2)

    const e2 = await rejection(connect(opts(['primary', 'primary'], { targetSessionAttrs: 'standby' })))
    expect(e2).toBeInstanceOf(ConnectionError)
    expect(e2.message.match(new RegExp(`${target('primary')}: not standby`, 'g'))).toHaveLength(2)
  })

  it('read-only/read-write follow transaction_read_only, so default_transaction_read_only=on makes the primary read-only', async () => {
    // As libpq: a server with default_transaction_read_only=on is not read-write,
    // though it is still a primary (primary/standby look at recovery only).
    for (const ro of [{ options: '-c default_transaction_read_only=on' }, { parameters: { default_transaction_read_only: 'on' } }]) {
      expect(await landsOn(connect(opts(['primary', 'standby'], { ...ro, targetSessionAttrs: 'read-only' })))).toBe('primary')
      expect(await landsOn(connect(opts(['primary', 'standby'], { ...ro, targetSessionAttrs: 'primary' })))).toBe('primary')
      const err = await rejection(connect(opts(['primary', 'standby'], { ...ro, targetSessionAttrs: 'read-write' })))
      expect(err).toBeInstanceOf(ConnectionError)
      expect(err.message).toMatch(new RegExp(`${target('primary')}: not read-write; ${target('standby')}: not read-write`))
    }
    // The same from the connection string.
    const ro = 'options=-c%20default_transaction_read_only%3Don'
    const err = await rejection(connect(url(['standby', 'primary'], `${ro}&target_session_attrs=read-write`), urlExtra()))
    expect(err.message).toMatch(new RegExp(`${target('standby')}: not read-write; ${target('primary')}: not read-write`))
    expect(await landsOn(connect(url(['primary', 'standby'], `${ro}&target_session_attrs=read-only`), urlExtra()))).toBe('primary')
  })
})

describe('load_balance_hosts=random', () => {
  it('reaches both nodes within a bounded number of connects', async () => {
    const seen = new Set<Node>()
    // Each connect picks the standby first with probability 1/2: 100 misses in a row is 2^-99.
    for (let i = 0; i < 100 && seen.size < 2; i++) {
      const input = i % 2 === 0
        ? connect(opts(['primary', 'standby'], { loadBalanceHosts: 'random' }))
        : connect(url(['primary', 'standby'], 'load_balance_hosts=random'), urlExtra())
      seen.add(await landsOn(input))
    }
    expect([...seen].sort()).toEqual(['primary', 'standby'])
  })

  it('still honours target_session_attrs: read-write always lands on the primary, standby on the standby', async () => {
    for (let i = 0; i < 10; i++) {
      expect(await landsOn(connect(opts(['standby', 'primary'], { loadBalanceHosts: 'random', targetSessionAttrs: 'read-write' })))).toBe('primary')
      expect(await landsOn(connect(opts(['standby', 'primary'], { loadBalanceHosts: 'random', targetSessionAttrs: 'standby' })))).toBe('standby')
    }
  })
})

// Last: stops the primary for good (then promotes the standby).
describe('failover: the primary stops', () => {
  it('open connections fail, new connects land on the standby, writes are refused until a promotion', async () => {
    const both: Node[] = ['primary', 'standby']
    const idle = await connect(opts(both))
    const busy = await connect(opts(both))
    expect((await where(idle)).node).toBe('primary')
    expect((await where(busy)).node).toBe('primary')
    let closedWith: unknown = 'not closed'
    idle.on('close', (err) => (closedWith = err))
    const pool = new Pool(opts(both, { targetSessionAttrs: 'prefer-standby' }), { max: 2, acquireTimeout: 20_000 })
    const rwPool = new Pool(opts(both), { max: 2, acquireTimeout: 2_000, backoff: { initialMs: 20, maxMs: 200 } })
    try {
      // A pool on "primary,standby" with target any serves from the primary.
      expect((await rwPool.query<{ p: number }>('select inet_server_port() as p')).rows[0]!.p).toBe(P.port)
      expect((await pool.query<{ p: number }>('select inet_server_port() as p')).rows[0]!.p).toBe(S.port)

      const inFlight = busy.query('select pg_sleep(60)').catch((e: unknown) => e)

      // Smart shutdown first: the primary keeps its sessions but turns new ones
      // away with 57P03 "cannot connect now". As with libpq, a host list moves on.
      pair.beginPrimaryShutdown()
      let refusal: unknown
      for (const until = Date.now() + 20_000; refusal === undefined && Date.now() < until; await sleep(20)) {
        refusal = await connect(opts(['primary'])).then(async (c) => void (await c.close()), (e: unknown) => e)
      }
      expect(refusal).toBeInstanceOf(DatabaseError)
      expect((refusal as DatabaseError).code).toBe('57P03')
      expect(await landsOn(connect(opts(both)))).toBe('standby')
      const shutting = await rejection(connect(opts(both, { targetSessionAttrs: 'read-write' })))
      expect(shutting).toBeInstanceOf(ConnectionError)
      expect(shutting.message).toMatch(new RegExp(`${target('primary')}: the database system is shutting down; ${target('standby')}: not read-write`))
      expect((await where(idle)).node).toBe('primary') // still served

      await pair.stopPrimary() // fast shutdown: the remaining sessions are terminated

      // The query in flight fails with a ConnectionError (the server's 57P01 is its cause).
      const err = await inFlight
      expect(err).toBeInstanceOf(ConnectionError)
      expect((err as ConnectionError).retrySafe).toBe(false)
      expect((err as Error).message).toMatch(/terminating connection due to administrator command|closed the connection/)
      expect(busy.closed).toBe(true)

      // The idle one learns it was closed, with the server's reason.
      for (const until = Date.now() + 10_000; !idle.closed && Date.now() < until; ) await sleep(20)
      expect(idle.closed).toBe(true)
      expect(closedWith).toBeInstanceOf(DatabaseError)
      expect((closedWith as DatabaseError).code).toBe('57P01') // admin_shutdown
      await expect(idle.query('select 1')).rejects.toThrow(/closed/)

      // New connects: 'any' moves on to the standby; read-only, standby and prefer-standby still work.
      expect(await landsOn(connect(opts(both)))).toBe('standby')
      expect(await landsOn(connect(url(both, 'target_session_attrs=any'), urlExtra()))).toBe('standby')
      for (const want of ['prefer-standby', 'read-only', 'standby'] as const) {
        expect(await landsOn(connect(opts(both, { targetSessionAttrs: want })))).toBe('standby')
        expect(await landsOn(connect(url(both, `target_session_attrs=${want}`), urlExtra()))).toBe('standby')
      }
      // read-write and primary: no such node left; the error lists both hosts and why.
      for (const want of ['read-write', 'primary'] as const) {
        const e = await rejection(connect(opts(both, { targetSessionAttrs: want })))
        expect(e).toBeInstanceOf(ConnectionError)
        expect(e.message).toMatch(new RegExp(`${target('primary')}: .*ECONNREFUSED`))
        expect(e.message).toMatch(new RegExp(`${target('standby')}: not ${want}`))
      }

      // The pool that lost its primary connections recovers onto the standby.
      let port: number | undefined
      for (const until = Date.now() + 30_000; port === undefined && Date.now() < until; ) {
        port = await rwPool.query<{ p: number }>('select inet_server_port() as p').then((r) => r.rows[0]!.p, () => undefined)
      }
      expect(port).toBe(S.port)
      // The prefer-standby pool never noticed anything.
      expect((await pool.query<{ p: number }>('select inet_server_port() as p')).rows[0]!.p).toBe(S.port)

      // Promote the standby: it is now read-write, and read-write finds it.
      await pair.promoteStandby()
      promoted = true
      const c = await connect(opts(both, { targetSessionAttrs: 'read-write' }))
      try {
        expect(await where(c)).toEqual({ node: 'standby', recovery: false, port: S.port })
        await c.query('insert into replicated values (2, $1)', ['after the promotion'])
        const r = await c.query<{ n: number }>('select count(*)::int as n from replicated')
        expect(r.rows[0]!.n).toBe(2)
      } finally {
        await c.close()
      }
      expect(await landsOn(connect(opts(both, { targetSessionAttrs: 'primary' })))).toBe('standby')
      // prefer-standby: there is no standby any more, so anything will do.
      expect(await landsOn(connect(opts(both, { targetSessionAttrs: 'prefer-standby' })))).toBe('standby')
      expect(await rejection(connect(opts(both, { targetSessionAttrs: 'standby' })))).toBeInstanceOf(ConnectionError)
    } finally {
      await idle.close().catch(() => undefined)
      await busy.close().catch(() => undefined)
      await pool.close({ timeout: 1_000 })
      await rwPool.close({ timeout: 1_000 })
    }
  }, 120_000)
})
