// The protocol state machine, free of I/O: feed it backend messages with
// handle(), it appends any replies to the Writer and routes every message to
// the request it belongs to. Requests are answered strictly in order, one
// ReadyForQuery closing each, so a FIFO is the whole routing table.

import { ConnectionError, ProtocolError, type DatabaseError, type PglineError } from '../errors/base.js'
import { createDatabaseError } from '../errors.js'
import type { AuthenticationMessage, BackendMessage, NoticeFields, TransactionStatus } from '../protocol/messages.js'
import * as fe from '../protocol/frontend.js'
import type { Writer } from '../protocol/writer.js'
import { Authenticator, type AuthSettings } from './authenticator.js'
import type { Secret } from '../config/secret.js'

/** A unit of work that ends with one ReadyForQuery. */
export interface Request {
  /** Every message of this request's cycle except the asynchronous ones and ReadyForQuery. */
  handle(msg: BackendMessage): void
  /** ReadyForQuery arrived: the cycle is over. */
  complete(status: TransactionStatus): void
  /** The connection failed before ReadyForQuery. */
  fail(err: Error): void
}

export interface Notification {
  processId: number
  channel: string
  payload: string
}

export interface SessionEvents {
  notice(fields: NoticeFields): void
  notification(n: Notification): void
  parameterStatus(name: string, value: string): void
  /** Startup finished: the server is ready for queries. */
  ready(): void
  /** The session cannot go on (startup refused, protocol violation, fatal error). */
  fatal(err: PglineError): void
  /** A request's ReadyForQuery was handled: the engine may write what waits. */
  completed(req: Request): void
  /**
   * The server asked for a password that a function gives (passwordLater):
   * call it, then supplyPassword() (or die() with its error). Until then
   * the session sends nothing and the server waits.
   */
  passwordNeeded?(): void
}

export type Phase = 'startup' | 'ready' | 'closed'

export interface StartupSettings extends AuthSettings {
  database: string
  protocolVersion: '3.0' | '3.2'
  /**
   * The oldest protocol version the server may downgrade to with
   * NegotiateProtocolVersion (libpq's min_protocol_version; default 3.0).
   */
  minProtocolVersion?: '3.0' | '3.2'
  applicationName: string | undefined
  options: string | undefined
  parameters: Record<string, string>
}

export class Session {
  phase: Phase = 'startup'
  transactionStatus: TransactionStatus = 'I'
  readonly parameters = new Map<string, string>()
  processId = 0
  secretKey: Buffer | undefined
  /** The minor protocol version in use (0 or 2) once startup is over. */
  protocolMinor = 0
  private readonly queue: Request[] = []
  private head = 0
  private readonly auth: Authenticator
  /** The oldest minor version min_protocol_version accepts. */
  private readonly minMinor: number
  /**
   * A FATAL the server sent to a running request before closing the
   * connection (terminate_backend, shutdown): the reason the connection ended.
   */
  farewell: DatabaseError | undefined
  /** Some startup message (other than notices and parameters) has arrived. */
  private answered = false

  constructor(
    private readonly writer: Writer,
    private readonly settings: StartupSettings,
    private readonly events: SessionEvents,
  ) {
    this.auth = new Authenticator(settings, writer)
    this.protocolMinor = settings.protocolVersion === '3.2' ? 2 : 0
    this.minMinor = settings.minProtocolVersion === '3.2' ? 2 : 0
  }

  /** The authentication method the server asked for ('none' for trust), once startup got that far. */
  get authMethod(): string | undefined {
    return this.auth.method
  }

  /** Appends the StartupMessage. */
  start(): void {
    const s = this.settings
    const params: Record<string, string> = {
      user: s.user,
      database: s.database,
      client_encoding: 'UTF8',
      DateStyle: 'ISO, MDY',
      ...s.parameters,
    }
    if (s.applicationName !== undefined) params.application_name = s.applicationName
    if (s.options !== undefined) params.options = s.options
    fe.startup(this.writer, s.protocolVersion === '3.2' ? fe.PROTOCOL_3_2 : fe.PROTOCOL_3_0, params)
  }

  /** The request whose messages are arriving now (the oldest unanswered one). */
  get current(): Request | undefined {
    return this.queue[this.head]
  }

  get pending(): number {
    return this.queue.length - this.head
  }

  /** Whether requests were sent after `req` (the server may be running one of them by now). */
  hasAfter(req: Request): boolean {
    const i = this.queue.indexOf(req, this.head)
    return i !== -1 && i < this.queue.length - 1
  }

  /** Whether `req` was enqueued and has not been answered yet. */
  has(req: Request): boolean {
    return this.queue.indexOf(req, this.head) !== -1
  }

  enqueue(req: Request): void {
    this.queue.push(req)
  }

  handle(msg: BackendMessage): void {
    // Asynchronous messages may arrive at any point, between or inside cycles.
    switch (msg.type) {
      case 'NoticeResponse':
        this.events.notice(msg.fields)
        return
      case 'NotificationResponse':
        this.events.notification({ processId: msg.processId, channel: msg.channel, payload: msg.payload })
        return
      case 'ParameterStatus':
        this.parameters.set(msg.name, msg.value)
        this.events.parameterStatus(msg.name, msg.value)
        return
    }
    if (this.phase === 'startup') return this.handleStartup(msg)
    if (this.phase === 'closed') return

    const req = this.queue[this.head]
    if (req === undefined) {
      if (msg.type === 'ErrorResponse') {
        // A FATAL with nothing pending: the server is closing the connection
        // (terminate_backend, idle timeout, shutdown).
        return this.die(createDatabaseError(msg.fields))
      }
      return this.die(new ProtocolError(`unexpected ${msg.type} with no request pending`, msg.type))
    }
    if (msg.type === 'ErrorResponse') {
      const severity = msg.fields.severityNonLocalized ?? msg.fields.severity
      if (severity === 'FATAL' || severity === 'PANIC') this.farewell = createDatabaseError(msg.fields)
    }
    if (msg.type === 'ReadyForQuery') {
      this.transactionStatus = msg.status
      this.queue[this.head] = undefined as unknown as Request
      this.head++
      if (this.head === this.queue.length) {
        this.queue.length = 0
        this.head = 0
      } else if (this.head > 1024) {
        this.queue.splice(0, this.head)
        this.head = 0
      }
      req.complete(msg.status)
      this.events.completed(req)
      return
    }
    req.handle(msg)
  }

  private handleStartup(msg: BackendMessage): void {
    const answered = this.answered
    this.answered = true
    switch (msg.type) {
      case 'BackendKeyData':
        this.processId = msg.processId
        this.secretKey = msg.secretKey
        return
      case 'NegotiateProtocolVersion':
        // The server speaks an older minor version (or did not know some of
        // our _pq_ options); continue with what it offers, unless that is
        // older than min_protocol_version allows.
        if (msg.newestMinor > this.protocolMinor) {
          return this.die(new ProtocolError(`server offered protocol 3.${msg.newestMinor}, newer than requested`, 'v'))
        }
        if (msg.newestMinor < this.minMinor) {
          return this.die(
            new ConnectionError(
              `the server only supports protocol version 3.${msg.newestMinor}, but min_protocol_version is 3.${this.minMinor}`,
              { retrySafe: true },
            ),
          )
        }
        this.protocolMinor = msg.newestMinor
        return
      case 'ErrorResponse': {
        const err = createDatabaseError(msg.fields)
        // A pooler or proxy that predates NegotiateProtocolVersion (PgBouncer
        // before 1.22: "bad packet header") refuses a 3.2 StartupMessage outright.
        if (!answered && this.settings.protocolVersion === '3.2' && err.code === '08P01') {
          return this.die(
            new ConnectionError(
              `the server refused the protocol 3.2 startup (${err.message}); a pooler or proxy without protocol negotiation, such as PgBouncer before 1.22, only accepts 3.0: connect with max_protocol_version=3.0 (the default)`,
              { retrySafe: true, cause: err },
            ),
          )
        }
        return this.die(err)
      }
      case 'ReadyForQuery':
        if (!this.auth.done) return this.die(new ProtocolError('ReadyForQuery before authentication completed', 'Z'))
        this.transactionStatus = msg.status
        this.phase = 'ready'
        this.events.ready()
        return
      default:
        if (msg.type.startsWith('Authentication')) {
          try {
            this.auth.handle(msg as AuthenticationMessage)
          } catch (err) {
            this.die(err as PglineError)
          }
          if (this.auth.awaitingPassword && this.phase === 'startup') this.events.passwordNeeded?.()
          return
        }
        return this.die(new ProtocolError(`unexpected ${msg.type} during startup`, msg.type))
    }
  }

  /** The password function's password, after passwordNeeded: answers the server's request (the caller sends what is written). */
  supplyPassword(password: Secret): void {
    if (this.phase !== 'startup') return
    try {
      this.auth.supply(password)
    } catch (err) {
      this.die(err as PglineError)
    }
  }

  /** Ends the session: every pending request fails with `err` (wrapped when it is not connection-level). */
  die(err: PglineError): void {
    if (this.phase === 'closed') return
    this.phase = 'closed'
    this.events.fatal(err)
    this.failAll(err)
  }

  /** Fails every pending request, e.g. when the socket closed. */
  failAll(cause: Error): void {
    const pending = this.queue.slice(this.head)
    this.queue.length = 0
    this.head = 0
    for (const req of pending) {
      req.fail(
        cause instanceof ConnectionError
          ? cause
          : new ConnectionError(`connection lost: ${cause.message}`, { retrySafe: false, cause }),
      )
    }
  }
}
