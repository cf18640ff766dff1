// Passwords and key passphrases never show in any printed form of the
// driver's objects (util.inspect, even with showHidden; JSON.stringify;
// String), and console.log of a handle is a short summary, not its internals.
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ClientAuthenticationError,
  connect,
  DatabaseError,
  Pool,
  type Connection,
} from '../../src/index.js'
import { optionsFor, uniqueName } from './_util.js'

const KEY_PASSPHRASE = 'key-passphrase-7d1f0c'
const password = optionsFor('scram').password as string

/** Every printed form of `x` that a log line might carry. */
function printed(x: unknown): string[] {
  const forms = [
    inspect(x),
    inspect(x, { depth: Infinity, showHidden: true }),
    inspect({ nested: { deeper: x } }, { depth: Infinity, showHidden: true }),
    jsonForm(x),
    String(x),
  ]
  if (x instanceof Error) forms.push(x.stack ?? '', inspect(x.cause, { depth: Infinity, showHidden: true }))
  return forms
}

/** JSON.stringify of a live handle throws (it is circular): that leaks nothing either. */
function jsonForm(x: unknown): string {
  try {
    return JSON.stringify(x) ?? ''
  } catch (err) {
    return String(err)
  }
}

function expectNoSecret(x: unknown, ...secrets: string[]): void {
  for (const form of printed(x)) {
    for (const s of [password, KEY_PASSPHRASE, ...secrets]) expect(form).not.toContain(s)
  }
}

function expectShort(x: unknown, name: string): string {
  const out = inspect(x, { depth: Infinity, showHidden: true })
  expect(out.startsWith(`${name} {`)).toBe(true)
  expect(out.split('\n').length).toBe(1) // one log line
  return out
}

let conn: Connection
let pool: Pool

beforeAll(async () => {
  expect(password.length).toBeGreaterThan(5) // distinctive enough to search for
  conn = await connect(optionsFor('scram', { sslPassword: KEY_PASSPHRASE }))
  pool = new Pool(optionsFor('scram', { sslPassword: KEY_PASSPHRASE }), { min: 1 })
})
afterAll(async () => {
  await conn?.close()
  await pool?.close()
})

describe('no secret in any printed form', () => {
  it('a connection, and its resolved config', () => {
    expectNoSecret(conn)
    expectNoSecret(conn.config)
    // The config still has them, masked.
    expect(inspect(conn.config)).toContain('********')
    expect(conn.config.password?.reveal()).toBe(password)
  })

  it('a connection given TLS settings as an object', async () => {
    const c = await connect(optionsFor('scram', { tls: { mode: 'prefer', keyPassword: KEY_PASSPHRASE } }))
    try {
      expectNoSecret(c)
    } finally {
      await c.close()
    }
  })

  it('a pool, from options or from a URL', async () => {
    await pool.query('select 1')
    expectNoSecret(pool)
    const o = optionsFor('scram')
    const url = `postgres://${o.user}:${encodeURIComponent(password)}@${o.host}:${o.port}/${o.database}?sslpassword=${KEY_PASSPHRASE}`
    const fromUrl = new Pool(url)
    try {
      await fromUrl.query('select 1')
      expectNoSecret(fromUrl)
    } finally {
      await fromUrl.close()
    }
  })

  it('a lease, a transaction, a pipeline, COPY handles', async () => {
    const lease = await pool.acquire()
    try {
      expectNoSecret(lease)
      await lease.connection.transaction(async (tx) => {
        expectNoSecret(tx)
        await tx.transaction(async (sp) => expectNoSecret(sp))
      })
      await lease.connection.pipeline(async (p) => {
        void p.query('select 1')
        expectNoSecret(p)
      })
      const table = uniqueName('secrets')
      await lease.query(`create temp table ${table} (a int)`)
      const w = await lease.connection.copyFrom(`copy ${table} from stdin`)
      expectNoSecret(w)
      await w.end()
      const r = lease.connection.copyTo(`copy ${table} to stdout`)
      expectNoSecret(r)
      for await (const _ of r);
    } finally {
      await lease.release()
    }
    expectNoSecret(lease)
  })

  it('authentication errors, straight or through a pool', async () => {
    const wrong = `wrong-${password}-wrong`
    const refused = await connect(optionsFor('scram', { password: wrong, sslPassword: KEY_PASSPHRASE })).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(DatabaseError)
    expectNoSecret(refused, wrong)

    const p = new Pool(optionsFor('scram', { password: wrong, sslPassword: KEY_PASSPHRASE }))
    try {
      const viaPool = await p.query('select 1').catch((e: unknown) => e)
      expect(viaPool).toBeInstanceOf(DatabaseError)
      expectNoSecret(viaPool, wrong)
      expectNoSecret(p, wrong)
    } finally {
      await p.close()
    }

    // Cleartext asked over plain TCP, refused on the client.
    const cleartext = await connect(optionsFor('password', { allowCleartextPassword: false })).catch((e: unknown) => e)
    expect(cleartext).toBeInstanceOf(ClientAuthenticationError)
    expectNoSecret(cleartext, optionsFor('password').password as string)
  })
})

describe('short inspect forms', () => {
  it('Connection: host, port, database, user, processId, state, in-flight count', async () => {
    const out = expectShort(conn, 'Connection')
    expect(out).toContain(`host: '${conn.config.host}'`)
    expect(out).toContain(`port: ${conn.config.port}`)
    expect(out).toContain(`processId: ${conn.processId}`)
    expect(out).toContain("state: 'idle'")
    expect(out).toContain('inFlight: 0')
    const running = conn.query('select pg_sleep(0.05)')
    expect(inspect(conn)).toMatch(/state: 'busy', inFlight: 1|inFlight: 1/)
    await running
    const c = await connect(optionsFor('scram'))
    await c.close()
    expect(inspect(c)).toContain("state: 'closed'")
    expect(JSON.parse(JSON.stringify(conn))).toMatchObject({ processId: conn.processId, port: conn.config.port })
    // Nested past the depth asked for, it folds like any object.
    expect(inspect({ a: { b: { c: conn } } }, { depth: 1 })).toContain('[Object]')
    expect(inspect({ a: conn }, { depth: 0 })).toContain('[Connection]')
  })

  it('Pool: target, max, open, idle, waiting, closed', async () => {
    const out = expectShort(pool, 'Pool')
    for (const k of ['host:', 'port:', 'database:', 'user:', 'max: 10', 'open: 1', 'idle: 1', 'waiting: 0', 'closed: false']) expect(out).toContain(k)
    expect(JSON.parse(JSON.stringify(pool))).toMatchObject({ max: 10, closed: false })
  })

  it('lease, transaction, pipeline, COPY handles', async () => {
    const lease = await pool.acquire()
    try {
      expect(expectShort(lease, 'PoolLease')).toContain(`processId: ${lease.connection.processId}`)
      await lease.connection.transaction(async (tx) => {
        expect(expectShort(tx, 'Transaction')).toContain("transactionStatus: 'T'")
        await tx.transaction(async (sp) => expect(expectShort(sp, 'Transaction')).toMatch(/savepoint: 'pgline_sp_\d+'/))
      })
      await lease.connection.pipeline(async (p) => {
        void p.query('select 1')
        expect(expectShort(p, 'Pipeline')).toContain('statements: 1')
      })
      const table = uniqueName('inspect')
      await lease.query(`create temp table ${table} (a int, b text)`)
      const w = await lease.connection.copyFrom(`copy ${table} from stdin (format csv)`)
      expect(expectShort(w, 'CopyIn')).toContain("format: 'csv', columns: 2")
      await w.end()
      const r = lease.connection.copyTo(`copy ${table} to stdout`)
      expectShort(r, 'CopyOut')
      for await (const _ of r);
    } finally {
      await lease.release()
    }
    expect(inspect(lease)).toBe('PoolLease { released: true }')
  })
})
