// pgline's reading of connection strings, the environment, service and
// password files, compared field by field with what the installed libpq
// resolves for the same input (PQconninfoParse, and PQconnectStart +
// PQconninfo on hosts that fail at once). Skipped, saying why, where there is
// no C compiler or no libpq-dev; the documented expectations in
// conninfo.test.ts, resolve.test.ts and pgpass.test.ts always run.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveConfig, type ResolvedConfig } from '../../../src/config/config.js'
import { formatConnectionKeywords, parseConnectionKeywords } from '../../../src/config/conninfo.js'
import { KEYWORDS } from '../../../src/config/keywords.js'
import { nodeSystem } from '../../../src/config/system.js'
import { DELIBERATE_DIFFERENCES, KEY_VALUE_CASES, KEY_VALUE_ERRORS, URI_CASES, URI_ERRORS } from './_cases.js'
import { buildLibpqProbe, type LibpqProbe } from './_libpq.js'

const built = buildLibpqProbe()
const probe: LibpqProbe | undefined = 'probe' in built ? built.probe : undefined
const skipReason = 'reason' in built ? built.reason : ''
if (probe === undefined) console.warn(`[pgline] libpq comparison tests skipped: ${skipReason}`)
afterAll(() => probe?.dispose())

function mine(s: string): Record<string, string> | 'error' {
  try {
    return Object.fromEntries(parseConnectionKeywords(s))
  } catch {
    return 'error'
  }
}

function theirs(p: LibpqProbe, s: string): Record<string, string> | 'error' {
  const v = p.parse(s).values
  return 'ERROR' in v ? 'error' : v
}

/** Keywords in the input that this libpq does not know (newer than it). */
function unknownToLibpq(p: LibpqProbe, s: string): string[] {
  const parsed = mine(s)
  if (parsed === 'error') return []
  return Object.keys(parsed).filter((k) => !p.keywords.has(k))
}

describe.skipIf(probe === undefined)(`parsing agrees with libpq${probe ? ` ${probe.version}` : ` (skipped: ${skipReason})`}`, () => {
  if (probe === undefined) {
    it('needs the libpq probe', () => {})
    return
  }
  const p = probe
  const inputs = [...KEY_VALUE_CASES, ...KEY_VALUE_ERRORS, ...URI_CASES, ...URI_ERRORS].map(([s]) => s)
  for (const input of inputs) {
    const why = DELIBERATE_DIFFERENCES[input]
    it.skipIf(why !== undefined)(`${JSON.stringify(input)}${why ? ` (differs on purpose: ${why})` : ''}`, () => {
      const newer = unknownToLibpq(p, input)
      if (newer.length > 0) return // this libpq is older than the keywords used
      expect(mine(input)).toEqual(theirs(p, input))
    })
  }

  it('reads formatConnectionKeywords output as we do (fast-check)', () => {
    const known = KEYWORDS.filter((k) => p.keywords.has(k))
    const value = fc.oneof(fc.string({ unit: 'grapheme' }), fc.constantFrom('', ' ', "'", '\\', "a'b c", '=x'))
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...known), value.filter((v) => !v.includes('\0'))), (m) => {
        expect(theirs(p, formatConnectionKeywords(m))).toEqual(m)
      }),
      { numRuns: 60 },
    )
  })

  it('decodes percent-encoded URIs as we do (fast-check)', () => {
    const text = fc.string({ unit: 'grapheme', minLength: 1 }).filter((s) => !s.includes('\0'))
    fc.assert(
      fc.property(text, text, text.filter((s) => !s.includes(',')), fc.integer({ min: 1, max: 65535 }), text, text, (user, pw, host, port, db, app) => {
        const e = encodeURIComponent
        const uri = `postgresql://${e(user)}:${e(pw)}@${e(host)}:${port},[::1]/${e(db)}?application_name=${e(app)}`
        expect(mine(uri)).toEqual(theirs(p, uri))
      }),
      { numRuns: 60 },
    )
  })
})

interface ResolveCase {
  name: string
  conninfo: string
  env?: Record<string, string>
  /** Files written under the case's directory; '{dir}' in env values and file contents is that directory. */
  files?: Record<string, { text: string; mode?: number }>
  /** The oldest libpq (PQlibVersion) that behaves as documented today for this case. */
  minVersion?: number
}

const NOT_CONFIG = /connection to server|could not translate host name|could not connect|Connection refused|No such file or directory|timeout expired/

function portsOf(raw: string | undefined, count: number): number[] {
  const list = (raw ?? '').split(',').map((x) => (x.trim() === '' ? 5432 : Number(x.trim())))
  return list.length === 1 ? Array.from({ length: count }, () => list[0]!) : list
}

function seconds(raw: string): number {
  const n = raw.trim() === '' ? 0 : Number(raw)
  return n <= 0 ? 0 : Math.max(n, 2) * 1000
}

/** Each libpq value next to pgline's value for the same thing. */
function pairs(lib: Record<string, string>, c: ResolvedConfig): [string, unknown, unknown][] {
  const out: [string, unknown, unknown][] = []
  const add = (name: string, libValue: unknown, ours: unknown): void => {
    out.push([name, libValue, ours])
  }
  if (lib.host !== undefined && lib.host !== '' && !lib.host.split(',').includes('')) add('host', lib.host, c.hosts.map((h) => h.host).join(','))
  if (lib.hostaddr !== undefined && lib.hostaddr !== '') add('hostaddr', lib.hostaddr, c.hosts.map((h) => h.hostaddr ?? '').join(','))
  add('port', portsOf(lib.port, c.hosts.length), c.hosts.map((h) => h.port))
  add('dbname', lib.dbname, c.database)
  add('user', lib.user, c.user)
  add('options', lib.options ?? '', c.options ?? '')
  add('application_name', lib.application_name ?? lib.fallback_application_name, c.applicationName)
  add('sslmode', lib.sslmode, c.ssl.mode)
  add('target_session_attrs', lib.target_session_attrs, c.targetSessionAttrs)
  add('channel_binding', lib.channel_binding, c.channelBinding)
  add('gssencmode', lib.gssencmode, c.gssEncMode)
  add('sslsni', lib.sslsni, c.ssl.sni ? '1' : '0')
  add('ssl_min_protocol_version', lib.ssl_min_protocol_version, c.ssl.minProtocolVersion)
  add('ssl_max_protocol_version', lib.ssl_max_protocol_version, c.ssl.maxProtocolVersion)
  // Unset, libpq waits forever; pgline has a default (DEFAULT_CONNECT_TIMEOUT).
  if (lib.connect_timeout !== undefined) add('connect_timeout', seconds(lib.connect_timeout), c.connectTimeout)
  if (lib.keepalives !== undefined) add('keepalives', lib.keepalives !== '0', c.keepAlive)
  if (lib.keepalives_idle !== undefined) add('keepalives_idle', Number(lib.keepalives_idle) * 1000, c.keepAliveInitialDelay)
  if (lib.sslrootcert !== undefined) add('sslrootcert', lib.sslrootcert, c.ssl.rootCert)
  if (lib.sslcert !== undefined) add('sslcert', lib.sslcert, c.ssl.cert)
  if (lib.requirepeer !== undefined) add('requirepeer', lib.requirepeer, c.requirePeer)
  if (lib.load_balance_hosts !== undefined) add('load_balance_hosts', lib.load_balance_hosts, c.loadBalanceHosts)
  if (lib.sslnegotiation !== undefined) add('sslnegotiation', lib.sslnegotiation, c.ssl.negotiation)
  if (lib.sslcertmode !== undefined) add('sslcertmode', lib.sslcertmode, c.ssl.certMode)
  if (lib.require_auth !== undefined) {
    const r = c.requireAuth
    add('require_auth', lib.require_auth, r === undefined ? '' : r.methods.map((m) => (r.negated ? '!' : '') + m).join(','))
  }
  if (lib.min_protocol_version !== undefined) add('min_protocol_version', lib.min_protocol_version, c.minProtocolVersion)
  add('passfile', lib.passfile, c.passfile)
  add('password (PQpass)', lib.PQPASS || undefined, c.password?.reveal())
  return out
}

describe.skipIf(probe === undefined)(`resolution agrees with libpq${probe ? ` ${probe.version}` : ` (skipped: ${skipReason})`}`, () => {
  // The suite body runs (to list the skipped tests) even without a probe: touch nothing then.
  if (probe === undefined) {
    it('needs the libpq probe', () => {})
    return
  }
  const p = probe
  const root = mkdtempSync(join(tmpdir(), 'pgline-libpq-compare-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  // libpq's compiled-in socket directory, from its own error message.
  const defaultSocketDir = /socket "(.*)\/\.s\.PGSQL\.\d+"/.exec(p.resolve("host='' port=1", { PGPASSFILE: '/nonexistent' }).values.STATUS ?? '')?.[1]
  const services = '[svc]\nhost=/svc-socket\nport=6000\ndbname=svcdb\n\n[nested]\nservice=svc\n\n[broken]\nport\n'
  const pgpass = `localhost:5432:*:bob:local-pw\n/nonexistent:*:*:*:path-pw\nwe\\:ird:1:d:u:pa\\:ss\n`

  const cases: ResolveCase[] = [
    { name: 'a socket directory', conninfo: 'host=/nonexistent' },
    {
      name: 'the environment under the string',
      conninfo: 'port=6000',
      env: {
        PGHOST: '/nonexistent',
        PGPORT: '7000',
        PGUSER: 'bob',
        PGDATABASE: 'bobdb',
        PGAPPNAME: 'app',
        PGOPTIONS: '-c x=1',
        PGCONNECT_TIMEOUT: '10',
        PGSSLMODE: 'require',
        PGTARGETSESSIONATTRS: 'read-only',
        PGCHANNELBINDING: 'disable',
        PGGSSENCMODE: 'disable',
        PGSSLMINPROTOCOLVERSION: 'TLSv1.3',
      },
    },
    { name: 'empty values stop the environment', conninfo: "host='' user='' port=''", env: { PGHOST: '/x', PGUSER: 'bob', PGPORT: '7000' } },
    { name: 'several hosts and ports', conninfo: 'host=/a,/b port=1,2 target_session_attrs=primary' },
    { name: 'one port for several hosts', conninfo: 'host=/a,/b,/c port=7' },
    { name: 'too many ports', conninfo: 'host=/a,/b port=1,2,3' },
    { name: 'hostaddr', conninfo: 'hostaddr=127.0.0.1 port=1' },
    { name: 'host and hostaddr counts differ', conninfo: 'host=a,b hostaddr=127.0.0.1' },
    { name: 'a hostaddr that is no address', conninfo: 'hostaddr=notanip' },
    { name: 'a bad sslmode', conninfo: 'host=/a sslmode=bogus' },
    { name: 'a bad sslmode from the environment', conninfo: 'host=/a', env: { PGSSLMODE: 'bogus' } },
    { name: 'an unused bad environment value', conninfo: 'host=/a sslmode=disable', env: { PGSSLMODE: 'bogus' } },
    { name: 'a bad target_session_attrs', conninfo: 'host=/a target_session_attrs=master' },
    { name: 'a bad channel_binding', conninfo: 'host=/a channel_binding=always' },
    { name: 'a bad gssencmode', conninfo: 'host=/a gssencmode=sometimes' },
    { name: 'an inverted TLS version range', conninfo: 'host=/a ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=TLSv1.2' },
    { name: 'an unknown TLS version', conninfo: 'host=/a ssl_min_protocol_version=TLSv9' },
    { name: 'port 0', conninfo: 'host=/a port=0' },
    { name: 'a port that is no number', conninfo: 'host=/a port=abc' },
    { name: 'connect_timeout 1 (counts as 2)', conninfo: 'host=/a connect_timeout=1' },
    { name: 'keepalive settings', conninfo: 'host=/a keepalives=0 keepalives_idle=30' },
    { name: 'fallback_application_name', conninfo: 'host=/a fallback_application_name=fb' },
    { name: 'application_name over fallback_application_name', conninfo: 'host=/a fallback_application_name=fb', env: { PGAPPNAME: 'envapp' } },
    { name: 'TLS file settings', conninfo: 'host=/a sslmode=verify-ca sslrootcert=/nonexistent/ca.pem sslcert=/nonexistent/c.pem requirepeer=postgres' },
    { name: 'the whitespace-after-= quirk', conninfo: 'host=/a dbname= user=bob' },
    { name: 'a URI with a socket directory', conninfo: 'postgresql://%2Fnonexistent/db?application_name=x', env: { PGUSER: 'u' } },
    { name: 'a URI with the host in the query', conninfo: 'postgres:///db?host=/nonexistent&port=5433' },
    { name: 'a service between string and environment', conninfo: 'service=svc dbname=x', env: { PGPORT: '7000', PGHOST: '/env', PGSERVICEFILE: '{dir}/services' }, files: { services: { text: services } } },
    { name: 'PGSERVICE', conninfo: 'user=u', env: { PGSERVICE: 'svc', PGHOST: '/env', PGSERVICEFILE: '{dir}/services' }, files: { services: { text: services } } },
    { name: 'an unknown service', conninfo: 'service=nope', env: { PGSERVICEFILE: '{dir}/services' }, files: { services: { text: services } } },
    { name: 'a nested service', conninfo: 'service=nested', env: { PGSERVICEFILE: '{dir}/services' }, files: { services: { text: services } } },
    { name: 'a service line without "="', conninfo: 'service=broken', env: { PGSERVICEFILE: '{dir}/services' }, files: { services: { text: services } } },
    { name: 'a missing PGSERVICEFILE', conninfo: 'service=svc', env: { PGSERVICEFILE: '{dir}/absent' } },
    { name: 'the system service file', conninfo: 'service=svc', env: { PGSYSCONFDIR: '{dir}/sys' }, files: { 'sys/pg_service.conf': { text: services } } },
    { name: 'pgpass by socket path', conninfo: 'host=/nonexistent user=bob', env: { PGPASSFILE: '{dir}/pgpass' }, files: { pgpass: { text: pgpass } } },
    { name: 'pgpass with escapes, by host name with hostaddr', conninfo: 'host=we:ird hostaddr=127.0.0.1 port=1 user=u dbname=d', env: { PGPASSFILE: '{dir}/pgpass' }, files: { pgpass: { text: pgpass } } },
    { name: 'pgpass after an empty password', conninfo: "host=/nonexistent user=bob password=''", env: { PGPASSFILE: '{dir}/pgpass' }, files: { pgpass: { text: pgpass } } },
    { name: 'pgpass under a given password', conninfo: 'host=/nonexistent user=bob password=given', env: { PGPASSFILE: '{dir}/pgpass' }, files: { pgpass: { text: pgpass } } },
    { name: 'pgpass under PGPASSWORD', conninfo: 'host=/nonexistent user=bob', env: { PGPASSWORD: 'env-pw', PGPASSFILE: '{dir}/pgpass' }, files: { pgpass: { text: pgpass } } },
    { name: 'pgpass with group access', conninfo: 'host=/nonexistent user=bob', env: { PGPASSFILE: '{dir}/pgpass' }, files: { pgpass: { text: pgpass, mode: 0o644 } } },
    { name: 'pgpass via passfile', conninfo: 'host=/nonexistent user=bob passfile={dir}/pgpass', files: { pgpass: { text: pgpass } } },
  ]
  // Newer rules: checked where the installed libpq has them.
  cases.push(
    { name: 'sslrootcert=system makes verify-full the default', conninfo: 'host=/a sslrootcert=system', minVersion: 160000 },
    { name: 'sslrootcert=system refuses a weaker sslmode', conninfo: 'host=/a sslrootcert=system sslmode=require', minVersion: 160000 },
    { name: 'load_balance_hosts and require_auth', conninfo: 'host=/a,/b load_balance_hosts=random require_auth=!password,!md5', minVersion: 160000 },
    { name: 'a bad load_balance_hosts', conninfo: 'host=/a load_balance_hosts=roundrobin', minVersion: 160000 },
    { name: 'mixed require_auth', conninfo: 'host=/a require_auth=scram-sha-256,!md5', minVersion: 160000 },
    { name: 'sslcertmode', conninfo: 'host=/a sslcertmode=disable', minVersion: 160000 },
    { name: 'sslnegotiation=direct with sslmode require', conninfo: 'host=/a sslnegotiation=direct sslmode=require', minVersion: 170000 },
    { name: 'sslnegotiation=direct with the default sslmode', conninfo: 'host=/a sslnegotiation=direct', minVersion: 170000 },
    { name: 'protocol versions', conninfo: 'host=/a min_protocol_version=3.0 max_protocol_version=3.2', minVersion: 180000 },
    { name: 'an inverted protocol version range', conninfo: 'host=/a min_protocol_version=3.2 max_protocol_version=3.0', minVersion: 180000 },
  )
  if (defaultSocketDir !== undefined) {
    cases.push({ name: `pgpass: 'localhost' for the default socket directory ${defaultSocketDir}`, conninfo: `host=${defaultSocketDir} user=bob`, env: { PGPASSFILE: '{dir}/pgpass' }, files: { pgpass: { text: pgpass } } })
  }

  cases.forEach((c, i) => {
    const tooOld = c.minVersion !== undefined && p.version < c.minVersion
    const skipNote = tooOld ? ` (skipped: needs libpq ${c.minVersion}, this one is ${p.version})` : ''
    it.skipIf(tooOld)(`${c.name}: ${c.conninfo}${skipNote}`, () => {
      const dir = join(root, String(i))
      mkdirSync(dir, { recursive: true })
      mkdirSync(join(dir, 'nosys'), { recursive: true })
      for (const [name, f] of Object.entries(c.files ?? {})) {
        const file = join(dir, name)
        mkdirSync(join(file, '..'), { recursive: true })
        writeFileSync(file, f.text.replaceAll('{dir}', dir))
        chmodSync(file, f.mode ?? 0o600)
      }
      // Keep both away from this machine's ~/.pgpass, service files and sysconfdir.
      const env: Record<string, string> = { PGPASSFILE: join(dir, 'no-pgpass'), PGSYSCONFDIR: join(dir, 'nosys') }
      for (const [k, v] of Object.entries(c.env ?? {})) env[k] = v.replaceAll('{dir}', dir)
      const conninfo = c.conninfo.replaceAll('{dir}', dir)

      const lib = p.resolve(conninfo, env).values
      const libFailed = lib.STATUS !== undefined && !NOT_CONFIG.test(lib.STATUS)
      let ours: ResolvedConfig | Error
      try {
        ours = resolveConfig(conninfo, env, { ...nodeSystem(), homeDir: dir, userName: userInfo().username, sysconfDirs: [] })
      } catch (e) {
        ours = e as Error
      }
      if (libFailed) {
        expect(ours, `libpq refused it (${lib.STATUS!.trim()})`).toBeInstanceOf(Error)
        return
      }
      if (ours instanceof Error) throw new Error(`libpq accepted it but pgline refused: ${ours.message}`)
      for (const [name, libValue, ourValue] of pairs(lib, ours)) {
        expect(ourValue, name).toEqual(libValue)
      }
    })
  })
})
