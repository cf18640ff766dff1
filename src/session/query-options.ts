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
  /**
   * The most rows the result may have; past it the query rejects with
   * ResultTooLarge and the rest of the result is discarded as it arrives.
   * Default: the connection's maxRows; 0 or Infinity: no limit (lifting
   * the connection's for this query). simpleQuery() counts the rows of all
   * its results together. stream() does not apply it.
   */
  maxRows?: number
  /**
   * The most bytes of rows the result may take, counted as the DataRow
   * messages arrive (their wire size, not the decoded values); past it, as
   * for maxRows. Default: the connection's; 0 or Infinity: no limit.
   */
  maxResultBytes?: number
}

/** The limits a query's result is held to (Infinity: none of that kind); undefined when there are none. */
export interface ResultLimits {
  readonly maxRows: number
  readonly maxBytes: number
}

function limitValue(name: string, value: unknown): number {
  if (value === 0 || value === Infinity) return Infinity
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InterfaceError(`${name} must be a positive integer (0 or Infinity: no limit), got ${typeof value === 'number' ? String(value) : typeof value}`)
  }
  return value
}

/**
 * The limits of `o` (a query's options or the connection's), each falling
 * back to the one in `base` (the connection's) when not given; undefined
 * when neither kind is limited, which spares the row path any counting.
 */
export function resultLimits(o: { maxRows?: unknown; maxResultBytes?: unknown }, base?: ResultLimits): ResultLimits | undefined {
  const maxRows = o.maxRows === undefined ? (base?.maxRows ?? Infinity) : limitValue('maxRows', o.maxRows)
  const maxBytes = o.maxResultBytes === undefined ? (base?.maxBytes ?? Infinity) : limitValue('maxResultBytes', o.maxResultBytes)
  return maxRows === Infinity && maxBytes === Infinity ? undefined : { maxRows, maxBytes }
}

export type ResultFormat = 'auto' | 'text' | 'binary'
const RESULT_FORMATS: readonly string[] = ['auto', 'text', 'binary']

export function checkResultFormat(format: unknown): ResultFormat {
  if (typeof format === 'string' && RESULT_FORMATS.includes(format)) return format as ResultFormat
  throw new InterfaceError(`resultFormat must be 'auto', 'text' or 'binary', got ${typeof format === 'string' ? JSON.stringify(format) : typeof format}`)
}
