// node-postgres's DatabaseError: the ErrorResponse fields as own enumerable
// properties, each undefined when the server did not send it (position and
// line as the strings they are on the wire), so code written against pg's
// errors (Prisma's adapter, Knex, TypeORM) reads them as it expects.

import { DatabaseError as PglineDatabaseError } from '../errors/base.js'

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

/** pg's error for one of pgline's: a DatabaseError with the same fields, pgline's as its cause; other errors pass through. */
export function toPgError(err: unknown): unknown {
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
