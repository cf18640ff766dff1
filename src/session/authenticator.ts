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
}

export class Authenticator {
  done = false
  private scramState: scram.ScramState | undefined

  constructor(
    private readonly settings: AuthSettings,
    private readonly writer: Writer,
  ) {}

  private password(method: string): string {
    const pw = this.settings.password
    if (pw === undefined) {
      throw new ClientAuthenticationError(
        `the server asked for ${method} authentication of role "${this.settings.user}" but no password was given`,
      )
    }
    return pw.reveal()
  }

  handle(msg: AuthenticationMessage): void {
    switch (msg.type) {
      case 'AuthenticationOk':
        if (this.scramState && this.scramState.serverSignature === undefined) {
          // The server skipped the SCRAM exchange it started: refuse, it proved nothing.
          throw new ClientAuthenticationError(`SCRAM authentication of role "${this.settings.user}" ended before the server proved itself`)
        }
        this.done = true
        return
      case 'AuthenticationCleartextPassword':
        fe.password(this.writer, this.password('password'))
        return
      case 'AuthenticationMD5Password':
        fe.password(this.writer, md5Response(this.settings.user, this.password('md5'), msg.salt))
        return
      case 'AuthenticationSASL': {
        const offersPlain = msg.mechanisms.includes('SCRAM-SHA-256')
        const offersPlus = msg.mechanisms.includes('SCRAM-SHA-256-PLUS')
        if (!offersPlain && !offersPlus) {
          throw new ClientAuthenticationError(
            `the server offered SASL mechanisms ${msg.mechanisms.join(', ')} for role "${this.settings.user}"; only SCRAM-SHA-256 is supported`,
          )
        }
        this.password('SCRAM-SHA-256') // fail early when there is none
        const { state, clientFirst } = scram.start(this.settings.channelBinding, offersPlus)
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
