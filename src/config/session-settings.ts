// The last step of configuration: from a resolved config and the few
// connection options that bear on TLS and startup, the finished settings a
// connection hands to the transport (TlsOptions) and to the session
// (StartupSettings). The connection only reads them; nothing here needs a
// socket. The transport and session types are imported as types only
// (erased): config/ loads nothing from session/ at run time, and from
// transport/ only what config.ts already loads.

import type { StartupSettings } from '../session/session.js'
import { isUnixSocketHost } from '../transport/socket.js'
import type { TlsOptions } from '../transport/tls.js'
import { AUTH_METHODS, type RequireAuth, type ResolvedConfig, type SslMode } from './config.js'

/** The connection options that finish TLS and startup (ConnectionOptions has them all). */
export interface SessionOptions {
  /** TLS: an sslmode ('prefer' by default, as libpq) or the full settings. Unix sockets never use TLS. */
  tls?: SslMode | TlsOptions
  /** Send a cleartext password over an unencrypted TCP connection (default: only over unix sockets or TLS). */
  allowCleartextPassword?: boolean
  /** The server's statement_timeout, set at startup (milliseconds). */
  statementTimeout?: number
}

export interface SessionSettings {
  tls: TlsOptions
  /** A new object on every call: the connection fills in channel binding and cleartext permission once TLS is up. */
  startup: StartupSettings
}

/**
 * The TLS and startup settings for one connection to `config.host`. A `tls`
 * option replaces the ssl* settings of the config (an sslmode string keeps
 * none of them but the mode it names; an object keeps only what it leaves
 * unset), except the TLS version range and the CRLs, which apply whichever
 * way TLS was asked for.
 */
export function sessionSettings(config: ResolvedConfig, options: SessionOptions = {}): SessionSettings {
  const parameters = { ...config.parameters }
  if (options.statementTimeout !== undefined) parameters.statement_timeout = String(options.statementTimeout)
  const ssl = config.ssl
  // TLS versions and CRLs apply whichever way TLS was asked for (a `tls` object's own fields win).
  const enforced: TlsOptions = { mode: ssl.mode, crl: ssl.crl, crlDir: ssl.crlDir, minVersion: ssl.minProtocolVersion, maxVersion: ssl.maxProtocolVersion }
  const tls: TlsOptions =
    typeof options.tls === 'string'
      ? { ...enforced, mode: options.tls }
      : options.tls !== undefined
        ? { ...enforced, ...options.tls }
        : {
            ...enforced,
            negotiation: ssl.negotiation,
            rootCert: ssl.rootCert,
            cert: ssl.cert,
            key: ssl.key,
            keyPassword: ssl.password?.reveal(),
            sni: ssl.sni,
            servername: config.hosts[0]?.host,
          }
  const startup: StartupSettings = {
    user: config.user,
    password: config.password,
    passwordLater: config.passwordFunction !== undefined,
    database: config.database,
    protocolVersion: config.protocolVersion,
    minProtocolVersion: config.minProtocolVersion,
    applicationName: config.applicationName,
    options: config.options,
    parameters,
    channelBindingMode: config.channelBinding,
    requireAuth: allowedAuthMethods(config.requireAuth),
    allowCleartext: options.allowCleartextPassword ?? isUnixSocketHost(config.host),
  }
  return { tls, startup }
}

/**
 * require_auth (already validated by resolveConfig) as the set of methods the
 * server may ask for; undefined allows every method. A negated list allows
 * the known methods (AUTH_METHODS, the list require_auth is checked
 * against) it does not name, in that list's order.
 */
export function allowedAuthMethods(requireAuth: RequireAuth | undefined): Set<string> | undefined {
  if (requireAuth === undefined) return undefined
  if (!requireAuth.negated) return new Set(requireAuth.methods)
  return new Set(AUTH_METHODS.filter((m) => !requireAuth.methods.includes(m)))
}
