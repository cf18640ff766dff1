// The options every query takes, apart from the connection that runs it (so
// the handles that take them need not import the connection).

import type { TypeMap } from '../types/type-map.js'
import { InterfaceError } from '../errors/base.js'
import type { RowMode } from '../types/result.js'

export interface QueryOptions {
  /** 'object' (default) gives rows keyed by column name; 'array' gives value arrays. */
  rowMode?: RowMode
  /** Use (and cache) a named prepared statement; default: the connection's setting. */
  prepare?: boolean
  /** A type map for this query only (usually a child of conn.types). */
  types?: TypeMap
  /** Aborting cancels the query (on the server if it is running) and rejects it with QueryCanceled. */
  signal?: AbortSignal
  /** Milliseconds before the query is canceled as by `signal`; default: the connection's queryTimeout. */
  timeout?: number
  /**
   * 'auto' (default): binary for every column whose type has a binary
   * decoder, except where text is the cheaper to decode (numeric, uuid);
   * 'binary': binary wherever a binary decoder exists; 'text': all text.
   * The JS values are the same whichever is used, so this is a choice of
   * decoding cost (and of `fields[i].format`). Statements run unnamed
   * (prepare: false, stream()) have no description to choose formats
   * from: their results are always text.
   */
  resultFormat?: ResultFormat
}

export type ResultFormat = 'auto' | 'text' | 'binary'
const RESULT_FORMATS: readonly string[] = ['auto', 'text', 'binary']

export function checkResultFormat(format: unknown): ResultFormat {
  if (typeof format === 'string' && RESULT_FORMATS.includes(format)) return format as ResultFormat
  throw new InterfaceError(`resultFormat must be 'auto', 'text' or 'binary', got ${typeof format === 'string' ? JSON.stringify(format) : typeof format}`)
}
