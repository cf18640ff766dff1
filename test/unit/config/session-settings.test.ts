// sessionSettings: the finished TLS and startup settings a connection is
// opened with, from the resolved config and the connection's tls,
// allowCleartextPassword and statementTimeout options. The machine is the
// in-memory one of _system.ts (no ~/.postgresql files unless a test adds them).
import { describe, expect, it } from 'vitest'
import { AUTH_METHODS, resolveConfig, type ConnectOptions, type ResolvedConfig } from '../../../src/config/config.js'
import { allowedAuthMethods, sessionSettings } from '../../../src/config/session-settings.js'
import { memorySystem, type MemoryFile } from './_system.js'

function resolve(input: string | ConnectOptions, files: Record<string, string | MemoryFile> = {}): ResolvedConfig {
  return resolveConfig(input, {}, memorySystem(files))
}

/** The TLS fields that apply whatever the `tls` option says, for a config with no ssl* settings. */
const DEFAULT_ENFORCED = { mode: 'prefer', crl: undefined, crlDir: undefined, minVersion: 'TLSv1.2', maxVersion: undefined }

describe('TLS from the config alone (no tls option)', () => {
  it('takes the defaults: sslmode prefer, TLSv1.2 and up, SNI on, the host as server name', () => {
    const { tls } = sessionSettings(resolve('postgres://u@db.example/x'))
    expect(tls).toStrictEqual({
      ...DEFAULT_ENFORCED,
      negotiation: 'postgres',
      rootCert: undefined,
      cert: undefined,
      key: undefined,
      keyPassword: undefined,
      sni: true,
      servername: 'db.example',
    })
  })

  it('takes every ssl* setting of a URL, sslpassword revealed as keyPassword', () => {
    const url =
      'postgres://u@db.example/x?sslmode=verify-full&sslnegotiation=direct&sslrootcert=/ca.pem&sslcert=/c.pem&sslkey=/k.pem' +
      '&sslpassword=s3cret&sslsni=0&sslcrl=/crl.pem&sslcrldir=/crls&ssl_min_protocol_version=TLSv1.3&ssl_max_protocol_version=TLSv1.3'
    const { tls } = sessionSettings(resolve(url))
    expect(tls).toStrictEqual({
      mode: 'verify-full',
      crl: '/crl.pem',
      crlDir: '/crls',
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      negotiation: 'direct',
      rootCert: '/ca.pem',
      cert: '/c.pem',
      key: '/k.pem',
      keyPassword: 's3cret',
      sni: false,
      servername: 'db.example',
    })
  })

  it('picks up the default files under ~/.postgresql when they exist', () => {
    const dir = '/home/alice/.postgresql'
    const files = { [`${dir}/root.crt`]: 'CA', [`${dir}/postgresql.crt`]: 'C', [`${dir}/postgresql.key`]: 'K', [`${dir}/root.crl`]: 'CRL' }
    const { tls } = sessionSettings(resolve('host=db.example', files))
    expect(tls).toMatchObject({ rootCert: `${dir}/root.crt`, cert: `${dir}/postgresql.crt`, key: `${dir}/postgresql.key`, crl: `${dir}/root.crl` })
  })

  it('names the server by its host name when the socket goes to a hostaddr', () => {
    const config = resolve({ host: 'db.example', hostaddr: '10.0.0.1' })
    expect(config.host).toBe('10.0.0.1')
    expect(sessionSettings(config).tls.servername).toBe('db.example')
  })

  it('names the server by the first host of the list (a per-host config has only its own)', () => {
    const config = resolve('host=a.example,b.example')
    expect(sessionSettings(config).tls.servername).toBe('a.example')
    const second = { ...config, host: 'b.example', hosts: [config.hosts[1]!] }
    expect(sessionSettings(second).tls.servername).toBe('b.example')
  })
})

describe('the tls option', () => {
  const strict = 'postgres://u@db.example/x?sslmode=verify-full&sslrootcert=/ca.pem&sslcert=/c.pem&sslkey=/k.pem&sslpassword=pw&sslcrl=/crl.pem&sslcrldir=/crls&ssl_min_protocol_version=TLSv1.3'

  it('an sslmode string replaces the mode and drops the other ssl* settings, keeping versions and CRLs', () => {
    const { tls } = sessionSettings(resolve(strict), { tls: 'require' })
    expect(tls).toStrictEqual({ mode: 'require', crl: '/crl.pem', crlDir: '/crls', minVersion: 'TLSv1.3', maxVersion: undefined })
  })

  it('an sslmode string over a default config gives just the mode and the default version floor', () => {
    expect(sessionSettings(resolve('host=db.example'), { tls: 'disable' }).tls).toStrictEqual({ ...DEFAULT_ENFORCED, mode: 'disable' })
  })

  it('an object keeps only versions and CRLs from the config, and its own fields win over those', () => {
    const { tls } = sessionSettings(resolve(strict), { tls: { mode: 'verify-ca', rootCert: 'PEM', minVersion: 'TLSv1.2', servername: 'alias' } })
    expect(tls).toStrictEqual({
      mode: 'verify-ca',
      crl: '/crl.pem',
      crlDir: '/crls',
      minVersion: 'TLSv1.2',
      maxVersion: undefined,
      rootCert: 'PEM',
      servername: 'alias',
    })
  })

  it('an object field set to undefined overrides the config too (spread semantics)', () => {
    const { tls } = sessionSettings(resolve(strict), { tls: { mode: 'require', crl: undefined } })
    expect(tls).toStrictEqual({ mode: 'require', crl: undefined, crlDir: '/crls', minVersion: 'TLSv1.3', maxVersion: undefined })
  })

  it('does not alias the caller\'s tls object', () => {
    const given = { mode: 'require' as const }
    const { tls } = sessionSettings(resolve('host=db.example'), { tls: given })
    expect(tls).not.toBe(given)
    expect(given).toStrictEqual({ mode: 'require' })
  })
})

describe('startup settings', () => {
  it('carries the config over field by field', () => {
    const config = resolve(
      'postgres://bob:pw@db.example/app?application_name=svc&options=-c%20search_path%3Dapp&channel_binding=require&max_protocol_version=3.2&min_protocol_version=3.2',
    )
    const { startup } = sessionSettings(config)
    expect(startup).toStrictEqual({
      user: 'bob',
      password: config.password,
      database: 'app',
      protocolVersion: '3.2',
      minProtocolVersion: '3.2',
      applicationName: 'svc',
      options: '-c search_path=app',
      parameters: {},
      channelBindingMode: 'require',
      requireAuth: undefined,
      allowCleartext: false,
      passwordLater: false,
    })
    expect(startup.password?.reveal()).toBe('pw')
  })

  it('gives a new startup object each time, which the connection may change without touching the config', () => {
    const config = resolve({ host: 'db.example', parameters: { search_path: 'app' } })
    const a = sessionSettings(config).startup
    a.allowCleartext = true
    a.parameters.x = 'y'
    const b = sessionSettings(config).startup
    expect(b).not.toBe(a)
    expect(b.allowCleartext).toBe(false)
    expect(b.parameters).toStrictEqual({ search_path: 'app' })
    expect(config.parameters).toStrictEqual({ search_path: 'app' })
  })
})

describe('statement_timeout', () => {
  it('is added to the startup parameters as text, beside the config\'s own', () => {
    const config = resolve({ host: 'db.example', parameters: { search_path: 'app', statement_timeout: '10' } })
    expect(sessionSettings(config, { statementTimeout: 1500 }).startup.parameters).toStrictEqual({ search_path: 'app', statement_timeout: '1500' })
    expect(config.parameters).toStrictEqual({ search_path: 'app', statement_timeout: '10' })
  })

  it('is sent when 0 (no timeout) and left out when not given', () => {
    const config = resolve({ host: 'db.example' })
    expect(sessionSettings(config, { statementTimeout: 0 }).startup.parameters).toStrictEqual({ statement_timeout: '0' })
    expect(sessionSettings(config).startup.parameters).toStrictEqual({})
    expect('statement_timeout' in sessionSettings(config, { statementTimeout: undefined }).startup.parameters).toBe(false)
  })
})

describe('require_auth', () => {
  const allowed = (requireAuth: string): string[] | undefined => {
    const set = sessionSettings(resolve({ host: 'db.example', requireAuth })).startup.requireAuth
    return set === undefined ? undefined : [...set]
  }

  it('allows every method when not given (or empty)', () => {
    expect(sessionSettings(resolve({ host: 'db.example' })).startup.requireAuth).toBeUndefined()
    expect(allowed('')).toBeUndefined()
  })

  it('a plain list allows exactly its methods, in its order', () => {
    expect(allowed('scram-sha-256')).toEqual(['scram-sha-256'])
    expect(allowed('scram-sha-256,md5,none')).toEqual(['scram-sha-256', 'md5', 'none'])
  })

  it('a negated list allows every known method it does not name, in the order of AUTH_METHODS', () => {
    expect(allowed('!password,!md5')).toEqual(['gss', 'sspi', 'scram-sha-256', 'oauth', 'none'])
    expect(allowed('!none')).toEqual(['password', 'md5', 'gss', 'sspi', 'scram-sha-256', 'oauth'])
    expect(allowed(AUTH_METHODS.map((m) => `!${m}`).join(','))).toEqual([])
  })

  it('comes from the connection string as well', () => {
    const set = sessionSettings(resolve('postgres://u@db.example/x?require_auth=!password')).startup.requireAuth
    expect([...set!]).toEqual(['md5', 'gss', 'sspi', 'scram-sha-256', 'oauth', 'none'])
  })

  it('allowedAuthMethods is the same mapping on a parsed RequireAuth', () => {
    expect(allowedAuthMethods(undefined)).toBeUndefined()
    expect([...allowedAuthMethods({ negated: false, methods: ['md5'] })!]).toEqual(['md5'])
    expect([...allowedAuthMethods({ negated: true, methods: [...AUTH_METHODS] })!]).toEqual([])
  })
})

describe('cleartext passwords', () => {
  const cleartext = (input: ConnectOptions, allowCleartextPassword?: boolean): boolean | undefined =>
    sessionSettings(resolve(input), { allowCleartextPassword }).startup.allowCleartext

  it('are allowed by default over a unix socket (a directory or an abstract name), not over TCP', () => {
    expect(cleartext({ host: '/var/run/postgresql' })).toBe(true)
    expect(cleartext({ host: '@pg' })).toBe(true)
    expect(cleartext({ host: 'db.example' })).toBe(false)
    expect(cleartext({ host: '127.0.0.1' })).toBe(false)
  })

  it('go by the host connected to: a hostaddr is TCP', () => {
    expect(cleartext({ host: '/var/run/postgresql', hostaddr: '127.0.0.1' })).toBe(false)
  })

  it('follow allowCleartextPassword when given, either way', () => {
    expect(cleartext({ host: 'db.example' }, true)).toBe(true)
    expect(cleartext({ host: '/var/run/postgresql' }, false)).toBe(false)
  })

  it('over the default host: the socket directory when the socket exists, else localhost over TCP', () => {
    expect(cleartext({})).toBe(false)
    const withSocket = sessionSettings(resolveConfig({}, {}, memorySystem({ '/tmp/.s.PGSQL.5432': { kind: 'socket' } })))
    expect(withSocket.startup.allowCleartext).toBe(true)
  })
})
