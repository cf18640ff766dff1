// node-postgres's DatabaseError: the ErrorResponse fields as own enumerable
// properties, each undefined when the server did not send it (position and
// line as the strings they are on the wire), so code written against pg's
// errors (Prisma's adapter, Knex, TypeORM) reads them as it expects.

import { ConnectionError, DatabaseError as PglineDatabaseError, TimeoutError } from '../errors/base.js'
import type { NoticeFields } from '../protocol/messages.js'

export class DatabaseError extends Error {
  length: number | undefined = undefined
  severity: string | undefined = undefined
  code: string | undefined = undefined
  detail: string | undefined = undefined
  hint: string | undefined = undefined
  position: string | undefined = undefined
  internalPosition: string | undefined = undefined
  internalQuery: string | undefined = undefined
  where: string | undefined = undefined
  schema: string | undefined = undefined
  table: string | undefined = undefined
  column: string | undefined = undefined
  dataType: string | undefined = undefined
  constraint: string | undefined = undefined
  file: string | undefined = undefined
  line: string | undefined = undefined
  routine: string | undefined = undefined

  constructor(message: string, length?: number, name?: string) {
    super(message)
    this.length = length
    if (name !== undefined) this.name = name
  }
}

const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v))

/** The message node-postgres gives queries and the client when the connection ends under them. */
export const TERMINATED = 'Connection terminated'
const UNEXPECTED = 'Connection terminated unexpectedly'

/** A Node system error (ECONNREFUSED, ENOTFOUND...) in a cause chain. */
function systemError(err: unknown): (Error & { code: string }) | undefined {
  for (let e = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && typeof (e as { syscall?: unknown }).syscall === 'string') return e as Error & { code: string }
  }
  return undefined
}

const withCause = (e: Error, cause: unknown): Error => {
  Object.defineProperty(e, 'cause', { value: cause, enumerable: false, writable: true, configurable: true })
  return e
}

/**
 * pg's error for one of pgline's, as node-postgres would give it:
 * - a server error: a DatabaseError with the same fields, pgline's as its cause;
 * - a connection the server ended under a running statement: the server's
 *   own error (57P01 ...); one lost otherwise: 'Connection terminated
 *   unexpectedly'; one the client ended: 'Connection terminated';
 * - a connect that failed at the socket: the socket's error (ECONNREFUSED ...);
 * - query_timeout: 'Query read timeout'.
 * Other errors pass through.
 */
export function toPgError(err: unknown, connecting = false): unknown {
  if (err instanceof ConnectionError) {
    if (connecting) return systemError(err) ?? err
    if (err.message === TERMINATED) return err
    let cause: unknown = err.cause
    while (cause instanceof ConnectionError) cause = cause.cause
    if (cause instanceof PglineDatabaseError && !err.retrySafe) return toPgError(cause)
    return withCause(new Error(UNEXPECTED), err)
  }
  if (err instanceof PglineDatabaseError && err.code === '57014' && err.cause instanceof TimeoutError) return withCause(new Error('Query read timeout'), err)
  if (!(err instanceof PglineDatabaseError)) return err
  const e = new DatabaseError(err.message, undefined, 'error')
  e.severity = err.severity
  e.code = err.code
  e.detail = err.detail
  e.hint = err.hint
  e.position = str(err.position)
  e.internalPosition = str(err.internalPosition)
  e.internalQuery = err.internalQuery
  e.where = err.where
  e.schema = err.schema
  e.table = err.table
  e.column = err.column
  e.dataType = err.dataType
  e.constraint = err.constraint
  e.file = err.file
  e.line = str(err.line)
  e.routine = err.routine
  Object.defineProperty(e, 'cause', { value: err, enumerable: false, writable: true, configurable: true })
  if (err.stack !== undefined) e.stack = `${e.name}: ${e.message}\n${err.stack.split('\n').slice(1).join('\n')}`
  return e
}

/** A notice as node-postgres emits it: its fields, named 'notice'. */
export function toPgNotice(n: NoticeFields): Record<string, unknown> {
  return {
    name: 'notice',
    length: undefined,
    severity: n.severity,
    code: n.code,
    message: n.message,
    detail: n.detail,
    hint: n.hint,
    position: str(n.position),
    internalPosition: str(n.internalPosition),
    internalQuery: n.internalQuery,
    where: n.where,
    schema: n.schema,
    table: n.table,
    column: n.column,
    dataType: n.dataType,
    constraint: n.constraint,
    file: n.file,
    line: str(n.line),
    routine: n.routine,
  }
}
