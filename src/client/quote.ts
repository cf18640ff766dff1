// Identifiers in SQL text the driver writes itself (LISTEN channels, DEALLOCATE).

import { InterfaceError } from '../errors/base.js'

/** Quotes an identifier for SQL text ("a""b"); NUL cannot appear in one. */
export function quoteIdentifier(name: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0')) {
    throw new InterfaceError(`invalid identifier ${JSON.stringify(name)}`)
  }
  return '"' + name.replace(/"/g, '""') + '"'
}
