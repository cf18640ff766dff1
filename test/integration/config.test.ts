// Connecting like libpq, against the real test server: key=value strings,
// URIs, a socket directory in a URI, the password file and the environment.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/config/config.js'
import { formatConnectionKeywords } from '../../src/config/conninfo.js'
import { escapePgpassField } from '../../src/config/pgpass.js'
import { ClientAuthenticationError, connect } from '../../src/index.js'
import { testServer } from '../support/env.js'

const dir = mkdtempSync(join(tmpdir(), 'pgline-config-it-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function whoAmI(conn: Awaited<ReturnType<typeof connect>>): Promise<{ u: string; app: string; db: string }> {
  const r = await conn.query<{ u: string; app: string; db: string }>("select current_user as u, current_setting('application_name') as app, current_database() as db")
  return r.rows[0]!
}

function writePgpass(name: string, mode: number, line: string): string {
  const file = join(dir, name)
  writeFileSync(file, `# host:port:db:user:password\n${line}\n`)
  chmodSync(file, mode)
  return file
}

describe('connection strings against the real server', () => {
  it('connects with a key=value string (quoted values)', async () => {
    const s = testServer()
    const r = s.roles.scram
    const conninfo = formatConnectionKeywords({
      host: s.host,
      port: String(s.port),
      dbname: s.database,
      user: r.user,
      password: r.password!,
      application_name: "kv 'test'",
    })
    const conn = await connect(conninfo)
    try {
      expect(await whoAmI(conn)).toEqual({ u: r.user, app: "kv 'test'", db: s.database })
    } finally {
      await conn.close()
    }
  })

  it('connects with a URI built from the server settings, percent-encoded', async () => {
    const s = testServer()
    const r = s.roles.scram
    const e = encodeURIComponent
    const uri = `postgresql://${e(r.user)}:${e(r.password!)}@${s.host}:${s.port}/${e(s.database)}?application_name=${e('uri test/a&b=c')}&connect_timeout=10`
    const conn = await connect(uri)
    try {
      expect(await whoAmI(conn)).toEqual({ u: r.user, app: 'uri test/a&b=c', db: s.database })
      expect(conn.config.connectTimeout).toBe(10_000)
    } finally {
      await conn.close()
    }
  })

  it('lets explicit options win over the string', async () => {
    const s = testServer()
    const r = s.roles.scram
    const conn = await connect(`host=${s.host} port=${s.port} dbname=${s.database} user=nobody application_name=from-string`, {
      user: r.user,
      password: r.password!,
      applicationName: 'from-options',
    })
    try {
      expect(await whoAmI(conn)).toEqual({ u: r.user, app: 'from-options', db: s.database })
    } finally {
      await conn.close()
    }
  })

  it('connects through the socket directory given percent-encoded in a URI', async () => {
    const s = testServer()
    if (!s.socketDir) return expect(s.socketDir).toBe('') // an external server (PGLINE_TEST_URL) has no socket dir
    const conn = await connect(`postgresql://${encodeURIComponent(s.socketDir)}:${s.port}/${s.database}?user=${s.superuser.user}`)
    try {
      expect(conn.config.hosts[0]!.kind).toBe('unix')
      expect((await conn.query('select inet_server_addr() as a')).rows[0]!.a).toBeNull()
    } finally {
      await conn.close()
    }
  })

  it('takes settings from the PG* environment when the string leaves them out', async () => {
    const s = testServer()
    const saved = { ...process.env }
    process.env.PGAPPNAME = 'from-env'
    process.env.PGDATABASE = s.database
    process.env.PGPASSWORD = s.roles.scram.password!
    try {
      const conn = await connect(`host=${s.host} port=${s.port} user=${s.roles.scram.user}`)
      try {
        expect(await whoAmI(conn)).toEqual({ u: s.roles.scram.user, app: 'from-env', db: s.database })
      } finally {
        await conn.close()
      }
    } finally {
      for (const k of ['PGAPPNAME', 'PGDATABASE', 'PGPASSWORD']) {
        if (saved[k] === undefined) delete process.env[k]
        else process.env[k] = saved[k]
      }
    }
  })
})

describe('the password file against the real server', () => {
  it('logs the scram role in with the password from a passfile', async () => {
    const s = testServer()
    const r = s.roles.scram
    const file = writePgpass('pgpass-ok', 0o600, [s.host, String(s.port), s.database, r.user, r.password!].map(escapePgpassField).join(':'))
    const conn = await connect({ host: s.host, port: s.port, database: s.database, user: r.user, passfile: file })
    try {
      expect((await whoAmI(conn)).u).toBe(r.user)
      expect(conn.config.hosts[0]!.passwordSource).toBe('passfile')
      expect(conn.config.warnings).toEqual([])
    } finally {
      await conn.close()
    }
  })

  it('matches wildcards, and works from a key=value string', async () => {
    const s = testServer()
    const r = s.roles.scram
    const file = writePgpass('pgpass-wild', 0o600, `*:*:*:${escapePgpassField(r.user)}:${escapePgpassField(r.password!)}`)
    const conn = await connect(formatConnectionKeywords({ host: s.host, port: String(s.port), dbname: s.database, user: r.user, passfile: file }))
    try {
      expect((await whoAmI(conn)).u).toBe(r.user)
    } finally {
      await conn.close()
    }
  })

  it('is ignored when group or world can read it: no password, and a warning', async () => {
    const s = testServer()
    const r = s.roles.scram
    const file = writePgpass('pgpass-loose', 0o644, `*:*:*:*:${escapePgpassField(r.password!)}`)
    const options = { host: s.host, port: s.port, database: s.database, user: r.user, passfile: file }
    const resolved = resolveConfig(options, {})
    expect(resolved.password).toBeUndefined()
    expect(resolved.warnings).toHaveLength(1)
    expect(resolved.warnings[0]).toMatch(/has group or world access/)
    const err = await connect(options).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientAuthenticationError)
    expect(String((err as Error).message)).not.toContain(r.password!)
  })

  it('loses to a given password', async () => {
    const s = testServer()
    const r = s.roles.scram
    const file = writePgpass('pgpass-wrong', 0o600, `*:*:*:*:not-the-password`)
    const conn = await connect({ host: s.host, port: s.port, database: s.database, user: r.user, password: r.password!, passfile: file })
    try {
      expect(conn.config.hosts[0]!.passwordSource).toBe('given')
      expect((await whoAmI(conn)).u).toBe(r.user)
    } finally {
      await conn.close()
    }
  })
})
