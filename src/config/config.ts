// The one typed configuration a connection is opened with, resolved the way
// libpq resolves it. Each setting comes from the first of these that has it:
//
//   1. explicit options (ConnectOptions fields; `connect(str, extra)` merges
//      `extra` over the string's values before resolving)
//   2. the connection string (key=value or postgres:// URI)
//   3. the service file section named by `service` (or PGSERVICE)
//   4. the PG* environment variable of the keyword
//   5. the default
//
// An empty string counts as given (it stops the lower layers) and then means
// the default, as in libpq: `host=''` with PGHOST set connects to the default
// host. Then: the host list is built (hosts, hostaddrs and ports matched up),
// the password file is consulted for each host when no password was given,
// and the TLS settings are checked against each other.

import path from 'node:path'
import { isIP } from 'node:net'
import { InterfaceError } from '../errors/base.js'
import { isUnixSocketHost } from '../transport/socket.js'
import type { TypeMap } from '../types/type-map.js'
import { parseConnectionKeywords } from './conninfo.js'
import { ENV_VARS, KEYWORDS, type Keyword } from './keywords.js'
import { checkOptionKeys } from './known-options.js'
import type { Notice } from './notice.js'
import { lookupPgpass, parsePgpass, type PgpassEntry } from './pgpass.js'
import { Secret } from './secret.js'
import { loadService } from './service.js'
import { nodeSystem, type ConfigSystem } from './system.js'

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full'
export type SslNegotiation = 'postgres' | 'direct'
export type SslCertMode = 'disable' | 'allow' | 'require'
export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'
export type ChannelBinding = 'disable' | 'prefer' | 'require'
/** GSSAPI encryption is not implemented: 'prefer' never finds it, 'require' is refused. */
export type GssEncMode = 'disable' | 'prefer'
export type TargetSessionAttrs = 'any' | 'read-write' | 'read-only' | 'primary' | 'standby' | 'prefer-standby'
export type LoadBalanceHosts = 'disable' | 'random'
export type ProtocolVersion = '3.0' | '3.2'
export type AuthMethod = 'password' | 'md5' | 'gss' | 'sspi' | 'scram-sha-256' | 'oauth' | 'none'

export const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']
export const SSL_NEGOTIATIONS: readonly SslNegotiation[] = ['postgres', 'direct']
export const SSL_CERT_MODES: readonly SslCertMode[] = ['disable', 'allow', 'require']
export const TLS_VERSIONS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']
export const CHANNEL_BINDINGS: readonly ChannelBinding[] = ['disable', 'prefer', 'require']
export const TARGET_SESSION_ATTRS: readonly TargetSessionAttrs[] = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby']
export const LOAD_BALANCE_HOSTS: readonly LoadBalanceHosts[] = ['disable', 'random']
export const AUTH_METHODS: readonly AuthMethod[] = ['password', 'md5', 'gss', 'sspi', 'scram-sha-256', 'oauth', 'none']
const PROTOCOL_VERSIONS = ['3.0', '3.2', 'latest'] as const

export interface ConnectOptions {
  /**
   * A host name, an IP address, or an absolute directory holding the unix
   * socket ('@name' for Linux's abstract namespace). Several hosts are
   * comma-separated ('db1,db2'); an empty entry means the default host.
   */
  host?: string
  /** Numeric IP address(es) to connect to without a name lookup; comma-separated, matching `host` one to one. */
  hostaddr?: string
  /** A port, or a comma-separated list matching the hosts ('5432,5433'; an empty entry is 5432). */
  port?: number | string
  user?: string
  /**
   * The password, or a function that gives it (sync or async): called for
   * each new connection, when the server asks for a password (never for a
   * trust login), with the host, port, user and database it is for. For
   * short-lived tokens (AWS RDS IAM, Azure Entra ID, Vault). See README,
   * "Rotating credentials".
   */
  password?: string | PasswordFunction
  database?: string
  /** Password file to consult when no password is given (default ~/.pgpass). */
  passfile?: string
  /** A service (section) of the connection service file to take defaults from. */
  service?: string
  /** Authentication methods the server may use: 'scram-sha-256', 'password,md5', or all negated ('!password'). */
  requireAuth?: string
  /** SCRAM channel binding: 'prefer' (default; used over TLS when offered), 'require', 'disable'. */
  channelBinding?: ChannelBinding
  applicationName?: string
  /** application_name when none is given. */
  fallbackApplicationName?: string
  /** Command-line options sent to the server at startup, e.g. `-c search_path=app`. */
  options?: string
  /** Only UTF8 is used; anything else is reported in `warnings` and ignored. */
  clientEncoding?: string
  /**
   * Milliseconds for TCP connect, TLS and authentication together. Default
   * 30 000 when neither this, connect_timeout nor PGCONNECT_TIMEOUT is set;
   * 0 waits forever.
   */
  connectTimeout?: number
  keepAlive?: boolean
  /** Milliseconds of idleness before the first TCP keepalive probe (0: the system default). */
  keepAliveInitialDelay?: number
  /** Milliseconds between keepalive probes (0: the system default). */
  keepAliveInterval?: number
  /** Unanswered keepalive probes before the connection is dead (0: the system default). */
  keepAliveCount?: number
  /** TCP_USER_TIMEOUT in milliseconds (0: the system default). */
  tcpUserTimeout?: number
  /** GSSAPI encryption is not supported: 'disable' or 'prefer' (which never finds it). */
  gssEncMode?: GssEncMode
  sslMode?: SslMode
  sslNegotiation?: SslNegotiation
  /** Client certificate file (default ~/.postgresql/postgresql.crt, used when it exists). */
  sslCert?: string
  /** Client key file (default ~/.postgresql/postgresql.key). */
  sslKey?: string
  /** Passphrase of the client key. */
  sslPassword?: string
  sslCertMode?: SslCertMode
  /** CA file, or 'system' for the trusted system roots (then sslMode defaults to, and must be, 'verify-full'). */
  sslRootCert?: string
  sslCrl?: string
  sslCrlDir?: string
  /** Send the host name as TLS SNI (default true). */
  sslSni?: boolean
  /** Unix-socket connections only: the operating-system user the server must run as. */
  requirePeer?: string
  sslMinProtocolVersion?: TlsVersion
  sslMaxProtocolVersion?: TlsVersion
  /** Accepted for compatibility; unused (no GSSAPI). */
  krbSrvName?: string
  /** Accepted for compatibility; unused (no GSSAPI). */
  gssLib?: string
  targetSessionAttrs?: TargetSessionAttrs
  loadBalanceHosts?: LoadBalanceHosts
  /**
   * The protocol version to ask for (libpq's max_protocol_version): '3.0' by
   * default, as libpq 18, since poolers without NegotiateProtocolVersion
   * (PgBouncer before 1.22) refuse a 3.2 startup; '3.2' or 'latest' (3.2)
   * for its long cancel keys, which older servers downgrade to 3.0. When only
   * minProtocolVersion is set above 3.0, the default becomes 'latest'.
   */
  protocolVersion?: ProtocolVersion | 'latest'
  /** The oldest protocol version the server may downgrade to (libpq's min_protocol_version; default '3.0'). */
  minProtocolVersion?: ProtocolVersion | 'latest'
  /** Extra startup parameters (run-time settings such as `search_path`). */
  parameters?: Record<string, string>
  /**
   * Open a replication connection (libpq's `replication`): 'database' for
   * logical replication (what replicate() and ReplicationConnection use),
   * true for physical. Such a connection takes only the simple query
   * protocol: query() with parameters is refused by the server.
   */
  replication?: 'database' | boolean
  /** Larger server messages are treated as a protocol violation. */
  maxMessageSize?: number
  /** Type map for this connection (a child of the global one by default). */
  types?: TypeMap
  onNotice?: (notice: Notice) => void
}

/** What a password function is told: the connection it gives a password for. */
export interface PasswordTarget {
  /** The host name (or socket directory, or address when only hostaddr was given), as the password file matches it. */
  host: string
  port: number
  user: string
  database: string
}

/** Gives the password of a new connection (a string, or a promise of one); see ConnectOptions.password. */
export type PasswordFunction = (target: PasswordTarget) => string | Promise<string>

/** One server to try, in order (or shuffled, with loadBalanceHosts 'random'). */
export interface HostTarget {
  /**
   * The server's name: a host name, an IP address, or a unix-socket directory.
   * TLS verification, SNI and the password file use it. When only a hostaddr
   * was given it is that address.
   */
  host: string
  /** Connect to this numeric address instead of looking `host` up. */
  hostaddr: string | undefined
  port: number
  /** 'unix' when `host` is a socket directory (a path starting with '/' or '@') and there is no hostaddr. */
  kind: 'tcp' | 'unix'
  /** The password for this host: the one given, or the password-file entry matching this host. */
  password: Secret | undefined
  /** 'function': the password function gives it when the server asks (`password` stays undefined). */
  passwordSource: 'given' | 'passfile' | 'function' | undefined
}

export interface TlsConfig {
  mode: SslMode
  negotiation: SslNegotiation
  /**
   * CA file path, or 'system' for the system roots. Without sslrootcert, the
   * default ~/.postgresql/root.crt when that file exists (with sslmode
   * require, libpq then verifies the chain as verify-ca does).
   */
  rootCert: string | undefined
  /** Client certificate path; the default ~/.postgresql/postgresql.crt only when it exists. */
  cert: string | undefined
  /** Client key path; the default ~/.postgresql/postgresql.key only when it exists. */
  key: string | undefined
  password: Secret | undefined
  certMode: SslCertMode
  /** Revocation list file; the default ~/.postgresql/root.crl only when it exists. */
  crl: string | undefined
  crlDir: string | undefined
  /** Send SNI (never for an IP address). */
  sni: boolean
  /** Default TLSv1.2. */
  minProtocolVersion: TlsVersion
  maxProtocolVersion: TlsVersion | undefined
}

export interface RequireAuth {
  /** true: the server must use none of `methods`; false: it must use one of them. */
  negated: boolean
  methods: AuthMethod[]
}

export interface ResolvedConfig {
  /** Where to connect first: hosts[0].hostaddr ?? hosts[0].host (kept for single-host callers). */
  host: string
  /** hosts[0].port */
  port: number
  /** Every server to try, in order; never empty. */
  hosts: HostTarget[]
  user: string
  /** hosts[0].password: the given password, or the first host's password-file entry. */
  password: Secret | undefined
  /** The password function, when `password` was one: no password file is read then. */
  passwordFunction: PasswordFunction | undefined
  database: string
  applicationName: string | undefined
  options: string | undefined
  /** Milliseconds; 0 waits forever. libpq's seconds are converted (1 s counts as 2 s, as in libpq). */
  connectTimeout: number
  keepAlive: boolean
  /** Milliseconds; 0 leaves the system default. */
  keepAliveInitialDelay: number
  /** Milliseconds; 0 leaves the system default. */
  keepAliveInterval: number
  /** 0 leaves the system default. */
  keepAliveCount: number
  /** Milliseconds; 0 leaves the system default. */
  tcpUserTimeout: number
  protocolVersion: ProtocolVersion
  minProtocolVersion: ProtocolVersion
  requireAuth: RequireAuth | undefined
  channelBinding: ChannelBinding
  gssEncMode: GssEncMode
  ssl: TlsConfig
  requirePeer: string | undefined
  targetSessionAttrs: TargetSessionAttrs
  loadBalanceHosts: LoadBalanceHosts
  service: string | undefined
  /** The password file consulted (or that would have been), if any. */
  passfile: string | undefined
  /** Things ignored on the way (a password file with loose permissions, a non-UTF8 client_encoding); never printed by pgline. */
  warnings: string[]
  parameters: Record<string, string>
  maxMessageSize: number
  types: TypeMap | undefined
  onNotice: ((notice: Notice) => void) | undefined
}

// ---------------------------------------------------------------------------
// keyword strings -> typed options

type Setter = (out: ConnectOptions, value: string, origin: string) => void

function fail(keyword: string, value: string, origin: string, expected: string): never {
  throw new InterfaceError(`invalid ${keyword} "${value}" ${origin}: expected ${expected}`)
}

function oneOf<T extends string>(keyword: string, allowed: readonly T[], value: string, origin: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T
  return fail(keyword, value, origin, `one of ${allowed.join(', ')}`)
}

/** libpq's integer syntax: optional sign, digits, surrounding whitespace. */
function integer(keyword: string, value: string, origin: string, min: number): number | undefined {
  const t = value.trim()
  if (t === '') return undefined
  if (!/^[+-]?\d+$/.test(t)) fail(keyword, value, origin, 'an integer')
  const n = Number(t)
  if (!Number.isSafeInteger(n) || n < min) fail(keyword, value, origin, `an integer of at least ${min}`)
  return n
}

/** Connect timeout from libpq seconds: <= 0 waits forever, 1 counts as 2. */
/** A server that accepts and never answers must not hold connect() forever (libpq waits; pgx, pg.Pool don't). */
export const DEFAULT_CONNECT_TIMEOUT = 30_000

function timeoutFromSeconds(seconds: number): number {
  return seconds <= 0 ? 0 : Math.max(seconds, 2) * 1000
}

function str<F extends 'host' | 'hostaddr' | 'user' | 'password' | 'database' | 'passfile' | 'service' | 'applicationName' | 'fallbackApplicationName' | 'options' | 'clientEncoding' | 'sslCert' | 'sslKey' | 'sslPassword' | 'sslRootCert' | 'sslCrl' | 'sslCrlDir' | 'requirePeer' | 'krbSrvName' | 'gssLib'>(
  field: F,
): Setter {
  return (out, value) => {
    out[field] = value
  }
}

const SETTERS: Record<Keyword, Setter> = {
  host: str('host'),
  hostaddr: str('hostaddr'),
  port: (out, value, origin) => {
    // A single port becomes a number; lists (and '') stay text, checked when hosts are built.
    if (value.includes(',') || value.trim() === '') out.port = value
    else out.port = portNumber(value, origin)
  },
  dbname: str('database'),
  user: str('user'),
  password: str('password'),
  passfile: str('passfile'),
  require_auth: (out, value, origin) => {
    parseRequireAuth(value, origin)
    out.requireAuth = value
  },
  channel_binding: (out, value, origin) => {
    out.channelBinding = oneOf('channel_binding', CHANNEL_BINDINGS, value, origin)
  },
  connect_timeout: (out, value, origin) => {
    out.connectTimeout = timeoutFromSeconds(integer('connect_timeout', value, origin, -Infinity) ?? 0)
  },
  client_encoding: str('clientEncoding'),
  options: str('options'),
  application_name: str('applicationName'),
  fallback_application_name: str('fallbackApplicationName'),
  keepalives: (out, value, origin) => {
    out.keepAlive = (integer('keepalives', value, origin, -Infinity) ?? 1) !== 0
  },
  keepalives_idle: (out, value, origin) => {
    out.keepAliveInitialDelay = (integer('keepalives_idle', value, origin, 0) ?? 0) * 1000
  },
  keepalives_interval: (out, value, origin) => {
    out.keepAliveInterval = (integer('keepalives_interval', value, origin, 0) ?? 0) * 1000
  },
  keepalives_count: (out, value, origin) => {
    out.keepAliveCount = integer('keepalives_count', value, origin, 0) ?? 0
  },
  tcp_user_timeout: (out, value, origin) => {
    out.tcpUserTimeout = integer('tcp_user_timeout', value, origin, 0) ?? 0
  },
  replication: (out, value, origin) => {
    out.replication = replicationMode(value, origin)
  },
  gssencmode: (out, value, origin) => {
    out.gssEncMode = gssEncMode(value, origin)
  },
  sslmode: (out, value, origin) => {
    out.sslMode = oneOf('sslmode', SSL_MODES, value, origin)
  },
  sslnegotiation: (out, value, origin) => {
    out.sslNegotiation = oneOf('sslnegotiation', SSL_NEGOTIATIONS, value, origin)
  },
  sslcompression: (_out, value, origin) => {
    // Accepted and ignored, as by libpq since TLS compression went away.
    if (!['0', '1', ''].includes(value.trim())) fail('sslcompression', value, origin, '0 or 1')
  },
  sslcert: str('sslCert'),
  sslkey: str('sslKey'),
  sslpassword: str('sslPassword'),
  sslcertmode: (out, value, origin) => {
    out.sslCertMode = oneOf('sslcertmode', SSL_CERT_MODES, value, origin)
  },
  sslrootcert: str('sslRootCert'),
  sslcrl: str('sslCrl'),
  sslcrldir: str('sslCrlDir'),
  sslsni: (out, value, origin) => {
    const v = oneOf('sslsni', ['0', '1'], value.trim(), origin)
    out.sslSni = v === '1'
  },
  requirepeer: str('requirePeer'),
  ssl_min_protocol_version: (out, value, origin) => {
    if (value !== '') out.sslMinProtocolVersion = oneOf('ssl_min_protocol_version', TLS_VERSIONS, value, origin)
  },
  ssl_max_protocol_version: (out, value, origin) => {
    if (value !== '') out.sslMaxProtocolVersion = oneOf('ssl_max_protocol_version', TLS_VERSIONS, value, origin)
  },
  krbsrvname: str('krbSrvName'),
  gsslib: str('gssLib'),
  service: str('service'),
  target_session_attrs: (out, value, origin) => {
    out.targetSessionAttrs = oneOf('target_session_attrs', TARGET_SESSION_ATTRS, value, origin)
  },
  load_balance_hosts: (out, value, origin) => {
    out.loadBalanceHosts = oneOf('load_balance_hosts', LOAD_BALANCE_HOSTS, value, origin)
  },
  min_protocol_version: (out, value, origin) => {
    out.minProtocolVersion = oneOf('min_protocol_version', PROTOCOL_VERSIONS, value, origin)
  },
  max_protocol_version: (out, value, origin) => {
    out.protocolVersion = oneOf('max_protocol_version', PROTOCOL_VERSIONS, value, origin)
  },
}

/** The ConnectOptions field each keyword sets (sslcompression sets none). */
export const KEYWORD_FIELDS: Readonly<Record<Keyword, keyof ConnectOptions | undefined>> = {
  host: 'host',
  hostaddr: 'hostaddr',
  port: 'port',
  dbname: 'database',
  user: 'user',
  password: 'password',
  passfile: 'passfile',
  require_auth: 'requireAuth',
  channel_binding: 'channelBinding',
  connect_timeout: 'connectTimeout',
  client_encoding: 'clientEncoding',
  options: 'options',
  application_name: 'applicationName',
  fallback_application_name: 'fallbackApplicationName',
  keepalives: 'keepAlive',
  keepalives_idle: 'keepAliveInitialDelay',
  keepalives_interval: 'keepAliveInterval',
  keepalives_count: 'keepAliveCount',
  tcp_user_timeout: 'tcpUserTimeout',
  replication: 'replication',
  gssencmode: 'gssEncMode',
  sslmode: 'sslMode',
  sslnegotiation: 'sslNegotiation',
  sslcompression: undefined,
  sslcert: 'sslCert',
  sslkey: 'sslKey',
  sslpassword: 'sslPassword',
  sslcertmode: 'sslCertMode',
  sslrootcert: 'sslRootCert',
  sslcrl: 'sslCrl',
  sslcrldir: 'sslCrlDir',
  sslsni: 'sslSni',
  requirepeer: 'requirePeer',
  ssl_min_protocol_version: 'sslMinProtocolVersion',
  ssl_max_protocol_version: 'sslMaxProtocolVersion',
  krbsrvname: 'krbSrvName',
  gsslib: 'gssLib',
  service: 'service',
  target_session_attrs: 'targetSessionAttrs',
  load_balance_hosts: 'loadBalanceHosts',
  min_protocol_version: 'minProtocolVersion',
  max_protocol_version: 'protocolVersion',
}

function portNumber(value: string, origin: string): number {
  const t = value.trim()
  const n = /^\d+$/.test(t) ? Number(t) : NaN
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail('port', value, origin, 'an integer from 1 to 65535')
  return n
}

function gssEncMode(value: string, origin: string): GssEncMode {
  if (value === 'require') {
    throw new InterfaceError(`gssencmode "require" ${origin} is not supported: pgline has no GSSAPI encryption (use disable or prefer)`)
  }
  return oneOf('gssencmode', ['disable', 'prefer'] as const, value, origin)
}

function parseRequireAuth(value: string | readonly string[], origin: string): RequireAuth | undefined {
  const items = typeof value === 'string' ? (value === '' ? [] : value.split(',')) : [...value]
  if (items.length === 0) return undefined
  const negated = items[0]!.startsWith('!')
  const methods: AuthMethod[] = []
  for (const item of items) {
    if (item.startsWith('!') !== negated) {
      throw new InterfaceError(`invalid require_auth "${items.join(',')}" ${origin}: negated (!method) and plain methods cannot be mixed`)
    }
    const name = negated ? item.slice(1) : item
    if (!(AUTH_METHODS as readonly string[]).includes(name)) {
      throw new InterfaceError(`invalid require_auth ${origin}: unknown authentication method "${name}" (known: ${AUTH_METHODS.join(', ')})`)
    }
    const m = name as AuthMethod
    if (methods.includes(m)) throw new InterfaceError(`invalid require_auth "${items.join(',')}" ${origin}: "${item}" is listed twice`)
    methods.push(m)
  }
  return { negated, methods }
}

/** Converts libpq keyword values to ConnectOptions, validating each; `origin` says where they came from in errors. */
export function keywordsToOptions(values: Iterable<readonly [Keyword, string]>, origin = 'in the connection string'): ConnectOptions {
  const out: ConnectOptions = {}
  for (const [k, v] of values) SETTERS[k](out, v, origin)
  return out
}

/** Parses a key=value connection string or a postgres:// URI into options. */
export function parseConnectionString(s: string): ConnectOptions {
  return keywordsToOptions(parseConnectionKeywords(s), 'in the connection string')
}

/**
 * Parses a connection string: a postgres:// or postgresql:// URI or a
 * key=value string. (Kept under its old name; same as parseConnectionString.)
 */
export function parseUrl(url: string): ConnectOptions {
  return parseConnectionString(url)
}

// ---------------------------------------------------------------------------
// resolution

function definedOnly(o: ConnectOptions): ConnectOptions {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v
  return out as ConnectOptions
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s
}

const UTF8_NAMES = new Set(['UTF8', 'UNICODE', 'AUTO'])

/**
 * Resolves options or a connection string into the configuration a
 * connection uses (see the top of this file for the order of precedence).
 * `env` and `system` are parameters so that tests need not touch the machine.
 */
export function resolveConfig(
  input: string | ConnectOptions = {},
  env: NodeJS.ProcessEnv = process.env,
  system: Partial<ConfigSystem> = {},
): ResolvedConfig {
  const sys: ConfigSystem = { ...nodeSystem(), ...system }
  if (typeof input !== 'string') checkOptionKeys(input, 'connection')
  const explicit = typeof input === 'string' ? parseConnectionString(input) : input
  const o = definedOnly(explicit)
  const warnings: string[] = []

  // Layers 3 and 4: the service file, then the environment, for what is still unset.
  const serviceName = o.service ?? env.PGSERVICE
  const service = nonEmpty(serviceName) === undefined ? undefined : loadService(serviceName!, env, sys)
  const filled = o as Record<string, unknown>
  for (const k of KEYWORDS) {
    const field = KEYWORD_FIELDS[k]
    if (field !== undefined && filled[field] !== undefined) continue
    const fromService = service?.values.get(k)
    if (fromService !== undefined) {
      SETTERS[k](o, fromService.value, `in service file "${service!.file}", line ${fromService.line}`)
      continue
    }
    const envVar = ENV_VARS[k]
    const fromEnv = envVar === undefined ? undefined : env[envVar]
    if (fromEnv !== undefined) SETTERS[k](o, fromEnv, `in environment variable ${envVar}`)
  }

  // Typed options from JavaScript are checked here too.
  const from = 'in the options'
  const user = nonEmpty(o.user) ?? nonEmpty(sys.userName) ?? 'postgres'
  const database = nonEmpty(o.database) ?? user
  checkStartupText({
    user,
    database,
    password: o.password,
    application_name: o.applicationName,
    fallback_application_name: o.fallbackApplicationName,
    options: o.options,
    ...o.parameters,
  })
  const requireAuth = o.requireAuth === undefined ? undefined : parseRequireAuth(o.requireAuth, from)
  const minProtocolVersion = protocol(o.minProtocolVersion ?? '3.0', 'min_protocol_version')
  // As libpq 18: ask for 3.0 unless told otherwise, since poolers and proxies
  // that predate NegotiateProtocolVersion (PgBouncer < 1.22) refuse a 3.2
  // StartupMessage outright. A min_protocol_version above 3.0 raises it.
  const protocolVersion = protocol(o.protocolVersion ?? (minProtocolVersion > '3.0' ? 'latest' : '3.0'), 'max_protocol_version')
  if (minProtocolVersion > protocolVersion) {
    throw new InterfaceError(`min_protocol_version ${minProtocolVersion} is newer than max_protocol_version ${protocolVersion}`)
  }
  const encoding = nonEmpty(o.clientEncoding)
  if (encoding !== undefined && !UTF8_NAMES.has(encoding.toUpperCase().replace(/[-_]/g, ''))) {
    warnings.push(`client_encoding "${encoding}" ignored: pgline always uses UTF8`)
  }

  const hosts = buildHosts(o, sys)
  const passfile = passfilePath(o, env, sys)
  const option: unknown = o.password
  if (option !== undefined && option !== null && typeof option !== 'string' && typeof option !== 'function') {
    throw new InterfaceError(`password must be a string or a function that gives one, got ${typeof option}`)
  }
  const passwordFunction = typeof option === 'function' ? (option as PasswordFunction) : undefined
  const given = typeof option === 'string' ? nonEmpty(option) : undefined
  if (passwordFunction !== undefined) {
    // Called per connection when the server asks; the password file is not consulted.
    for (const h of hosts) h.passwordSource = 'function'
  } else if (given !== undefined) {
    const secret = new Secret(given)
    for (const h of hosts) {
      h.password = secret
      h.passwordSource = 'given'
    }
  } else if (passfile !== undefined) {
    const entries = readPgpass(passfile, sys, warnings)
    for (const h of hosts) {
      const found = lookupPgpass(entries, {
        host: pgpassHost(h, sys),
        port: String(h.port),
        database,
        user,
      })
      if (found !== undefined && found !== '') {
        h.password = new Secret(found)
        h.passwordSource = 'passfile'
      }
    }
  }

  const first = hosts[0]!
  return {
    host: first.hostaddr ?? first.host,
    port: first.port,
    hosts,
    user,
    password: first.password,
    passwordFunction,
    database,
    applicationName: nonEmpty(o.applicationName) ?? nonEmpty(o.fallbackApplicationName),
    options: nonEmpty(o.options),
    connectTimeout: Math.max(0, finite(o.connectTimeout, 'connectTimeout') ?? DEFAULT_CONNECT_TIMEOUT),
    keepAlive: o.keepAlive ?? true,
    keepAliveInitialDelay: Math.max(0, finite(o.keepAliveInitialDelay, 'keepAliveInitialDelay') ?? 0),
    keepAliveInterval: Math.max(0, finite(o.keepAliveInterval, 'keepAliveInterval') ?? 0),
    keepAliveCount: Math.max(0, finite(o.keepAliveCount, 'keepAliveCount') ?? 0),
    tcpUserTimeout: Math.max(0, finite(o.tcpUserTimeout, 'tcpUserTimeout') ?? 0),
    protocolVersion,
    minProtocolVersion,
    requireAuth,
    channelBinding: oneOf('channel_binding', CHANNEL_BINDINGS, o.channelBinding ?? 'prefer', from),
    gssEncMode: gssEncMode(o.gssEncMode ?? 'prefer', from),
    ssl: tlsConfig(o, env, sys),
    requirePeer: nonEmpty(o.requirePeer),
    targetSessionAttrs: oneOf('target_session_attrs', TARGET_SESSION_ATTRS, o.targetSessionAttrs ?? 'any', from),
    loadBalanceHosts: oneOf('load_balance_hosts', LOAD_BALANCE_HOSTS, o.loadBalanceHosts ?? 'disable', from),
    service: nonEmpty(o.service),
    passfile,
    warnings,
    parameters: withReplication(o.parameters, o.replication),
    maxMessageSize: o.maxMessageSize ?? 1024 * 1024 * 1024,
    types: o.types,
    onNotice: o.onNotice,
  }
}

/** libpq's spellings: 'database', or a boolean (true/on/yes/1 is physical replication). */
function replicationMode(value: string, origin: string): 'database' | boolean {
  const v = value.trim().toLowerCase()
  if (v === 'database') return 'database'
  if (['1', 'true', 'on', 'yes'].includes(v)) return true
  if (['0', 'false', 'off', 'no'].includes(v)) return false
  return fail('replication', value, origin, "'database', or a boolean (true/on/yes/1 for physical replication, false/off/no/0 for none)")
}

function withReplication(parameters: Record<string, string> | undefined, mode: unknown): Record<string, string> {
  const out = { ...(parameters ?? {}) }
  if (mode === undefined || mode === false) return out
  if (mode !== 'database' && mode !== true) {
    throw new InterfaceError(`replication must be 'database', true or false, got ${JSON.stringify(mode)}`)
  }
  out.replication = mode === true ? 'true' : 'database'
  return out
}

/**
 * Startup values go out as UTF-8: a string with a lone UTF-16 surrogate would
 * arrive changed (U+FFFD), so it is refused, naming the setting, never the value.
 */
const SURROGATE = 'a lone UTF-16 surrogate (half of a pair), which UTF-8 cannot carry unchanged'

function checkStartupText(values: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === 'string' && !(value as string & { isWellFormed(): boolean }).isWellFormed()) {
      throw new InterfaceError(`${name} contains ${SURROGATE}`)
    }
  }
  for (const name of Object.keys(values)) {
    if (!(name as string & { isWellFormed(): boolean }).isWellFormed()) throw new InterfaceError(`a parameter name contains ${SURROGATE}`)
  }
}

function finite(n: number | undefined, name: string): number | undefined {
  if (n === undefined) return undefined
  if (typeof n !== 'number' || Number.isNaN(n)) throw new InterfaceError(`invalid ${name} ${String(n)}: expected a number`)
  return n
}

function protocol(v: string, keyword: string): ProtocolVersion {
  const p = oneOf(keyword, PROTOCOL_VERSIONS, v, 'in the options')
  return p === 'latest' ? '3.2' : p
}

function splitList(s: string | undefined): string[] | undefined {
  return s === undefined || s === '' ? undefined : s.split(',')
}

function buildHosts(o: ConnectOptions, sys: ConfigSystem): HostTarget[] {
  const names = splitList(o.host)
  const addrs = splitList(o.hostaddr)
  if (names !== undefined && addrs !== undefined && names.length !== addrs.length) {
    throw new InterfaceError(`could not match ${names.length} host names to ${addrs.length} hostaddr values`)
  }
  const count = names?.length ?? addrs?.length ?? 1
  const ports = portList(o.port, count)
  const hosts: HostTarget[] = []
  for (let i = 0; i < count; i++) {
    const name = names?.[i] ?? ''
    const addr = addrs?.[i] ?? ''
    const port = ports[i]!
    let target: Pick<HostTarget, 'host' | 'hostaddr' | 'kind'>
    if (addr !== '') {
      if (isIP(addr) === 0) throw new InterfaceError(`invalid hostaddr "${addr}": expected a numeric IPv4 or IPv6 address`)
      target = { host: name !== '' ? name : addr, hostaddr: addr, kind: 'tcp' }
    } else if (name !== '') {
      target = { host: name, hostaddr: undefined, kind: isUnixSocketHost(name) ? 'unix' : 'tcp' }
    } else {
      target = defaultHost(port, sys)
    }
    hosts.push({ ...target, port, password: undefined, passwordSource: undefined })
  }
  return hosts
}

/**
 * load_balance_hosts=random: shuffles the host list in place (Fisher-Yates,
 * every order equally likely, as libpq). `random` returns [0, 1).
 */
export function shuffleHosts<T>(hosts: T[], random: () => number = Math.random): T[] {
  for (let i = hosts.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const t = hosts[i]!
    hosts[i] = hosts[j]!
    hosts[j] = t
  }
  return hosts
}

function portList(port: number | string | undefined, count: number): number[] {
  let list: (number | undefined)[]
  if (port === undefined) list = [undefined]
  else if (typeof port === 'number') {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InterfaceError(`invalid port ${String(port)}: expected an integer from 1 to 65535`)
    list = [port]
  } else {
    list = port.split(',').map((p) => (p.trim() === '' ? undefined : portNumber(p, 'in the port list')))
  }
  if (list.length !== 1 && list.length !== count) {
    throw new InterfaceError(`could not match ${list.length} port numbers to ${count} hosts (give one port for all, or one per host)`)
  }
  return Array.from({ length: count }, (_, i) => (list.length === 1 ? list[0] : list[i]) ?? 5432)
}

/** libpq's default: its socket directory; here the first known one holding this port's socket, else localhost. */
function defaultHost(port: number, sys: ConfigSystem): Pick<HostTarget, 'host' | 'hostaddr' | 'kind'> {
  for (const dir of sys.socketDirs) {
    if (sys.stat(path.posix.join(dir, `.s.PGSQL.${port}`)) !== undefined) return { host: dir, hostaddr: undefined, kind: 'unix' }
  }
  return { host: 'localhost', hostaddr: undefined, kind: 'tcp' }
}

/** The host name a password-file entry must match: the default socket directories count as 'localhost'. */
function pgpassHost(h: HostTarget, sys: ConfigSystem): string {
  if (h.kind === 'unix' && sys.socketDirs.includes(h.host.replace(/(.)\/+$/, '$1'))) return 'localhost'
  return h.host
}

function passfilePath(o: ConnectOptions, env: NodeJS.ProcessEnv, sys: ConfigSystem): string | undefined {
  const given = nonEmpty(o.passfile)
  if (given !== undefined) return given
  if (sys.platform === 'win32') return env.APPDATA ? path.win32.join(env.APPDATA, 'postgresql', 'pgpass.conf') : undefined
  return sys.homeDir === undefined ? undefined : path.posix.join(sys.homeDir, '.pgpass')
}

function readPgpass(file: string, sys: ConfigSystem, warnings: string[]): PgpassEntry[] {
  const info = sys.stat(file)
  if (info === undefined) return []
  if (!info.isFile) {
    warnings.push(`password file "${file}" is not a plain file; ignored`)
    return []
  }
  if (sys.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    warnings.push(
      `password file "${file}" has group or world access (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}); ignored: permissions should be u=rw (0600) or less`,
    )
    return []
  }
  const text = sys.readFile(file)
  return text === undefined ? [] : parsePgpass(text)
}

/** The given path, else the default file under ~/.postgresql (%APPDATA%\\postgresql) when one exists there. */
function certPath(o: string | undefined, file: string, env: NodeJS.ProcessEnv, sys: ConfigSystem): string | undefined {
  const given = nonEmpty(o)
  if (given !== undefined) return given
  let fallback: string | undefined
  if (sys.platform === 'win32') fallback = env.APPDATA ? path.win32.join(env.APPDATA, 'postgresql', file) : undefined
  else fallback = sys.homeDir === undefined ? undefined : path.posix.join(sys.homeDir, '.postgresql', file)
  return fallback !== undefined && sys.stat(fallback) !== undefined ? fallback : undefined
}

function tlsConfig(o: ConnectOptions, env: NodeJS.ProcessEnv, sys: ConfigSystem): TlsConfig {
  const from = 'in the options'
  const rootCert = certPath(o.sslRootCert, 'root.crt', env, sys)
  const system = rootCert === 'system'
  const mode = oneOf('sslmode', SSL_MODES, o.sslMode ?? (system ? 'verify-full' : 'prefer'), from)
  if (system && mode !== 'verify-full') {
    throw new InterfaceError(`sslmode "${mode}" is too weak for sslrootcert=system: use verify-full (the default with sslrootcert=system)`)
  }
  const negotiation = oneOf('sslnegotiation', SSL_NEGOTIATIONS, o.sslNegotiation ?? 'postgres', from)
  if (negotiation === 'direct' && (mode === 'disable' || mode === 'allow' || mode === 'prefer')) {
    throw new InterfaceError(`sslmode "${mode}" cannot be used with sslnegotiation=direct: use require, verify-ca or verify-full`)
  }
  const min = o.sslMinProtocolVersion === undefined ? 'TLSv1.2' : oneOf('ssl_min_protocol_version', TLS_VERSIONS, o.sslMinProtocolVersion, from)
  const max = o.sslMaxProtocolVersion === undefined ? undefined : oneOf('ssl_max_protocol_version', TLS_VERSIONS, o.sslMaxProtocolVersion, from)
  if (max !== undefined && TLS_VERSIONS.indexOf(min) > TLS_VERSIONS.indexOf(max)) {
    throw new InterfaceError(`invalid SSL protocol version range: ssl_min_protocol_version ${min} is above ssl_max_protocol_version ${max}`)
  }
  const password = nonEmpty(o.sslPassword)
  return {
    mode,
    negotiation,
    rootCert,
    cert: certPath(o.sslCert, 'postgresql.crt', env, sys),
    key: certPath(o.sslKey, 'postgresql.key', env, sys),
    password: password === undefined ? undefined : new Secret(password),
    certMode: oneOf('sslcertmode', SSL_CERT_MODES, o.sslCertMode ?? 'allow', from),
    crl: certPath(o.sslCrl, 'root.crl', env, sys),
    crlDir: nonEmpty(o.sslCrlDir),
    sni: o.sslSni ?? true,
    minProtocolVersion: min,
    maxProtocolVersion: max,
  }
}
