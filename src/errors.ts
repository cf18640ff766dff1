// Public entry point for errors: the hand-written hierarchy, the generated
// per-SQLSTATE classes, and the factory that picks between them.
import type { NoticeFields } from './protocol/messages.js'
import { DatabaseError } from './errors/base.js'
import { errorClassByClass, errorClassByCode } from './errors/sqlstate.js'

export * from './errors/base.js'
export * from './errors/sqlstate.js'

/**
 * Builds the most specific DatabaseError subclass for an ErrorResponse: the
 * class of the exact SQLSTATE, else of its two-character class (a code newer
 * than our list still lands in the right family), else DatabaseError itself.
 */
export function createDatabaseError(fields: NoticeFields, query?: string): DatabaseError {
  const code = fields.code ?? ''
  const Class = errorClassByCode.get(code) ?? errorClassByClass.get(code.slice(0, 2)) ?? DatabaseError
  return new Class(fields, query)
}
