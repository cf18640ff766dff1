// The one typed configuration a connection is opened with, from an object or
// a postgres:// URL, with libpq's defaults and PG* environment fallbacks for
// the basic fields. The full libpq surface (key=value strings, pgpass,
// service files, TLS, multiple hosts) builds on this.

import { userInfo } from 'node:os'
import { InterfaceError } from '../errors/base.js'
import type { Notice } from './notice.js'
import { Secret } from './secret.js'
import type { TypeMap } from '../types/type-map.js'

export interface ConnectOptions {
  /** A host name, an IP address, or an absolute directory holding the unix socket. */
  host?: string
  port?: number
  user?: string
  password?: string
  database?: string
  applicationName?: string
  /** Command-line options sent to the server at startup, e.g. `-c search_path=app`. */
  options?: string
  /** Milliseconds for TCP connect, TLS and authentication together; 0 waits forever. */
  connectTimeout?: number
  keepAlive?: boolean
  keepAliveInitialDelay?: number
  /** The newest protocol version to ask for; the server may downgrade. */
  protocolVersion?: '3.0' | '3.2'
  /** Extra startup parameters (run-time settings such as `search_path`). */
  parameters?: Record<string, string>
  /** Larger server messages are treated as a protocol violation. */
  maxMessageSize?: number
  /** Type map for this connection (a child of the global one by default). */
  types?: TypeMap
  onNotice?: (notice: Notice) => void
}

export interface ResolvedConfig {
  host: string
  port: number
  user: string
  password: Secret | undefined
  database: string
  applicationName: string | undefined
  options: string | undefined
  connectTimeout: number
  keepAlive: boolean
  keepAliveInitialDelay: number
  protocolVersion: '3.0' | '3.2'
  parameters: Record<string, string>
  maxMessageSize: number
  types: TypeMap | undefined
  onNotice: ((notice: Notice) => void) | undefined
}

const URL_PARAMS: Record<string, keyof ConnectOptions> = {
  application_name: 'applicationName',
  options: 'options',
  connect_timeout: 'connectTimeout',
  keepalives: 'keepAlive',
  keepalives_idle: 'keepAliveInitialDelay',
  host: 'host',
  port: 'port',
  user: 'user',
  password: 'password',
  dbname: 'database',
  max_protocol_version: 'protocolVersion',
}

/** Parses a postgres:// or postgresql:// URL. */
export function parseUrl(url: string): ConnectOptions {
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw new InterfaceError('connection string must start with postgres:// or postgresql://')
  }
  let u: URL
  try {
    // WHATWG URL rejects some hosts libpq accepts (e.g. empty); parse as http.
    u = new URL(url.replace(/^postgres(ql)?:/i, 'http:'))
  } catch {
    throw new InterfaceError('connection string is not a valid URL')
  }
  const out: ConnectOptions = {}
  if (u.hostname) out.host = decodeURIComponent(u.hostname.replace(/^\[|\]$/g, ''))
  if (u.port) out.port = Number(u.port)
  if (u.username) out.user = decodeURIComponent(u.username)
  if (u.password) out.password = decodeURIComponent(u.password)
  const db = u.pathname.slice(1)
  if (db) out.database = decodeURIComponent(db)
  for (const [key, value] of u.searchParams) {
    const name = URL_PARAMS[key]
    if (name === undefined) {
      throw new InterfaceError(
        `unknown connection parameter "${key}" (known: ${Object.keys(URL_PARAMS).join(', ')})`,
      )
    }
    setOption(out, name, value)
  }
  return out
}

function setOption(out: ConnectOptions, name: keyof ConnectOptions, value: string): void {
  switch (name) {
    case 'port': {
      const n = Number(value)
      if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InterfaceError(`invalid port "${value}"`)
      out.port = n
      return
    }
    case 'connectTimeout': {
      const n = Number(value)
      if (!Number.isFinite(n) || n < 0) throw new InterfaceError(`invalid connect_timeout "${value}"`)
      // libpq's connect_timeout is in seconds.
      out.connectTimeout = n * 1000
      return
    }
    case 'keepAlive':
      out.keepAlive = value !== '0'
      return
    case 'keepAliveInitialDelay':
      out.keepAliveInitialDelay = Number(value) * 1000
      return
    case 'protocolVersion':
      if (value !== '3.0' && value !== '3.2') throw new InterfaceError(`invalid max_protocol_version "${value}"`)
      out.protocolVersion = value
      return
    case 'host':
    case 'user':
    case 'password':
    case 'database':
    case 'applicationName':
    case 'options':
      out[name] = value
      return
    default:
      throw new InterfaceError(`connection parameter ${name} cannot be set from a string`)
  }
}

function defaultUser(): string {
  try {
    return userInfo().username
  } catch {
    return 'postgres'
  }
}

export function resolveConfig(input: string | ConnectOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const o = typeof input === 'string' ? parseUrl(input) : input
  const user = o.user ?? env.PGUSER ?? defaultUser()
  const password = o.password ?? env.PGPASSWORD
  const envPort = env.PGPORT === undefined ? undefined : Number(env.PGPORT)
  const port = o.port ?? envPort ?? 5432
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InterfaceError(`invalid port ${String(port)}`)
  const envTimeout = env.PGCONNECT_TIMEOUT === undefined ? undefined : Number(env.PGCONNECT_TIMEOUT) * 1000
  return {
    host: o.host ?? env.PGHOST ?? 'localhost',
    port,
    user,
    password: password === undefined ? undefined : new Secret(password),
    database: o.database ?? env.PGDATABASE ?? user,
    applicationName: o.applicationName ?? env.PGAPPNAME,
    options: o.options ?? env.PGOPTIONS,
    connectTimeout: o.connectTimeout ?? envTimeout ?? 0,
    keepAlive: o.keepAlive ?? true,
    keepAliveInitialDelay: o.keepAliveInitialDelay ?? 0,
    protocolVersion: o.protocolVersion ?? '3.2',
    parameters: { ...(o.parameters ?? {}) },
    maxMessageSize: o.maxMessageSize ?? 1024 * 1024 * 1024,
    types: o.types,
    onNotice: o.onNotice,
  }
}
