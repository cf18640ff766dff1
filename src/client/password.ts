// A password given as a function (rotating credentials: AWS RDS IAM tokens,
// Azure Entra ID, Vault). The session asks for it only when the server asks
// for a password, so a trust login never calls it; it is called once per
// connection attempt to a host, with that host. Its result goes straight
// into a Secret: no error, inspect or JSON output ever shows it.

import type { PasswordFunction, PasswordTarget, ResolvedConfig } from '../config/config.js'
import { Secret } from '../config/secret.js'
import { isWellFormed } from '../types/param.js'
import { ClientAuthenticationError, type PglineError } from '../errors/base.js'
import type { Session } from '../session/session.js'

/** What a value is, for an error message that must not show the value itself. */
function kindOf(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value !== 'object') return typeof value
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === 'string' && name !== '' && name !== 'Object' ? `an object (${name})` : 'an object'
}

/** Calls the password function of `config` (one host's) for its host and gives the password, or the error that fails the connect. */
export async function callPasswordFunction(config: ResolvedConfig): Promise<Secret> {
  const fn = config.passwordFunction as PasswordFunction
  const h = config.hosts[0]!
  const target: PasswordTarget = { host: h.host, port: h.port, user: config.user, database: config.database }
  const where = `role "${config.user}" on ${h.host}:${h.port}`
  let value: unknown
  try {
    value = await fn(target)
  } catch (err) {
    const said = err instanceof Error ? err.message : kindOf(err)
    throw new ClientAuthenticationError(`the password function failed for ${where}: ${said}`, { cause: err })
  }
  if (typeof value !== 'string') {
    throw new ClientAuthenticationError(`the password function for ${where} returned ${kindOf(value)}, not a string`)
  }
  if (value === '') throw new ClientAuthenticationError(`the password function for ${where} returned an empty string`)
  if (value.includes('\0')) throw new ClientAuthenticationError(`the password function for ${where} returned a string with a NUL character, which no password message can carry`)
  if (!isWellFormed(value)) throw new ClientAuthenticationError(`the password function for ${where} returned a string with a lone surrogate, which is not valid UTF-8`)
  return new Secret(value)
}

/**
 * The session's passwordNeeded event: calls the function, then hands the
 * password to the session and sends its answer, or ends the session with
 * the error (which fails the connect). Nothing happens if the connection
 * ended meanwhile (its connect timeout, say).
 */
export function answerPasswordRequest(config: ResolvedConfig, session: Session, flush: () => void): void {
  callPasswordFunction(config).then(
    (password) => {
      session.supplyPassword(password)
      flush()
    },
    (err: PglineError) => session.die(err),
  )
}
