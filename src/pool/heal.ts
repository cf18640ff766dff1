// Which failed connects are worth waiting for. Retrying with backoff while
// callers wait is right for a server that is down, restarting or full; for
// one that answered "no" (wrong password, no such database, TLS refused) it
// only turns a clear answer into a PoolTimeout 30 s later.

import {
  ClientAuthenticationError,
  ConnectionError,
  DatabaseError,
  InterfaceError,
  ProtocolError,
  TimeoutError,
} from '../errors/base.js'

/** SQLSTATE classes that go away by themselves, from the server at startup or from a `configure` callback. */
const HEALING_CLASSES = new Set([
  '08', // connection exception (PgBouncer's "server login has been failing, try again later" too)
  '40', // serialization failure, deadlock
  '53', // too many connections, out of memory, disk full
  '57', // starting up or shutting down (57P03 cannot_connect_now), terminated, canceled
  '58', // system I/O error
])
const HEALING_CODES = new Set(['55P03']) // lock_not_available

// Certificate and TLS library codes (Node's and OpenSSL's): a configuration
// mismatch, not a passing fault.
const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_|HOSTNAME|^ERR_TLS_|^ERR_SSL_|^ERR_OSSL_/
// The two refusals connection.ts reports without a cause to look at.
const TLS_REFUSED = /does not accept TLS|did not agree to ALPN/

/** True when a failed connect (or `configure`) may work if simply tried again later. */
export function canHeal(err: Error): boolean {
  if (err instanceof DatabaseError) return HEALING_CLASSES.has(err.code.slice(0, 2)) || HEALING_CODES.has(err.code)
  // Bad settings, a refused password or auth method.
  if (err instanceof ClientAuthenticationError || err instanceof InterfaceError) return false
  // A garbled startup may be one corrupted byte as well as a port that is not
  // PostgreSQL: retried, and a PoolTimeout names it if it persists.
  if (err instanceof ProtocolError) return true
  if (err instanceof ConnectionError) return !TLS_REFUSED.test(err.message) && !TLS_CODE.test(codeOf(err.cause))
  if (err instanceof TimeoutError) return true
  // Not the driver's: a system error (ECONNRESET...) heals; a TLS library
  // error or a `configure` callback's own error is not retried.
  const code = codeOf(err)
  return /^E[A-Z0-9_]+$/.test(code) && !code.startsWith('ERR_')
}

function codeOf(err: unknown): string {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined
  return typeof code === 'string' ? code : ''
}
