// The error hierarchy every part of the driver throws from. Hand-written; the
// per-SQLSTATE subclasses of DatabaseError are generated into ./sqlstate.ts.
import type { NoticeFields } from '../protocol/messages.js'
import { markPosition } from './position.js'

/** Base of every error pgline throws, so `catch (e) { if (e instanceof PglineError) }` sorts ours from the rest. */
export class PglineError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    // Non-enumerable like Error.prototype.name, so util.inspect and JSON output stay clean.
    // new.target gives the most derived class, so subclasses need not repeat this.
    Object.defineProperty(this, 'name', { value: new.target.name, writable: true, configurable: true })
  }

  /**
   * ParameterError is a TypeError (what JS code expects of a value of the
   * wrong type) and still one of ours: `instanceof PglineError` and
   * `instanceof InterfaceError` recognise it by a brand, since a class has
   * one prototype chain.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true
    return (this === PglineError || this === InterfaceError) && typeof value === 'object' && value !== null && PARAMETER_ERROR in value
  }
}

const PARAMETER_ERROR = Symbol('pgline.ParameterError')

/** The ErrorResponse fields copied onto DatabaseError, minus `message` (Error's own). */
const FIELD_KEYS = [
  'severity',
  'severityNonLocalized',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const satisfies readonly Exclude<keyof NoticeFields, 'message'>[]

/**
 * An ErrorResponse from the server. Generated subclasses (UniqueViolation,
 * SerializationFailure...) let callers catch by SQLSTATE with `instanceof`;
 * build one with createDatabaseError() to get the most specific class.
 */
export class DatabaseError extends PglineError {
  // `declare`: absent fields stay absent instead of showing up as `undefined` in logs.
  declare readonly severity: string
  declare readonly severityNonLocalized?: string
  /** The five-character SQLSTATE. */
  declare readonly code: string
  declare readonly detail?: string
  declare readonly hint?: string
  /** 1-based character offset into `query` where the error was detected. */
  declare readonly position?: number
  declare readonly internalPosition?: number
  declare readonly internalQuery?: string
  declare readonly where?: string
  declare readonly schema?: string
  declare readonly table?: string
  declare readonly column?: string
  declare readonly dataType?: string
  declare readonly constraint?: string
  declare readonly file?: string
  declare readonly line?: number
  declare readonly routine?: string
  /** The SQL that failed, when the client knows it. */
  declare readonly query?: string

  constructor(fields: NoticeFields, query?: string) {
    super(fields.message)
    const self = this as unknown as Record<string, unknown>
    for (const key of FIELD_KEYS) {
      if (fields[key] !== undefined) self[key] = fields[key]
    }
    // Non-enumerable: SQL text can carry literals (even `PASSWORD '...'`), so keep it
    // out of util.inspect/JSON dumps of the error; it is still readable as `err.query`.
    if (query !== undefined) Object.defineProperty(this, 'query', { value: query, configurable: true })
  }

  /**
   * The error as psql prints it: severity and message, then the line of
   * `query` with a caret under `position` (or of `internalQuery` under
   * `internalPosition`), then DETAIL, HINT, QUERY and CONTEXT lines. Unlike
   * `message`, this holds SQL text (which may hold secrets): mind where it
   * is logged.
   */
  format(): string {
    let head = `${this.severity ?? 'ERROR'}:  ${this.message}`
    const [text, position] = this.position !== undefined ? [this.query, this.position] : [this.internalQuery, this.internalPosition]
    const marked = text !== undefined && position !== undefined ? markPosition(text, position) : undefined
    // Without the text to point into, say the offset as psql does.
    if (marked === undefined && position !== undefined) head += ` at character ${position}`
    const lines = [head]
    if (marked !== undefined) lines.push(marked)
    if (this.detail !== undefined) lines.push(`DETAIL:  ${this.detail}`)
    if (this.hint !== undefined) lines.push(`HINT:  ${this.hint}`)
    if (this.internalQuery !== undefined) lines.push(`QUERY:  ${this.internalQuery}`)
    if (this.where !== undefined) lines.push(`CONTEXT:  ${this.where}`)
    return lines.join('\n')
  }
}

/**
 * The connection failed or was lost. `retrySafe` is true only when the request
 * surely never reached the server (connect refused, DNS failure, connect
 * timeout), so running it again cannot apply it twice.
 */
export class ConnectionError extends PglineError {
  readonly retrySafe: boolean

  constructor(message: string, options: { retrySafe: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.retrySafe = options.retrySafe
  }
}

/** The server sent bytes that break the protocol: malformed or oversized message, unknown type. */
export class ProtocolError extends PglineError {
  /** The backend message type byte (as a printable string), when known. */
  declare readonly messageType?: string

  constructor(message: string, messageType?: string, options?: ErrorOptions) {
    super(message, options)
    if (messageType !== undefined) this.messageType = messageType
  }
}

/** The caller misused the API; detected before anything was sent. */
export class InterfaceError extends PglineError {}

/**
 * A query parameter value cannot be sent (unsupported type, unencodable
 * value): a TypeError, and `instanceof` PglineError and InterfaceError too.
 */
export class ParameterError extends TypeError {
  /** 0-based index into the parameter array; the SQL placeholder is `$<index + 1>`. */
  readonly index: number
  /** What the value was, e.g. 'symbol', 'function', 'object WeakMap'. */
  readonly valueType: string
  declare readonly typeOid?: number
  /** COPY FROM rows: the 1-based row of writeRow() calls, with `index` the 0-based column. */
  declare readonly row?: number

  /** `message` should name the placeholder (`$<index + 1>`), or the COPY row and column, never the value itself. */
  constructor(
    message: string,
    options: { index: number; valueType: string; typeOid?: number; row?: number; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    Object.defineProperty(this, 'name', { value: new.target.name, writable: true, configurable: true })
    this.index = options.index
    this.valueType = options.valueType
    if (options.typeOid !== undefined) this.typeOid = options.typeOid
    if (options.row !== undefined) this.row = options.row
  }
}

/**
 * Authentication failed on the client side: the server asked for an
 * unsupported method, a password is needed but none was given, or the SCRAM
 * server signature did not verify. The message names the role and method,
 * never the password. Failures the server reports are DatabaseErrors (class 28).
 */
Object.defineProperty(ParameterError.prototype, PARAMETER_ERROR, { value: true })

export class ClientAuthenticationError extends PglineError {}

/** An operation (such as connecting) did not finish in the time allowed. */
export class TimeoutError extends PglineError {}

/**
 * A pipelined statement that never ran: an earlier statement in the same
 * Sync group failed, so the server skipped everything up to the next Sync.
 * `cause` is the error that aborted the group.
 */
export class PipelineAborted extends PglineError {}

/**
 * A query's result went past `maxRows` or `maxResultBytes` (its own or the
 * connection's). The server ran the statement to the end; the client threw
 * the rows away as they came (nothing past the limit is decoded or kept),
 * so the connection and any open transaction stay usable. `kind` says which
 * limit, `limit` its value. For results that large, stream() or a server
 * cursor reads the rows without holding them all.
 */
export class ResultTooLarge extends PglineError {
  readonly kind: 'rows' | 'bytes'
  readonly limit: number

  constructor(kind: 'rows' | 'bytes', limit: number) {
    super(
      kind === 'rows'
        ? `the result has more than ${limit} row${limit === 1 ? '' : 's'} (maxRows: ${limit}); its remaining rows were discarded. ` +
            'Read large results with stream() or a server cursor, which do not hold every row in memory, or raise maxRows'
        : `the result is larger than ${limit} bytes (maxResultBytes: ${limit}, counted as DataRow bytes received); its remaining rows were discarded. ` +
            'Read large results with stream() or a server cursor, which do not hold every row in memory, or raise maxResultBytes',
    )
    this.kind = kind
    this.limit = limit
  }
}
