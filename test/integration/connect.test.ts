import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { ClientAuthenticationError, connect, ConnectionError, DatabaseError, InvalidPassword } from '../../src/index.js'
import { testServer } from '../support/env.js'
import { connectAs, optionsFor, type Role } from './_util.js'

describe('authentication against the real server', () => {
  const cases: [Exclude<Role, 'superuser'>, string][] = [
    ['trust', 'trust'],
    ['password', 'cleartext password'],
    ['md5', 'md5'],
    ['scram', 'SCRAM-SHA-256'],
  ]
  for (const [role, method] of cases) {
    it(`logs in with ${method}`, async () => {
      const conn = await connectAs(role)
      const r = await conn.query<{ u: string }>('select current_user as u')
      expect(r.rows[0]!.u).toBe(testServer().roles[role].user)
      await conn.close()
      expect(conn.closed).toBe(true)
    })
  }

  for (const role of ['password', 'md5', 'scram'] as const) {
    it(`refuses a wrong ${role} password with an error naming the role, never the password`, async () => {
      const wrong = 'not-the-Secret-42'
      const err = await connect(optionsFor(role, { password: wrong })).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(InvalidPassword)
      expect(err).toBeInstanceOf(DatabaseError)
      const e = err as InvalidPassword
      expect(e.code).toBe('28P01')
      expect(e.message).toContain(testServer().roles[role].user)
      expect(JSON.stringify({ ...e, m: e.message, s: e.stack })).not.toContain(wrong)
    })
  }

  it('says a password is needed when none was given', async () => {
    const err = await connect(optionsFor('scram', { password: undefined })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientAuthenticationError)
    expect((err as Error).message).toContain(testServer().roles.scram.user)
  })

  it('keeps the password out of the printed config', async () => {
    const conn = await connectAs('scram')
    const printed = JSON.stringify(conn.config) + String(conn.config.password) + (await import('node:util')).inspect(conn.config)
    expect(printed).not.toContain(testServer().roles.scram.password!)
    await conn.close()
  })

  it('connects with a URL', async () => {
    const s = testServer()
    const r = s.roles.scram
    const url = `postgres://${encodeURIComponent(r.user)}:${encodeURIComponent(r.password!)}@${s.host}:${s.port}/${s.database}?application_name=url_test`
    const conn = await connect(url)
    const row = (await conn.query('select current_setting($1) as a', ['application_name'])).rows[0]!
    expect(row.a).toBe('url_test')
    await conn.close()
  })
})

describe('authentication policy', () => {
  it('refuses to send a cleartext password over unencrypted TCP unless allowed', async () => {
    const err = await connect(optionsFor('password', { allowCleartextPassword: false })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientAuthenticationError)
    expect((err as Error).message).toMatch(/clear text over an unencrypted connection/)
    expect((err as Error).message).not.toContain(testServer().roles.password.password!)
  })

  it('enforces requireAuth', async () => {
    await expect(connect(optionsFor('md5', { requireAuth: 'scram-sha-256' }))).rejects.toThrow(/md5 authentication .* requireAuth does not allow/)
    await expect(connect(optionsFor('scram', { requireAuth: '!md5,!password' }))).resolves.toBeTruthy()
    await expect(connect(optionsFor('trust', { requireAuth: 'scram-sha-256' }))).rejects.toThrow(/none authentication/)
    // The method asked for is what counts, not the AuthenticationOk that ends it.
    for (const [role, method] of [['md5', 'md5'], ['scram', 'scram-sha-256'], ['trust', 'none']] as const) {
      const c = await connect(optionsFor(role, { requireAuth: method }))
      await c.close()
    }
    await expect(connect(optionsFor('scram', { requireAuth: 'kerberos5' }))).rejects.toThrow(/unknown authentication method|require_auth method/)
  })

  it('refuses channelBinding: require without TLS', async () => {
    await expect(connect(optionsFor('scram', { channelBinding: 'require' }))).rejects.toThrow(/channel binding is required but the connection is not TLS/)
  })

  it("connects with sslmode 'prefer' to a server without TLS, and refuses 'require'", async () => {
    const c = await connect(optionsFor('scram', { tls: 'prefer' }))
    expect(c.ssl).toBe(false)
    await c.close()
    const err = await connect(optionsFor('scram', { tls: 'require' })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConnectionError)
    expect((err as Error).message).toMatch(/does not accept TLS, and sslmode is require/)
  })
})

describe('several hosts', () => {
  async function closedPort(): Promise<number> {
    const server = net.createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as net.AddressInfo).port
    await new Promise<void>((r) => server.close(() => r()))
    return port
  }

  it('moves on to the next host when one does not answer', async () => {
    const s = testServer()
    const dead = await closedPort()
    const conn = await connect(optionsFor('scram', { host: `${s.host},${s.host}`, port: `${dead},${s.port}` }))
    expect((await conn.query('select 1 as one')).rows[0]!.one).toBe(1)
    await conn.close()
  })

  it('honours target_session_attrs and says why no host fit', async () => {
    const s = testServer()
    const rw = await connect(optionsFor('scram', { targetSessionAttrs: 'read-write' }))
    await rw.close()
    const err = await connect(optionsFor('scram', { host: `${s.host},${s.host}`, port: `${s.port},${s.port}`, targetSessionAttrs: 'standby' })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConnectionError)
    expect((err as Error).message).toMatch(/no host accepted the connection .*not standby/)
    const any = await connect(optionsFor('scram', { targetSessionAttrs: 'prefer-standby' }))
    await any.close()
  })
})

describe('connections', () => {
  it('connects through the unix socket', async () => {
    const s = testServer()
    if (!s.socketDir) return expect(s.socketDir).toBe('') // an external server (PGLINE_TEST_URL) has no socket dir to use
    const conn = await connect({ host: s.socketDir, port: s.port, user: s.superuser.user, database: s.database })
    const r = await conn.query('select inet_server_addr() as a')
    expect(r.rows[0]!.a).toBeNull() // null over a unix socket
    await conn.close()
  })

  it('sends startup parameters: application_name, options, client_encoding', async () => {
    const conn = await connectAs('scram', { applicationName: 'pgline-test', options: '-c search_path=pg_catalog,public -c statement_timeout=1234' })
    const r = await conn.query(
      "select current_setting('application_name') as app, current_setting('search_path') as sp, current_setting('statement_timeout') as st, current_setting('client_encoding') as enc",
    )
    expect(r.rows[0]).toEqual({ app: 'pgline-test', sp: 'pg_catalog,public', st: '1234ms', enc: 'UTF8' })
    await conn.close()
  })

  it('asks for protocol 3.0 by default (as libpq 18) and reads server parameters', async () => {
    const conn = await connectAs('scram')
    expect(conn.protocolVersion).toBe('3.0')
    expect(conn.serverVersion).toMatch(/^\d+/)
    expect(conn.parameters.get('TimeZone')).toBeTruthy()
    expect(conn.processId).toBeGreaterThan(0)
    await conn.query("set timezone = 'Asia/Tokyo'")
    expect(conn.parameters.get('TimeZone')).toBe('Asia/Tokyo')
    await conn.close()
  })

  it.skipIf(testServer().major < 18)('speaks protocol 3.2 with PostgreSQL 18 when asked for 3.2 or latest', async () => {
    for (const conn of [
      await connect('max_protocol_version=latest', optionsFor('scram')),
      await connectAs('scram', { protocolVersion: 'latest' }),
      await connectAs('scram', { protocolVersion: '3.2' }),
    ]) {
      try {
        expect(conn.protocolVersion).toBe('3.2')
        expect(conn.processId).toBeGreaterThan(0)
        expect((await conn.query('select 1 as one')).rows[0]!.one).toBe(1)
      } finally {
        await conn.close()
      }
    }
  })

  it('asks for 3.0 when told to', async () => {
    const conn = await connectAs('scram', { protocolVersion: '3.0' })
    expect(conn.protocolVersion).toBe('3.0')
    expect((await conn.query('select 1 as one')).rows[0]!.one).toBe(1)
    await conn.close()
  })

  it('sends Terminate on close and the backend goes away', async () => {
    const watcher = await connectAs('superuser')
    const conn = await connectAs('scram')
    const pid = conn.processId
    await conn.close()
    expect(conn.closed).toBe(true)
    let alive = 1
    for (let i = 0; i < 50 && alive > 0; i++) {
      alive = (await watcher.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where pid = $1', [pid])).rows[0]!.n
      if (alive > 0) await new Promise((r) => setTimeout(r, 20))
    }
    expect(alive).toBe(0)
    await watcher.close()
  })

  it('supports await using', async () => {
    let outer: { closed: boolean } | undefined
    {
      await using conn = await connectAs('trust')
      outer = conn
      expect((await conn.query('select 2 as two')).rows[0]!.two).toBe(2)
    }
    expect(outer!.closed).toBe(true)
  })

  it('gives a retry-safe ConnectionError when nothing listens', async () => {
    const server = net.createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as net.AddressInfo).port
    await new Promise<void>((r) => server.close(() => r()))
    const err = await connect({ host: '127.0.0.1', port, user: 'x', database: 'x' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConnectionError)
    expect((err as ConnectionError).retrySafe).toBe(true)
    expect((err as Error).message).toContain(`127.0.0.1:${port}`)
  })

  it('times out connecting to a server that never answers', async () => {
    // A listener that accepts and stays silent: a real server cannot be made to do this.
    const sockets: net.Socket[] = []
    const server = net.createServer((s) => sockets.push(s))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as net.AddressInfo).port
    try {
      const err = await connect({ host: '127.0.0.1', port, user: 'x', database: 'x', connectTimeout: 300 }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConnectionError)
      expect((err as Error).message).toMatch(/timed out after 300 ms/)
    } finally {
      sockets.forEach((s) => s.destroy())
      await new Promise<void>((r) => server.close(() => r()))
    }
  })

  it('refuses an unknown URL parameter naming the known ones', async () => {
    await expect(connect('postgres://u@127.0.0.1/db?bogus=1')).rejects.toThrow(/unknown connection parameter "bogus".*application_name/)
  })
})
