// Answers the server's authentication requests during startup. The server
// picks the method (pg_hba.conf); we answer cleartext, md5 and SCRAM, and
// refuse what we cannot do with an error naming the role and the method.

import { ClientAuthenticationError } from '../errors/base.js'
import { md5Response } from '../auth/md5.js'
import * as scram from '../auth/scram.js'
import type { AuthenticationMessage } from '../protocol/messages.js'
import * as fe from '../protocol/frontend.js'
import type { Writer } from '../protocol/writer.js'
import type { Secret } from '../config/secret.js'

export interface AuthSettings {
  user: string
  password: Secret | undefined
  /** Channel binding data when the connection is TLS (set by the transport). */
  channelBinding?: scram.ChannelBinding | undefined
  /** 'require' refuses to authenticate without SCRAM-SHA-256-PLUS; 'disable' never binds. */
  channelBindingMode?: 'disable' | 'prefer' | 'require'
  /** Methods the server may ask for (libpq's require_auth); undefined allows all. */
  requireAuth?: Set<string> | undefined
  /** Whether a cleartext password may be sent (not over plain TCP unless allowed). */
  allowCleartext?: boolean
  /**
   * A function gives the password (`password` is undefined): when the
   * server asks for one, the request waits (awaitingPassword) until supply().
   */
  passwordLater?: boolean
}

/** Thrown by password() when the password function must be asked first; caught in handle(). */
const ASK_FUNCTION: unique symbol = Symbol('pgline.askPasswordFunction')

export class Authenticator {
  done = false
  /** The method the server asked for ('none' for trust), once it asked: for tracing. */
  method: string | undefined
  private scramState: scram.ScramState | undefined

  constructor(
    private readonly settings: AuthSettings,
    private readonly writer: Writer,
  ) {}

  private password(method: string): string {
    const pw = this.supplied ?? this.settings.password
    if (pw === undefined) {
      // Nothing is written before a password is read, so the request can be answered again once it is here.
      if (this.settings.passwordLater === true) throw ASK_FUNCTION
      throw new ClientAuthenticationError(
        `the server asked for ${method} authentication of role "${this.settings.user}" but no password was given`,
      )
    }
    return pw.reveal()
  }

  private allow(method: string): void {
    this.method = method
    const allowed = this.settings.requireAuth
    if (allowed !== undefined && !allowed.has(method)) {
      throw new ClientAuthenticationError(
        `the server asked for ${method} authentication of role "${this.settings.user}", which requireAuth does not allow (allowed: ${[...allowed].join(', ') || 'none'})`,
      )
    }
    if (this.settings.channelBindingMode === 'require' && method !== 'scram-sha-256') {
      throw new ClientAuthenticationError(`channel binding is required but the server asked for ${method} authentication of role "${this.settings.user}"`)
    }
  }

  /** The password function's password, once supply() gave it. */
  private supplied: Secret | undefined
  /** The server's request that waits for the password function. */
  private waiting: AuthenticationMessage | undefined

  /** The server asked for a password the function must give: call it, then supply(). */
  get awaitingPassword(): boolean {
    return this.waiting !== undefined
  }

  handle(msg: AuthenticationMessage): void {
    try {
      this.answer(msg)
    } catch (err) {
      if (err !== ASK_FUNCTION) throw err
      this.waiting = msg
    }
  }

  /** The password function's answer: answers the request that waited for it. */
  supply(password: Secret): void {
    const msg = this.waiting
    if (msg === undefined) return
    this.waiting = undefined
    this.supplied = password
    this.answer(msg)
  }

  private answer(msg: AuthenticationMessage): void {
    switch (msg.type) {
      case 'AuthenticationOk':
        // Trust only when no method was asked for first: AuthenticationOk after
        // an md5 or cleartext exchange is that method succeeding, not 'none'.
        if (this.method === undefined) this.allow('none')
        if (this.settings.channelBindingMode === 'require' && this.scramState?.mechanism !== 'SCRAM-SHA-256-PLUS') {
          throw new ClientAuthenticationError(`channel binding is required but authentication of role "${this.settings.user}" ended without it`)
        }
        if (this.scramState && this.scramState.serverSignature === undefined) {
          // The server skipped the SCRAM exchange it started: refuse, it proved nothing.
          throw new ClientAuthenticationError(`SCRAM authentication of role "${this.settings.user}" ended before the server proved itself`)
        }
        this.done = true
        return
      case 'AuthenticationCleartextPassword':
        this.allow('password')
        if (this.settings.allowCleartext === false) {
          throw new ClientAuthenticationError(
            `the server asked for the password of role "${this.settings.user}" in clear text over an unencrypted connection; refused (use TLS, or allowCleartextPassword: true)`,
          )
        }
        fe.password(this.writer, this.password('password'))
        return
      case 'AuthenticationMD5Password':
        this.allow('md5')
        fe.password(this.writer, md5Response(this.settings.user, this.password('md5'), msg.salt))
        return
      case 'AuthenticationSASL': {
        this.allow('scram-sha-256')
        const offersPlain = msg.mechanisms.includes('SCRAM-SHA-256')
        const offersPlus = msg.mechanisms.includes('SCRAM-SHA-256-PLUS')
        if (!offersPlain && !offersPlus) {
          throw new ClientAuthenticationError(
            `the server offered SASL mechanisms ${msg.mechanisms.join(', ')} for role "${this.settings.user}"; only SCRAM-SHA-256 is supported`,
          )
        }
        this.password('SCRAM-SHA-256') // fail early when there is none
        const binding = this.settings.channelBindingMode === 'disable' ? undefined : this.settings.channelBinding
        if (this.settings.channelBindingMode === 'require' && (binding === undefined || !offersPlus)) {
          throw new ClientAuthenticationError(
            `channel binding is required but ${binding === undefined ? 'the connection is not TLS' : 'the server does not offer SCRAM-SHA-256-PLUS'} (role "${this.settings.user}")`,
          )
        }
        const { state, clientFirst } = scram.start(binding, offersPlus)
        this.scramState = state
        fe.saslInitialResponse(this.writer, state.mechanism, clientFirst)
        return
      }
      case 'AuthenticationSASLContinue': {
        const state = this.requireScram()
        fe.saslResponse(this.writer, scram.respond(state, this.password('SCRAM-SHA-256'), msg.data))
        return
      }
      case 'AuthenticationSASLFinal':
        scram.verify(this.requireScram(), msg.data)
        return
      case 'AuthenticationKerberosV5':
      case 'AuthenticationGSS':
        this.allow('gss')
        throw new ClientAuthenticationError(
          `the server asked for ${msg.type.slice('Authentication'.length)} authentication of role "${this.settings.user}", which pgline does not support`,
        )
      case 'AuthenticationGSSContinue':
      case 'AuthenticationSSPI':
        throw new ClientAuthenticationError(
          `the server asked for ${msg.type.slice('Authentication'.length)} authentication of role "${this.settings.user}", which pgline does not support`,
        )
      default: {
        const never: never = msg
        throw new ClientAuthenticationError(`unknown authentication request ${(never as { type: string }).type}`)
      }
    }
  }

  private requireScram(): scram.ScramState {
    if (this.scramState === undefined) throw new ClientAuthenticationError('SASL continuation without a SASL start')
    return this.scramState
  }
}
