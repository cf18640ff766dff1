// What COPY needs before it starts: the column types (for binary rows and
// typed COPY TO rows) and their encoders. Worked out before the COPY begins,
// since no other query can run on the connection during it.

import { ParameterError } from '../errors/base.js'

export interface CopyOptions {
  /**
   * Column types as OIDs or type names (e.g. ['int4', 'text']), for binary
   * writeRow and typed rows(). Without them the driver describes the table
   * or query named in the COPY statement.
   */
  columnTypes?: readonly (number | string)[]
  /**
   * Aborting ends the COPY (CopyFail for COPY FROM, a cancel for COPY TO):
   * it rejects with QueryCanceled whose `cause` is the abort reason.
   */
  signal?: AbortSignal
  /**
   * Milliseconds the whole COPY may take before it is aborted as by `signal`
   * (default: none; the connection's queryTimeout does not apply to COPY).
   */
  timeout?: number
}

export function isIterable(x: unknown): x is AsyncIterable<unknown> | Iterable<unknown> {
  return (
    typeof x === 'object' &&
    x !== null &&
    (Symbol.asyncIterator in (x as object) || Symbol.iterator in (x as object))
  )
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)`

/** A SELECT that describes the columns of a COPY: its table (and column list) or its query. */
export function copyTarget(sql: string): string | undefined {
  const query = /^\s*copy\s*\(([\s\S]*)\)\s*to\b/i.exec(sql)
  if (query) return query[1]
  const table = new RegExp(String.raw`^\s*copy\s+(${IDENT}(?:\s*\.\s*${IDENT})?)\s*(?:\(([^)]*)\))?\s+(?:from|to)\b`, 'i').exec(sql)
  if (!table) return undefined
  return `select ${table[2]?.trim() || '*'} from ${table[1]}`
}

/** One encoder per column; a column without one gets a clear error naming its type when used. */
export function binaryColumns(oids: readonly number[], encoders: readonly (((v: unknown, c: number) => Buffer) | undefined)[]): (value: unknown, column: number) => Buffer {
  return (value, column) => {
    const e = encoders[column]
    if (e === undefined) {
      throw new ParameterError(`column ${column + 1}: binary COPY cannot encode type oid ${oids[column]} from JS; use format text or csv`, {
        index: column,
        valueType: typeof value,
        typeOid: oids[column]!,
      })
    }
    return e(value, column)
  }
}
