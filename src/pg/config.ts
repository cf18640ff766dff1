// node-postgres's client config as pgline connection options. As node-postgres,
// unset fields fall back to the PG* environment (pgline's own resolution
// reads them), a password may be a function (called at each connect), and
// TLS is off unless `ssl` or the connection string asks for it.

import type { ConnectionOptions } from '../client/connection-options.js'
import { parseUrl } from '../config/config.js'
import type { TlsOptions } from '../transport/tls.js'
import { defaults } from './defaults.js'
import type { TypeSource } from './types.js'

export interface SslConfig {
  rejectUnauthorized?: boolean
  ca?: string | Buffer | (string | Buffer)[]
  cert?: string | Buffer
  key?: string | Buffer
  servername?: string
}

export interface ClientConfig {
  user?: string
  password?: string | (() => string | Promise<string>)
  host?: string
  port?: number | string
  database?: string
  connectionString?: string
  ssl?: boolean | SslConfig
  application_name?: string
  fallback_application_name?: string
  options?: string
  statement_timeout?: number | string | false
  lock_timeout?: number | string | false
  idle_in_transaction_session_timeout?: number | string | false
  query_timeout?: number
  connectionTimeoutMillis?: number
  keepAlive?: boolean
  keepAliveInitialDelayMillis?: number
  client_encoding?: string
  types?: TypeSource
  /**
   * pgline's own option: statements with parameters are prepared once per
   * client and reused (default true), where node-postgres prepares only
   * named ones. false runs each unnamed, as node-postgres does (a pooler in
   * transaction mode without prepared-statement support needs that).
   */
  prepare?: boolean
  /** 'extended': statements without values go through the extended protocol too (one statement only). */
  queryMode?: 'extended'
  /** A Promise implementation for the promises this client and its pool return (bluebird...). */
  Promise?: PromiseConstructorLike & { resolve<T>(v: T | PromiseLike<T>): PromiseLike<T> }
}

/** node-postgres's order for a connection setting: the config (or its URL), then PG*, then pg.defaults. */
export function resolved(c: ClientConfig): { user: string | undefined; database: string | undefined; host: string | undefined; port: number } {
  const url = c.connectionString !== undefined ? parseUrl(c.connectionString) : {}
  const env = process.env
  const user = c.user ?? url.user ?? env.PGUSER ?? defaults.user
  const database = c.database ?? url.database ?? env.PGDATABASE ?? defaults.database ?? user
  const host = c.host ?? url.host ?? env.PGHOST ?? defaults.host
  const port = Number(c.port ?? url.port ?? env.PGPORT ?? defaults.port)
  return { user, database, host, port }
}

const pem = (v: string | Buffer | (string | Buffer)[] | undefined): string | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v.map(String).join('\n') : String(v)

function tlsFor(ssl: ClientConfig['ssl']): TlsOptions | undefined {
  if (ssl === undefined || ssl === false) return undefined
  if (ssl === true) return { mode: 'verify-full' }
  return {
    mode: ssl.rejectUnauthorized === false ? 'require' : ssl.ca !== undefined ? 'verify-full' : 'verify-full',
    rootCert: pem(ssl.ca),
    cert: pem(ssl.cert),
    key: pem(ssl.key),
    servername: ssl.servername,
  }
}

export async function toConnectionOptions(c: ClientConfig): Promise<ConnectionOptions> {
  const fromUrl: ConnectionOptions = c.connectionString !== undefined ? parseUrl(c.connectionString) : {}
  const o: ConnectionOptions = { ...fromUrl }
  const r = resolved(c)
  if (r.host !== undefined) o.host = r.host
  o.port = r.port
  if (r.user !== undefined) o.user = r.user
  if (r.database !== undefined) o.database = r.database
  const password = typeof c.password === 'function' ? await c.password() : (c.password ?? fromUrl.password ?? process.env.PGPASSWORD ?? defaults.password ?? undefined)
  if (password !== undefined && password !== null && typeof password !== 'string') throw new TypeError('Password must be a string')
  if (password !== undefined && password !== null) o.password = password
  if (c.application_name !== undefined) o.applicationName = c.application_name
  if (c.fallback_application_name !== undefined) o.fallbackApplicationName = c.fallback_application_name
  if (c.options !== undefined) o.options = c.options
  if (c.client_encoding !== undefined) o.clientEncoding = c.client_encoding
  const parameters: Record<string, string> = { ...(o.parameters ?? {}) }
  for (const key of ['statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout'] as const) {
    const v = c[key]
    // As node-postgres: whole milliseconds, the fraction dropped.
    if (typeof v === 'number' || (typeof v === 'string' && v !== '')) parameters[key] = String(parseInt(String(v), 10))
  }
  if (Object.keys(parameters).length > 0) o.parameters = parameters
  if (c.query_timeout !== undefined && c.query_timeout > 0) o.queryTimeout = c.query_timeout
  // node-postgres waits forever unless connectionTimeoutMillis is set.
  o.connectTimeout = c.connectionTimeoutMillis ?? 0
  if (c.keepAlive !== undefined) o.keepAlive = c.keepAlive
  if (c.keepAliveInitialDelayMillis !== undefined) o.keepAliveInitialDelay = c.keepAliveInitialDelayMillis
  // node-postgres answers a cleartext password request (over TLS or not); libpq does too.
  o.allowCleartextPassword = true
  const tls = tlsFor(c.ssl)
  if (tls !== undefined) o.tls = tls
  // Without ssl, sslmode in the URL or PGSSLMODE, node-postgres does not try TLS.
  else if (fromUrl.sslMode === undefined && o.tls === undefined && (process.env.PGSSLMODE ?? 'disable') === 'disable') o.tls = 'disable'
  return o
}
