// TLS against a real server with a CA, server and client certificates made
// here with openssl: sslmode semantics, SCRAM-SHA-256-PLUS channel binding,
// client certificates (plain and encrypted keys), direct TLS negotiation.
import { rmSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, ConnectionError, type ConnectionOptions } from '../../src/index.js'
import { startEmbedded, type ServerInfo } from '../support/embedded.js'
import { hasOpenssl, makeCaAndServer, openssl } from '../support/openssl.js'

const opensslAvailable = hasOpenssl()
if (!opensslAvailable) console.log('tls.test: skipped, the openssl command is not installed (needed to make test certificates)')

let dir = ''
let server: { info: ServerInfo; stop(): Promise<void> } | undefined

function ssl(...args: string[]): void {
  openssl(dir, ...args)
}

function makeCerts(): void {
  dir = makeCaAndServer('pgline-tls-')
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=pgline_cert')
  ssl('x509', '-req', '-in', 'client.csr', '-CA', 'root.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2')
  ssl('pkey', '-in', 'client.key', '-aes256', '-passout', 'pass:key-secret', '-out', 'client-enc.key')
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other-root.crt', '-days', '2', '-subj', '/CN=someone else')
}

const file = (f: string): string => path.join(dir, f)

beforeAll(async () => {
  if (!opensslAvailable) return
  makeCerts()
  server = await startEmbedded({ major: 18, tlsDir: dir })
  const su = await connect(base('superuser'))
  await su.query('create role pgline_cert login')
  await su.query(`grant all on database ${server.info.database} to pgline_cert`)
  await su.close()
}, 120_000)

afterAll(async () => {
  await server?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

function base(role: 'superuser' | 'scram' | 'password', extra: ConnectionOptions = {}): ConnectionOptions {
  const i = server!.info
  const r = role === 'superuser' ? i.superuser : i.roles[role]
  return { host: '127.0.0.1', port: i.port, database: i.database, user: r.user, password: r.password, ...extra }
}

async function sslInUse(c: Awaited<ReturnType<typeof connect>>): Promise<boolean> {
  return (await c.query<{ ssl: boolean }>('select ssl from pg_stat_ssl where pid = pg_backend_pid()')).rows[0]!.ssl
}

describe.skipIf(!opensslAvailable)('TLS against a real server', () => {
  it('uses TLS with sslmode prefer and require, and not with disable', async () => {
    for (const mode of ['prefer', 'require'] as const) {
      const c = await connect(base('scram', { tls: mode }))
      expect(c.ssl).toBe(true)
      expect(await sslInUse(c)).toBe(true)
      await c.close()
    }
    const plain = await connect(base('scram', { tls: 'disable' }))
    expect(await sslInUse(plain)).toBe(false)
    await plain.close()
  })

  it('verifies the chain and the host name with verify-full', async () => {
    const ok = await connect(base('scram', { tls: { mode: 'verify-full', rootCert: file('root.crt') } }))
    expect(ok.ssl).toBe(true)
    await ok.close()
    const byName = await connect(base('scram', { host: 'localhost', tls: { mode: 'verify-full', rootCert: file('root.crt') } }))
    await byName.close()
    const wrongName = await connect(base('scram', { tls: { mode: 'verify-full', rootCert: file('root.crt'), servername: 'db.example.com' } })).catch((e: unknown) => e)
    expect(wrongName).toBeInstanceOf(ConnectionError)
    expect((wrongName as Error).message).toMatch(/TLS handshake .* failed/)
    // verify-ca checks the chain only.
    const caOnly = await connect(base('scram', { tls: { mode: 'verify-ca', rootCert: file('root.crt'), servername: 'db.example.com' } }))
    await caOnly.close()
    const wrongRoot = await connect(base('scram', { tls: { mode: 'verify-ca', rootCert: file('other-root.crt') } })).catch((e: unknown) => e)
    expect(wrongRoot).toBeInstanceOf(ConnectionError)
    await expect(connect(base('scram', { tls: { mode: 'verify-full' } }))).rejects.toThrow(/needs a root certificate/)
  })

  it('binds SCRAM to the TLS channel (SCRAM-SHA-256-PLUS) when required', async () => {
    const c = await connect(base('scram', { tls: 'require', channelBinding: 'require' }))
    expect((await c.query('select current_user as u')).rows[0]!.u).toBe(server!.info.roles.scram.user)
    await c.close()
  })

  it('sends a cleartext password over TLS without being told', async () => {
    const c = await connect(base('password', { tls: 'require' }))
    await c.close()
  })

  it('authenticates with a client certificate, plain or with an encrypted key', async () => {
    const o = { user: 'pgline_cert', password: undefined }
    const c = await connect(base('scram', { ...o, tls: { mode: 'verify-full', rootCert: file('root.crt'), cert: file('client.crt'), key: file('client.key') } }))
    expect((await c.query('select current_user as u')).rows[0]!.u).toBe('pgline_cert')
    await c.close()
    const enc = await connect(
      base('scram', { ...o, tls: { mode: 'require', cert: file('client.crt'), key: file('client-enc.key'), keyPassword: 'key-secret' } }),
    )
    await enc.close()
    const noCert = await connect(base('scram', { ...o, tls: 'require' })).catch((e: unknown) => e)
    expect((noCert as { code?: string }).code).toBe('28000')
  })

  it('negotiates TLS directly (sslnegotiation=direct, PostgreSQL 17+)', async () => {
    const c = await connect(base('scram', { tls: { mode: 'require', negotiation: 'direct' } }))
    expect(await sslInUse(c)).toBe(true)
    await c.close()
  })

  it('reads sslmode and sslrootcert from a connection string', async () => {
    const i = server!.info
    const r = i.roles.scram
    const c = await connect(
      `host=localhost port=${i.port} dbname=${i.database} user=${r.user} password=${r.password} sslmode=verify-full sslrootcert=${file('root.crt')}`,
    )
    expect(c.ssl).toBe(true)
    await c.close()
  })
})
