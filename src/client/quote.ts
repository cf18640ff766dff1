// Identifiers in SQL text the driver writes itself (LISTEN channels, DEALLOCATE).

import { InterfaceError } from '../errors/base.js'

/** Quotes an identifier for SQL text ("a""b"); NUL cannot appear in one. */
export function quoteIdentifier(name: string): string {
  if (typeof name !== 'string') throw new InterfaceError(`an identifier must be a string, got ${name === null ? 'null' : typeof name}`)
  if (name.length === 0) throw new InterfaceError('an identifier cannot be empty')
  if (name.includes('\0')) throw new InterfaceError(`invalid identifier ${JSON.stringify(name)}: an identifier cannot contain a NUL character (\\0)`)
  return '"' + (name.includes('"') ? name.replaceAll('"', '""') : name) + '"'
}
