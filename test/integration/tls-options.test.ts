// TLS options that must be enforced, not just parsed (issue 7), against a
// real server with certificates made here with openssl:
// ssl_min_protocol_version / ssl_max_protocol_version bound the TLS version,
// and sslcrl / sslcrldir make a revoked server certificate fail verification.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, ConnectionError, type Connection } from '../../src/index.js'
import { startEmbedded, type ServerInfo } from '../support/embedded.js'
import { hasOpenssl, makeCaAndServer, openssl } from '../support/openssl.js'

const opensslAvailable = hasOpenssl()
if (!opensslAvailable) console.log('tls-options.test: skipped, the openssl command is not installed (needed to make test certificates)')

let dir = ''
let server: { info: ServerInfo; stop(): Promise<void> } | undefined

function ssl(...args: string[]): void {
  openssl(dir, ...args)
}

// The smallest CA configuration `openssl ca` accepts for -revoke and -gencrl.
const CA_CONFIG = `[ ca ]
default_ca = pgline_ca
[ pgline_ca ]
database = index.txt
crlnumber = crlnumber
certificate = root.crt
private_key = ca.key
default_md = sha256
default_crl_days = 2
`

function makeCerts(): void {
  dir = makeCaAndServer('pgline-tlsopt-')
  // A second CA, for a CRL from an issuer that is not the server's.
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other-root.crt', '-days', '2', '-subj', '/CN=someone else')
  writeFileSync(path.join(dir, 'ca.cnf'), CA_CONFIG)
  writeFileSync(path.join(dir, 'index.txt'), '')
  writeFileSync(path.join(dir, 'crlnumber'), '01\n')
  ssl('ca', '-config', 'ca.cnf', '-gencrl', '-out', 'empty.crl') // revokes nothing
  ssl('ca', '-config', 'ca.cnf', '-revoke', 'server.crt')
  ssl('ca', '-config', 'ca.cnf', '-gencrl', '-out', 'revoked.crl') // revokes the server certificate
  // CRL directories the way libpq's sslcrldir expects them (hashed names; any name works here).
  for (const [sub, crl] of [['crldir-ok', 'empty.crl'], ['crldir-revoked', 'revoked.crl']] as const) {
    mkdirSync(path.join(dir, sub))
    copyFileSync(path.join(dir, crl), path.join(dir, sub, 'a1b2c3d4.r0'))
    copyFileSync(path.join(dir, 'root.crt'), path.join(dir, sub, 'a1b2c3d4.0')) // certificates may share the directory
  }
}

const file = (f: string): string => path.join(dir, f)

beforeAll(async () => {
  if (!opensslAvailable) return
  makeCerts()
  server = await startEmbedded({ major: 18, tlsDir: dir })
}, 120_000)

afterAll(async () => {
  await server?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** A key=value connection string to the private server as the scram role, plus `extra`. */
function conninfo(extra: string): string {
  const i = server!.info
  const r = i.roles.scram
  return `host=127.0.0.1 port=${i.port} dbname=${i.database} user=${r.user} password=${r.password} connect_timeout=10 ${extra}`
}

async function tlsVersion(c: Connection): Promise<string> {
  return (await c.query<{ version: string }>('select version from pg_stat_ssl where pid = pg_backend_pid()')).rows[0]!.version
}

async function refused(s: string): Promise<ConnectionError> {
  const err = await connect(s).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(ConnectionError)
  return err as ConnectionError
}

/** Sets a server setting with ALTER SYSTEM and waits until new sessions see it. */
async function serverSetting(name: string, value: string | undefined): Promise<void> {
  const i = server!.info
  const su = await connect({ host: '127.0.0.1', port: i.port, database: 'postgres', user: i.superuser.user, password: i.superuser.password })
  try {
    await su.query(value === undefined ? `alter system reset ${name}` : `alter system set ${name} = '${value}'`)
    await su.query('select pg_reload_conf()')
  } finally {
    await su.close()
  }
  const want = value ?? ''
  for (let tries = 0; ; tries++) {
    const c = await connect({ host: '127.0.0.1', port: i.port, database: 'postgres', user: i.superuser.user, password: i.superuser.password, tls: 'disable' })
    const now = (await c.query<{ v: string }>(`select current_setting('${name}') as v`)).rows[0]!.v
    await c.close()
    if (now === want) return
    if (tries > 100) throw new Error(`${name} is still "${now}", not "${want}"`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe.skipIf(!opensslAvailable)('ssl_min_protocol_version / ssl_max_protocol_version against a real server', () => {
  it('negotiates TLSv1.3 by default and TLSv1.2 with ssl_max_protocol_version=TLSv1.2', async () => {
    const dflt = await connect(conninfo('sslmode=require'))
    expect(await tlsVersion(dflt)).toBe('TLSv1.3')
    await dflt.close()
    const capped = await connect(conninfo('sslmode=require ssl_max_protocol_version=TLSv1.2'))
    expect(capped.ssl).toBe(true)
    expect(await tlsVersion(capped)).toBe('TLSv1.2')
    await capped.close()
    // The same through the options object.
    const viaOptions = await connect({ ...optionsOf(), sslMode: 'verify-full', sslRootCert: file('root.crt'), host: 'localhost', sslMaxProtocolVersion: 'TLSv1.2' })
    expect(await tlsVersion(viaOptions)).toBe('TLSv1.2')
    await viaOptions.close()
  })

  it('fails clearly with ssl_min_protocol_version=TLSv1.3 when the server stops at TLSv1.2', async () => {
    await serverSetting('ssl_max_protocol_version', 'TLSv1.2')
    try {
      // Without a minimum above TLSv1.2 the server's limit is fine.
      const ok = await connect(conninfo('sslmode=require'))
      expect(await tlsVersion(ok)).toBe('TLSv1.2')
      await ok.close()
      const err = await refused(conninfo('sslmode=require ssl_min_protocol_version=TLSv1.3'))
      expect(err.message).toMatch(/^TLS handshake with 127\.0\.0\.1 failed: /)
      expect(err.message).toMatch(/no TLS version in common: the client allows TLSv1\.3 to TLSv1\.3, see ssl_min_protocol_version/)
    } finally {
      await serverSetting('ssl_max_protocol_version', undefined)
    }
  })
})

function optionsOf() {
  const i = server!.info
  const r = i.roles.scram
  return { host: '127.0.0.1', port: i.port, database: i.database, user: r.user, password: r.password }
}

describe.skipIf(!opensslAvailable)('sslcrl / sslcrldir against a real server', () => {
  for (const mode of ['verify-ca', 'verify-full'] as const) {
    it(`sslcrl: a CRL revoking the server certificate fails ${mode}; one revoking nothing connects`, async () => {
      const base = `host=localhost sslmode=${mode} sslrootcert=${file('root.crt')}`
      const err = await refused(conninfo(`${base} sslcrl=${file('revoked.crl')}`))
      expect(err.message).toMatch(/TLS handshake with localhost failed: certificate revoked \(the server certificate is revoked by a CRL of sslcrl\/sslcrldir\)/)
      expect((err.cause as { code?: string }).code).toBe('CERT_REVOKED')
      const ok = await connect(conninfo(`${base} sslcrl=${file('empty.crl')}`))
      expect(ok.ssl).toBe(true)
      await ok.close()
    })
  }

  it('sslcrldir: every CRL in the directory is checked', async () => {
    const base = `sslmode=verify-ca sslrootcert=${file('root.crt')}`
    const err = await refused(conninfo(`${base} sslcrldir=${file('crldir-revoked')}`))
    expect(err.message).toMatch(/certificate revoked/)
    const ok = await connect(conninfo(`${base} sslcrldir=${file('crldir-ok')}`))
    expect(ok.ssl).toBe(true)
    await ok.close()
    // (With several CRLs of one issuer, OpenSSL uses the one issued last, as with libpq.)
  })

  it('a CRL from another issuer only is refused: the server certificate issuer has no CRL (as libpq)', async () => {
    // Make a CRL signed by the other CA, in a CA directory of its own.
    const other = path.join(dir, 'other-ca')
    mkdirSync(other, { recursive: true })
    writeFileSync(path.join(other, 'ca.cnf'), CA_CONFIG.replace('root.crt', file('other-root.crt')).replace('ca.key', file('other.key')))
    writeFileSync(path.join(other, 'index.txt'), '')
    writeFileSync(path.join(other, 'crlnumber'), '01\n')
    openssl(other, 'ca', '-config', 'ca.cnf', '-gencrl', '-out', 'other.crl')
    const err = await refused(conninfo(`sslmode=verify-ca sslrootcert=${file('root.crt')} sslcrl=${path.join(other, 'other.crl')}`))
    expect(err.message).toMatch(/unable to get certificate CRL/)
    expect(err.message).toMatch(/has no CRL from the issuer/)
  })

  it('the TLS options object takes crl and crlDir too', async () => {
    const err = await connect({ ...optionsOf(), tls: { mode: 'verify-ca', rootCert: file('root.crt'), crl: file('revoked.crl') } }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConnectionError)
    expect((err as Error).message).toMatch(/certificate revoked/)
    const ok = await connect({ ...optionsOf(), tls: { mode: 'verify-ca', rootCert: file('root.crt'), crlDir: file('crldir-ok') } })
    await ok.close()
  })

  it('sslmode=require without a root certificate verifies nothing, so no CRL is consulted (as libpq)', async () => {
    const c = await connect(conninfo(`sslmode=require sslcrl=${file('revoked.crl')}`))
    expect(c.ssl).toBe(true)
    await c.close()
  })
})
