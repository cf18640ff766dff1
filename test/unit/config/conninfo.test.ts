// Connection-string parsing: the expectations are written from the libpq
// documentation ("Connection Strings": keyword/value and URI forms, with its
// examples), not from running libpq. libpq-compare.test.ts checks the same
// kind of inputs against the real libpq when it is installed.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseConnectionString, parseUrl } from '../../../src/config/config.js'
import { formatConnectionKeywords, parseConnectionKeywords, quoteValue } from '../../../src/config/conninfo.js'
import { KEYWORDS } from '../../../src/config/keywords.js'
import { InterfaceError } from '../../../src/errors/base.js'
import { KEY_VALUE_CASES, KEY_VALUE_ERRORS, URI_CASES, URI_ERRORS } from './_cases.js'

const parse = (s: string): Record<string, string> => Object.fromEntries(parseConnectionKeywords(s))

describe('key=value strings', () => {
  for (const [input, expected] of KEY_VALUE_CASES) {
    it(`reads ${JSON.stringify(input)}`, () => expect(parse(input)).toEqual(expected))
  }

  it('keeps the order of first appearance minus repeats, last value winning', () => {
    expect([...parseConnectionKeywords('port=1 host=a port=2')]).toEqual([
      ['host', 'a'],
      ['port', '2'],
    ])
  })

  for (const [input, message] of KEY_VALUE_ERRORS) {
    it(`refuses ${JSON.stringify(input)}`, () => {
      expect(() => parseConnectionKeywords(input)).toThrow(InterfaceError)
      expect(() => parseConnectionKeywords(input)).toThrow(message)
    })
  }

  it('never repeats what may be the rest of an unquoted password', () => {
    for (const input of ['password=hunter2 tail-of-secret', 'password=hunter2 tail-of-secret=1', "password='hunter2 tail-of-secret"]) {
      const err = (() => {
        try {
          parseConnectionKeywords(input)
        } catch (e) {
          return e as Error
        }
        throw new Error('no error')
      })()
      expect(err).toBeInstanceOf(InterfaceError)
      expect(err.message).not.toContain('hunter2')
      expect(err.message).not.toContain('tail-of-secret')
    }
  })
})

describe('URIs', () => {
  for (const [input, expected] of URI_CASES) {
    it(`reads ${input}`, () => expect(parse(input)).toEqual(expected))
  }

  for (const [input, message] of URI_ERRORS) {
    it(`refuses ${input}`, () => {
      expect(() => parseConnectionKeywords(input)).toThrow(InterfaceError)
      expect(() => parseConnectionKeywords(input)).toThrow(message)
    })
  }

  it('never repeats the password in its errors', () => {
    for (const input of ['postgres://u:hun%zzter2@h/db', 'postgres://u:p@hunter2@h/db', 'postgres://h/db?password=a&hunter2=1', 'postgres://h/db?password=%zzhunter2']) {
      let message = ''
      try {
        parseConnectionKeywords(input)
      } catch (e) {
        message = (e as Error).message
      }
      expect(message).not.toBe('')
      expect(message).not.toContain('hunter2')
      expect(message).not.toContain('hun')
    }
  })
})

describe('typed options from a connection string', () => {
  it('keeps parseUrl working', () => {
    expect(parseUrl('postgres://user:pw@127.0.0.1:5432/db?application_name=x')).toEqual({
      user: 'user',
      password: 'pw',
      host: '127.0.0.1',
      port: 5432,
      database: 'db',
      applicationName: 'x',
    })
  })

  it('converts units and types', () => {
    expect(
      parseConnectionString(
        'connect_timeout=10 keepalives=0 keepalives_idle=30 keepalives_interval=5 keepalives_count=3 tcp_user_timeout=9000 sslsni=0 max_protocol_version=latest min_protocol_version=3.0 port=5433',
      ),
    ).toEqual({
      connectTimeout: 10_000,
      keepAlive: false,
      keepAliveInitialDelay: 30_000,
      keepAliveInterval: 5_000,
      keepAliveCount: 3,
      tcpUserTimeout: 9000,
      sslSni: false,
      protocolVersion: 'latest',
      minProtocolVersion: '3.0',
      port: 5433,
    })
  })

  it('reads connect_timeout as libpq does: 1 second counts as 2, zero or negative waits forever', () => {
    expect(parseConnectionString('connect_timeout=1').connectTimeout).toBe(2000)
    expect(parseConnectionString('connect_timeout=0').connectTimeout).toBe(0)
    expect(parseConnectionString('connect_timeout=-5').connectTimeout).toBe(0)
  })

  it('keeps port lists as text for the host list', () => {
    expect(parseConnectionString('host=a,b port=5432,5433').port).toBe('5432,5433')
    expect(parseConnectionString("port=''").port).toBe('')
  })

  it('maps every keyword, accepting the ignored ones', () => {
    const o = parseConnectionString(
      'hostaddr=10.0.0.1 dbname=d user=u password=p passfile=/pp require_auth=scram-sha-256 channel_binding=require client_encoding=UTF8 options=-cx=1 application_name=a fallback_application_name=f replication=0 gssencmode=disable sslmode=verify-full sslnegotiation=direct sslcompression=1 sslcert=/c sslkey=/k sslpassword=kp sslcertmode=require sslrootcert=/r sslcrl=/l sslcrldir=/ld requirepeer=postgres ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=TLSv1.3 krbsrvname=k gsslib=gssapi service=s target_session_attrs=read-write load_balance_hosts=random',
    )
    expect(o).toEqual({
      hostaddr: '10.0.0.1',
      database: 'd',
      user: 'u',
      password: 'p',
      passfile: '/pp',
      requireAuth: 'scram-sha-256',
      channelBinding: 'require',
      clientEncoding: 'UTF8',
      options: '-cx=1',
      applicationName: 'a',
      fallbackApplicationName: 'f',
      gssEncMode: 'disable',
      sslMode: 'verify-full',
      sslNegotiation: 'direct',
      sslCert: '/c',
      sslKey: '/k',
      sslPassword: 'kp',
      sslCertMode: 'require',
      sslRootCert: '/r',
      sslCrl: '/l',
      sslCrlDir: '/ld',
      requirePeer: 'postgres',
      sslMinProtocolVersion: 'TLSv1.3',
      sslMaxProtocolVersion: 'TLSv1.3',
      krbSrvName: 'k',
      gssLib: 'gssapi',
      service: 's',
      targetSessionAttrs: 'read-write',
      loadBalanceHosts: 'random',
      replication: false,
    })
  })

  it('reads replication as libpq does: database, or a boolean', () => {
    expect(parseConnectionString('replication=database').replication).toBe('database')
    expect(parseConnectionString('replication=Database').replication).toBe('database')
    expect(parseConnectionString('replication=on').replication).toBe(true)
    expect(parseConnectionString('replication=1').replication).toBe(true)
    expect(parseConnectionString('replication=no').replication).toBe(false)
  })

  const invalid: [string, RegExp][] = [
    ['sslmode=bogus', /invalid sslmode "bogus" in the connection string: expected one of disable, allow, prefer, require, verify-ca, verify-full/],
    ["sslmode=''", /invalid sslmode ""/],
    ['sslnegotiation=requiredirect', /sslnegotiation.*postgres, direct/],
    ['sslcertmode=maybe', /sslcertmode.*disable, allow, require/],
    ['channel_binding=yes', /channel_binding.*disable, prefer, require/],
    ['target_session_attrs=master', /target_session_attrs.*any, read-write, read-only, primary, standby, prefer-standby/],
    ['load_balance_hosts=roundrobin', /load_balance_hosts.*disable, random/],
    ['max_protocol_version=3.1', /max_protocol_version.*3\.0, 3\.2, latest/],
    ['min_protocol_version=4', /min_protocol_version/],
    ['ssl_min_protocol_version=TLSv1.4', /ssl_min_protocol_version.*TLSv1, TLSv1\.1, TLSv1\.2, TLSv1\.3/],
    ['gssencmode=require', /gssencmode "require".*not supported/],
    ['gssencmode=maybe', /gssencmode.*disable, prefer/],
    ['replication=logical', /invalid replication "logical" in the connection string: expected 'database', or a boolean/],
    ['port=0', /invalid port "0".*1 to 65535/],
    ['port=abc', /invalid port "abc"/],
    ['connect_timeout=soon', /invalid connect_timeout "soon".*integer/],
    ['keepalives_idle=-1', /keepalives_idle/],
    ['sslsni=2', /sslsni.*0, 1/],
    ['require_auth=kerberos', /invalid require_auth in the connection string: unknown authentication method "kerberos" \(known: password, md5, gss, sspi, scram-sha-256, oauth, none\)/],
    ['require_auth=password,!md5', /cannot be mixed/],
    ['require_auth=md5,md5', /listed twice/],
  ]
  for (const [input, message] of invalid) {
    it(`refuses ${input}`, () => expect(() => parseConnectionString(input)).toThrow(message))
  }
})

describe('quoting round trips (fast-check)', () => {
  const keyword = fc.constantFrom(...KEYWORDS)
  const value = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', ' ', "'", '\\', "\\'", 'a b', '=', "''"))
  const map = fc.dictionary(keyword, value)

  it('formatConnectionKeywords output parses back to the same map', () => {
    fc.assert(
      fc.property(map, (m) => {
        expect(parse(formatConnectionKeywords(m))).toEqual(m)
      }),
      { numRuns: 500 },
    )
  })

  it('whatever whitespace surrounds "=" and separates pairs', () => {
    const ws = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r', '\f', '\v'), minLength: 0, maxLength: 3 })
    const sep = fc.string({ unit: fc.constantFrom(' ', '\t', '\n'), minLength: 1, maxLength: 3 })
    fc.assert(
      fc.property(fc.array(fc.tuple(keyword, value, ws, ws, sep)), ws, (pairs, lead) => {
        const text = lead + pairs.map(([k, v, a, b, s]) => `${k}${a}=${b}${quoteValue(v)}${s}`).join('')
        const expected: Record<string, string> = {}
        for (const [k, v] of pairs) {
          delete expected[k]
          expected[k] = v
        }
        expect(parse(text)).toEqual(expected)
      }),
      { numRuns: 300 },
    )
  })

  it('percent-encoded URI parts decode to what was encoded', () => {
    const text = fc.string({ unit: 'grapheme', minLength: 1 }).filter((s) => !s.includes('\0'))
    const host = text.filter((s) => !s.includes(','))
    fc.assert(
      fc.property(
        text,
        text,
        fc.array(fc.tuple(host, fc.integer({ min: 1, max: 65535 })), { minLength: 1, maxLength: 3 }),
        text,
        text,
        text,
        (user, password, hosts, db, app, options) => {
          const e = encodeURIComponent
          const uri = `postgresql://${e(user)}:${e(password)}@${hosts.map(([h, p]) => `${e(h)}:${p}`).join(',')}/${e(db)}?application_name=${e(app)}&options=${e(options)}`
          expect(parse(uri)).toEqual({
            user,
            password,
            host: hosts.map(([h]) => h).join(','),
            port: hosts.map(([, p]) => String(p)).join(','),
            dbname: db,
            application_name: app,
            options,
          })
        },
      ),
      { numRuns: 300 },
    )
  })
})
