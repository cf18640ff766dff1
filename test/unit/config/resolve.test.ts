// Resolution: precedence (options > connection string > service file >
// environment > defaults), defaults, the host list, TLS settings and their
// checks. Expectations follow the libpq documentation ("Parameter Key
// Words", "Environment Variables", "The Connection Service File"); the
// machine is the in-memory one of _system.ts.
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { parseConnectionString, resolveConfig, type ConnectOptions, type ResolvedConfig } from '../../../src/config/config.js'
import { InterfaceError } from '../../../src/errors/base.js'
import { memorySystem, type MemoryFile } from './_system.js'

type Env = Record<string, string>

function resolve(input: string | ConnectOptions, env: Env = {}, files: Record<string, string | MemoryFile> = {}): ResolvedConfig {
  return resolveConfig(input, env, memorySystem(files))
}

function hostsOf(c: ResolvedConfig): [string, number, string][] {
  return c.hosts.map((h) => [h.hostaddr === undefined ? h.host : `${h.host}@${h.hostaddr}`, h.port, h.kind])
}

describe('defaults', () => {
  it('fill everything when nothing is given', () => {
    const c = resolve({})
    expect(hostsOf(c)).toEqual([['localhost', 5432, 'tcp']])
    expect(c).toMatchObject({
      host: 'localhost',
      port: 5432,
      user: 'alice', // the login name
      database: 'alice', // the user name
      password: undefined,
      applicationName: undefined,
      options: undefined,
      connectTimeout: 30_000, // pgline's default; libpq waits forever
      keepAlive: true,
      protocolVersion: '3.0',
      minProtocolVersion: '3.0',
      channelBinding: 'prefer',
      gssEncMode: 'prefer',
      targetSessionAttrs: 'any',
      loadBalanceHosts: 'disable',
      requireAuth: undefined,
      passfile: '/home/alice/.pgpass',
      warnings: [],
    })
    expect(c.ssl).toMatchObject({ mode: 'prefer', negotiation: 'postgres', certMode: 'allow', sni: true, minProtocolVersion: 'TLSv1.2', maxProtocolVersion: undefined })
    expect(c.ssl.rootCert).toBeUndefined() // ~/.postgresql/root.crt does not exist here
  })

  it('use the unix socket directory that holds the port socket, as libpq uses its compiled-in one', () => {
    const sock = { kind: 'socket' } as const
    expect(hostsOf(resolve({}, {}, { '/var/run/postgresql/.s.PGSQL.5432': sock }))).toEqual([['/var/run/postgresql', 5432, 'unix']])
    expect(hostsOf(resolve({}, { PGPORT: '5433' }, { '/tmp/.s.PGSQL.5433': sock, '/var/run/postgresql/.s.PGSQL.5432': sock }))).toEqual([
      ['/tmp', 5433, 'unix'],
    ])
    expect(hostsOf(resolve('host=,db2', {}, { '/tmp/.s.PGSQL.5432': sock }))).toEqual([
      ['/tmp', 5432, 'unix'],
      ['db2', 5432, 'tcp'],
    ])
  })

  it('default the database to the user name, wherever the user came from', () => {
    expect(resolve('user=bob').database).toBe('bob')
    expect(resolve({}, { PGUSER: 'carol' }).database).toBe('carol')
  })

  it('use fallback_application_name only when no application_name is set anywhere', () => {
    expect(resolve('fallback_application_name=fb').applicationName).toBe('fb')
    expect(resolve('fallback_application_name=fb application_name=app').applicationName).toBe('app')
    expect(resolve('fallback_application_name=fb', { PGAPPNAME: 'envapp' }).applicationName).toBe('envapp')
  })
})

describe('environment variables', () => {
  it('supply what nothing else sets', () => {
    const c = resolve(
      {},
      {
        PGHOST: 'envhost',
        PGPORT: '6000',
        PGUSER: 'bob',
        PGDATABASE: 'bobdb',
        PGPASSWORD: 'envpw',
        PGAPPNAME: 'envapp',
        PGOPTIONS: '-c search_path=x',
        PGCONNECT_TIMEOUT: '10',
        PGSSLMODE: 'require',
        PGSSLNEGOTIATION: 'direct',
        PGSSLSNI: '0',
        PGSSLROOTCERT: '/ca.pem',
        PGSSLCERT: '/c.pem',
        PGSSLKEY: '/k.pem',
        PGTARGETSESSIONATTRS: 'read-write',
        PGLOADBALANCEHOSTS: 'random',
        PGCHANNELBINDING: 'require',
        PGREQUIREAUTH: '!password,!md5',
        PGGSSENCMODE: 'disable',
        PGMINPROTOCOLVERSION: '3.2',
        PGMAXPROTOCOLVERSION: 'latest',
        PGCLIENTENCODING: 'UTF8',
      },
    )
    expect(hostsOf(c)).toEqual([['envhost', 6000, 'tcp']])
    expect(c).toMatchObject({
      user: 'bob',
      database: 'bobdb',
      applicationName: 'envapp',
      options: '-c search_path=x',
      connectTimeout: 10_000,
      targetSessionAttrs: 'read-write',
      loadBalanceHosts: 'random',
      channelBinding: 'require',
      requireAuth: { negated: true, methods: ['password', 'md5'] },
      gssEncMode: 'disable',
      minProtocolVersion: '3.2',
      protocolVersion: '3.2',
      warnings: [],
    })
    expect(c.password?.reveal()).toBe('envpw')
    expect(c.hosts[0]!.passwordSource).toBe('given')
    expect(c.ssl).toMatchObject({ mode: 'require', negotiation: 'direct', sni: false, rootCert: '/ca.pem', cert: '/c.pem', key: '/k.pem' })
  })

  it('lose to the connection string, key by key', () => {
    const c = resolve('host=strhost port=7000 password=strpw', { PGHOST: 'envhost', PGPORT: '6000', PGUSER: 'bob', PGPASSWORD: 'envpw' })
    expect(hostsOf(c)).toEqual([['strhost', 7000, 'tcp']])
    expect(c.user).toBe('bob')
    expect(c.password?.reveal()).toBe('strpw')
  })

  it('are not consulted (nor checked) for keys already set', () => {
    expect(resolve('sslmode=disable', { PGSSLMODE: 'bogus' }).ssl.mode).toBe('disable')
  })

  it('are checked, naming the variable, when used', () => {
    expect(() => resolve({}, { PGSSLMODE: 'bogus' })).toThrow(/invalid sslmode "bogus" in environment variable PGSSLMODE: expected one of disable, allow, prefer, require, verify-ca, verify-full/)
    expect(() => resolve({}, { PGPORT: 'x' })).toThrow(/invalid port "x" in environment variable PGPORT/)
    expect(() => resolve({}, { PGGSSENCMODE: 'require' })).toThrow(/gssencmode "require" in environment variable PGGSSENCMODE is not supported/)
    expect(() => resolve({}, { PGMINPROTOCOLVERSION: '3.2', PGMAXPROTOCOLVERSION: '3.0' })).toThrow(/min_protocol_version 3.2 is newer than max_protocol_version 3.0/)
  })

  it('an empty value in a higher layer still counts as set, and means the default', () => {
    const env = { PGHOST: 'envhost', PGPORT: '6000', PGUSER: 'bob' }
    const c = resolve("host='' port='' user=''", env)
    expect(hostsOf(c)).toEqual([['localhost', 5432, 'tcp']])
    expect(c.user).toBe('alice')
  })

  it('client_encoding other than UTF8 is reported in warnings and ignored', () => {
    expect(resolve({}, { PGCLIENTENCODING: 'LATIN1' }).warnings).toEqual(['client_encoding "LATIN1" ignored: pgline always uses UTF8'])
    for (const ok of ['UTF8', 'utf-8', 'unicode', 'auto']) expect(resolve(`client_encoding=${ok}`).warnings).toEqual([])
  })
})

describe('explicit options', () => {
  it('win over the connection string they are merged onto (connect(str, extra) does this)', () => {
    const c = resolve({ ...parseConnectionString('host=a user=x port=1'), user: 'y', port: 2 })
    expect(c.user).toBe('y')
    expect(hostsOf(c)).toEqual([['a', 2, 'tcp']])
  })

  it('keep their units: connectTimeout and keepalive delays in milliseconds', () => {
    const c = resolve({ connectTimeout: 1500, keepAliveInitialDelay: 250, tcpUserTimeout: 10 })
    expect(c).toMatchObject({ connectTimeout: 1500, keepAliveInitialDelay: 250, tcpUserTimeout: 10 })
  })

  it('are checked at run time too (JavaScript callers)', () => {
    expect(() => resolve({ sslMode: 'sometimes' as never })).toThrow(/invalid sslmode "sometimes" in the options/)
    expect(() => resolve({ targetSessionAttrs: 'master' as never })).toThrow(/target_session_attrs/)
    expect(() => resolve({ port: 70000 })).toThrow(/invalid port 70000/)
    expect(() => resolve({ gssEncMode: 'require' as never })).toThrow(/not supported/)
    expect(() => resolve({ requireAuth: 'scram-sha-256,!md5' })).toThrow(/cannot be mixed/)
  })

  it('max_protocol_version latest is 3.2', () => {
    expect(resolve({ protocolVersion: 'latest' }).protocolVersion).toBe('3.2')
    expect(resolve('max_protocol_version=latest').protocolVersion).toBe('3.2')
    expect(resolve({ protocolVersion: '3.2' }).protocolVersion).toBe('3.2')
    expect(resolve({ protocolVersion: '3.0' }).protocolVersion).toBe('3.0')
  })

  it('max_protocol_version defaults to 3.0 as in libpq 18, or to latest when min_protocol_version is above 3.0', () => {
    expect(resolve({}).protocolVersion).toBe('3.0')
    expect(resolve('min_protocol_version=3.0').protocolVersion).toBe('3.0')
    expect(resolve('min_protocol_version=3.2').protocolVersion).toBe('3.2')
    expect(resolve({ minProtocolVersion: 'latest' }).protocolVersion).toBe('3.2')
    expect(resolve({}, { PGMINPROTOCOLVERSION: '3.2' }).protocolVersion).toBe('3.2')
  })
})

describe('hosts', () => {
  const cases: [string, [string, number, string][]][] = [
    ['host=a,b,c port=1', [['a', 1, 'tcp'], ['b', 1, 'tcp'], ['c', 1, 'tcp']]],
    ['host=a,b port=1,2', [['a', 1, 'tcp'], ['b', 2, 'tcp']]],
    ['host=a,b port=,2', [['a', 5432, 'tcp'], ['b', 2, 'tcp']]],
    ['postgres://h1:5432,h2:5433/db', [['h1', 5432, 'tcp'], ['h2', 5433, 'tcp']]],
    ['postgres://h1,h2/db', [['h1', 5432, 'tcp'], ['h2', 5432, 'tcp']]],
    ['postgres://[::1]:5433,[::2]/db', [['::1', 5433, 'tcp'], ['::2', 5432, 'tcp']]],
    ['host=/tmp,@abstract,db port=5', [['/tmp', 5, 'unix'], ['@abstract', 5, 'unix'], ['db', 5, 'tcp']]],
    ['postgresql://%2Fvar%2Frun%2Fpostgresql/db', [['/var/run/postgresql', 5432, 'unix']]],
    ['postgres:///db?host=/tmp', [['/tmp', 5432, 'unix']]],
    ['host=db.example hostaddr=10.0.0.1', [['db.example@10.0.0.1', 5432, 'tcp']]],
    ['hostaddr=10.0.0.1,::1 port=1,2', [['10.0.0.1@10.0.0.1', 1, 'tcp'], ['::1@::1', 2, 'tcp']]],
    ['host=/tmp hostaddr=127.0.0.1', [['/tmp@127.0.0.1', 5432, 'tcp']]], // hostaddr wins: TCP
  ]
  for (const [input, expected] of cases) {
    it(`builds the list for ${input}`, () => expect(hostsOf(resolve(input))).toEqual(expected))
  }

  it('puts the first host in host/port for single-host callers (the address when there is a hostaddr)', () => {
    expect(resolve('host=db.example hostaddr=10.0.0.1 port=6')).toMatchObject({ host: '10.0.0.1', port: 6 })
    expect(resolve('host=a,b port=1,2')).toMatchObject({ host: 'a', port: 1 })
  })

  it('carries target_session_attrs and load_balance_hosts', () => {
    expect(resolve('host=a,b target_session_attrs=prefer-standby load_balance_hosts=random')).toMatchObject({
      targetSessionAttrs: 'prefer-standby',
      loadBalanceHosts: 'random',
    })
  })

  const bad: [string, RegExp][] = [
    ['host=a,b port=1,2,3', /could not match 3 port numbers to 2 hosts/],
    ['host=a,b hostaddr=10.0.0.1', /could not match 2 host names to 1 hostaddr values/],
    ['hostaddr=db.example', /invalid hostaddr "db.example": expected a numeric IPv4 or IPv6 address/],
    ['host=a,b port=1,x', /invalid port "x"/],
  ]
  for (const [input, message] of bad) {
    it(`refuses ${input}`, () => {
      expect(() => resolve(input)).toThrow(InterfaceError)
      expect(() => resolve(input)).toThrow(message)
    })
  }
})

describe('TLS settings', () => {
  it('sslrootcert=system makes verify-full the default and refuses weaker modes', () => {
    expect(resolve('sslrootcert=system').ssl.mode).toBe('verify-full')
    expect(() => resolve('sslrootcert=system sslmode=require')).toThrow(/sslmode "require" is too weak for sslrootcert=system/)
    expect(() => resolve('sslrootcert=system', { PGSSLMODE: 'verify-ca' })).toThrow(/too weak/)
  })

  it('sslnegotiation=direct needs sslmode require or stronger', () => {
    expect(() => resolve('sslnegotiation=direct')).toThrow(/sslmode "prefer" cannot be used with sslnegotiation=direct/)
    expect(resolve('sslnegotiation=direct sslmode=require').ssl.negotiation).toBe('direct')
  })

  it('checks the TLS version range', () => {
    expect(() => resolve('ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=TLSv1.2')).toThrow(/invalid SSL protocol version range/)
    expect(resolve('ssl_min_protocol_version=TLSv1.3').ssl).toMatchObject({ minProtocolVersion: 'TLSv1.3', maxProtocolVersion: undefined })
  })

  it('uses the default files under ~/.postgresql only when they exist', () => {
    const home = '/home/alice/.postgresql/'
    const c = resolve({}, {}, { [home + 'root.crt']: 'x', [home + 'postgresql.crt']: 'x', [home + 'postgresql.key']: 'x', [home + 'root.crl']: 'x' })
    expect(c.ssl).toMatchObject({ rootCert: home + 'root.crt', cert: home + 'postgresql.crt', key: home + 'postgresql.key', crl: home + 'root.crl' })
    expect(resolve({}).ssl).toMatchObject({ rootCert: undefined, cert: undefined, key: undefined, crl: undefined })
    expect(resolve('sslcert=/mine.crt').ssl.cert).toBe('/mine.crt') // given paths are kept even when missing
  })

  it('keeps the key passphrase a Secret', () => {
    const c = resolve("sslpassword='k3y pass'")
    expect(c.ssl.password?.reveal()).toBe('k3y pass')
    expect(JSON.stringify(c) + inspect(c, { depth: 10 })).not.toContain('k3y pass')
  })
})

describe('the service file', () => {
  const userFile = '/home/alice/.pg_service.conf'
  const text = ['# my services', 'host=ignored', '[svc]', 'host=svchost', 'port=6000', '  dbname=svcdb  ', '', '[other]', 'host=otherhost', ''].join('\n')

  it('supplies values between the connection string and the environment', () => {
    const c = resolve('service=svc dbname=strdb', { PGPORT: '7000', PGUSER: 'bob', PGHOST: 'envhost' }, { [userFile]: text })
    expect(hostsOf(c)).toEqual([['svchost', 6000, 'tcp']]) // service beats PGHOST and PGPORT
    expect(c.database).toBe('strdb') // the string beats the service
    expect(c.user).toBe('bob') // the environment fills the rest
    expect(c.service).toBe('svc')
  })

  it('is named by PGSERVICE too', () => {
    const c = resolve({}, { PGSERVICE: 'svc' }, { [userFile]: text })
    expect(hostsOf(c)).toEqual([['svchost', 6000, 'tcp']])
    expect(c.database).toBe('svcdb')
    expect(c.service).toBe('svc')
  })

  it('is read from PGSERVICEFILE, which must exist', () => {
    expect(hostsOf(resolve('service=svc', { PGSERVICEFILE: '/etc/mine.conf' }, { '/etc/mine.conf': text }))).toEqual([['svchost', 6000, 'tcp']])
    expect(() => resolve('service=svc', { PGSERVICEFILE: '/nope.conf' })).toThrow(/service file "\/nope.conf" \(PGSERVICEFILE\) not found/)
  })

  it('falls back to the system file (PGSYSCONFDIR, else the default sysconfdir), never merging the two', () => {
    const system = '[svc]\nhost=syshost\nport=6543\n[only]\nhost=onlysys\n'
    expect(hostsOf(resolve('service=svc', { PGSYSCONFDIR: '/sys' }, { '/sys/pg_service.conf': system }))).toEqual([['syshost', 6543, 'tcp']])
    expect(hostsOf(resolve('service=only', {}, { '/etc/postgresql-common/pg_service.conf': system }))).toEqual([['onlysys', 5432, 'tcp']])
    const both = resolve('service=svc', { PGSYSCONFDIR: '/sys' }, { '/sys/pg_service.conf': system, [userFile]: '[svc]\nhost=userhost\n' })
    expect(hostsOf(both)).toEqual([['userhost', 5432, 'tcp']]) // not syshost's port 6543
  })

  it('takes values literally, the first one of a keyword winning', () => {
    const c = resolve('service=s', {}, { [userFile]: "[s]\nhost=a\nhost=b\napplication_name='quoted app'\noptions=-c x=1\n" })
    expect(c.hosts[0]!.host).toBe('a')
    expect(c.applicationName).toBe("'quoted app'")
    expect(c.options).toBe('-c x=1')
  })

  it('can hold the password (above PGPASSWORD)', () => {
    expect(resolve('service=s', { PGPASSWORD: 'envpw' }, { [userFile]: '[s]\npassword=svcpw\n' }).password?.reveal()).toBe('svcpw')
  })

  const bad: [string, string, RegExp][] = [
    ['no such service', '[other]\nhost=a\n', /definition of service "svc" not found \(searched \/home\/alice\/.pg_service.conf, \/etc\/postgresql-common\/pg_service.conf\)/],
    ['nested services', '[svc]\nservice=other\n', /nested service specifications are not supported \(service file "\/home\/alice\/.pg_service.conf", line 2\)/],
    ['unknown keywords', '[svc]\nhots=a\n', /unknown connection parameter "hots" in service file "\/home\/alice\/.pg_service.conf", line 2 \(did you mean "host"\?\); known parameters: host, hostaddr/],
    ['spaces around "="', '[svc]\nhost = a\n', /unknown connection parameter "host "/],
    ['lines without "="', '[svc]\nhost=a\nport\n', /syntax error in service file "\/home\/alice\/.pg_service.conf", line 3/],
    ['bad values, naming file and line', '[svc]\n\nsslmode=maybe\n', /invalid sslmode "maybe" in service file "\/home\/alice\/.pg_service.conf", line 3/],
  ]
  for (const [what, content, message] of bad) {
    it(`refuses ${what}`, () => expect(() => resolve('service=svc', {}, { [userFile]: content })).toThrow(message))
  }

  it('does not look at other sections', () => {
    expect(resolve('service=svc', {}, { [userFile]: '[other]\nthis is not valid\n[svc]\nhost=a\n' }).hosts[0]!.host).toBe('a')
  })
})

describe('the password stays secret', () => {
  it('in inspect, JSON and String of the resolved config', () => {
    const pw = 'Sup3r-Secret-Pw'
    for (const c of [
      resolve(`password=${pw} host=a,b`),
      resolve({}, { PGPASSWORD: pw }),
      resolve('host=h', {}, { '/home/alice/.pgpass': `*:*:*:*:${pw}` }),
    ]) {
      expect(c.hosts.every((h) => h.password?.reveal() === pw)).toBe(true)
      const printed = [inspect(c, { depth: 20 }), JSON.stringify(c), String(c), `${c.password}`, String(c.hosts[0]!.password)].join('\n')
      expect(printed).not.toContain(pw)
    }
  })

  it('in errors about other settings', () => {
    try {
      resolve('password=Sup3r-Secret-Pw sslmode=bogus')
      expect.unreachable()
    } catch (e) {
      expect((e as Error).message).not.toContain('Sup3r')
      expect(inspect(e)).not.toContain('Sup3r')
    }
  })
})
