// The options a Connection takes beyond where to connect, and the shapes of
// describe() and prepare(), apart from the connection (the handles and the
// pool import them without it).

import type { ConnectOptions } from '../config/config.js'
import type { QueryOptions, ResultFormat } from '../session/query-options.js'
import type { SslMode, TlsOptions } from '../transport/tls.js'
import type { TypeOptions } from '../types/codec.js'
import type { ColumnsResult, Field, Result, Row } from '../types/result.js'

export interface ConnectionOptions extends ConnectOptions {
  /** Cache prepared statements by SQL text (default true, false with `pooler: 'transaction'`). */
  prepare?: boolean
  /** The format results are asked in; see QueryOptions.resultFormat. Default 'auto'. */
  resultFormat?: ResultFormat
  /**
   * 'transaction': the server is reached through a transaction-mode pooler
   * (PgBouncer pool_mode=transaction). Implies `prepare: false` unless given,
   * and listen() rejects, since notifications cannot reach a session the
   * pooler hands to other clients. See README, "Poolers".
   */
  pooler?: 'transaction'
  /** How many prepared statements to keep per connection (default 256). */
  statementCacheSize?: number
  /** Default per-query timeout in milliseconds (0: none). */
  queryTimeout?: number
  /**
   * Milliseconds to wait for the server's answer after a query was canceled
   * (its timeout, queryTimeout or signal): past that the server or the
   * network is taken for gone, the connection is closed and every request
   * on it rejects with ConnectionError. Default 5000; 0 or Infinity: wait
   * for the server however long it takes.
   */
  cancelGrace?: number
  /** The server's statement_timeout, set at startup (milliseconds). */
  statementTimeout?: number
  /** Queries written but not yet answered before further ones wait in the client (default 1000). */
  maxInFlight?: number
  /** TLS: an sslmode ('prefer' by default, as libpq) or the full settings. Unix sockets never use TLS. */
  tls?: SslMode | TlsOptions
  /** Send a cleartext password over an unencrypted TCP connection (default: only over unix sockets or TLS). */
  allowCleartextPassword?: boolean
  /** How some types map to JS on this connection (int8, numeric, date, timestamp, json); see README. */
  typeOptions?: TypeOptions
  /**
   * What to print (to stderr, or to `log`): true or 'notice' for every notice;
   * 'query' for each statement with its duration, row count and the session's
   * process id; 'protocol' for each message's type and length, both ways; a
   * list such as 'query,protocol'; 'all'. When not given, PGLINE_DEBUG in the
   * environment says the same ('1' is 'notice'). Parameter values, rows and
   * passwords are never printed: statements appear as written, with $n.
   */
  debug?: boolean | string
  /** Print each statement that took at least this many milliseconds (marked SLOW), whatever `debug` says. */
  slowQueryMs?: number
  /** Where the debug, slow-query and notice lines go (default: console.error, i.e. stderr). */
  log?: (line: string) => void
  /**
   * Notices printed when nobody listens for them (no onNotice, no
   * on('notice')): 'warning' (the default: WARNING, as libpq shows them),
   * 'all', or 'none'.
   */
  printNotices?: 'warning' | 'all' | 'none'
  /**
   * The most rows a query's result may have (default: no limit); a query's
   * own `maxRows` replaces it. Past it the query rejects with ResultTooLarge,
   * the rest of its rows are discarded as they arrive, and the connection
   * stays usable. See QueryOptions.maxRows and README, "Result-size guard".
   */
  maxRows?: number
  /** The most bytes of rows (DataRow messages as received) a query's result may take (default: no limit); see maxRows. */
  maxResultBytes?: number
}

export interface StatementDescription {
  /** Type OIDs of $1..$n as the server inferred them. */
  paramTypes: number[]
  /** Result columns; null for a statement that returns no rows. */
  fields: Field[] | null
}

export interface PreparedStatement extends StatementDescription {
  readonly name: string
  readonly sql: string
  execute<R extends unknown[] = unknown[]>(params: readonly unknown[] | undefined, options: QueryOptions & { rowMode: 'array' }): Promise<Result<R>>
  execute(params: readonly unknown[] | undefined, options: QueryOptions & { rowMode: 'columns' }): Promise<ColumnsResult>
  execute<R = Row>(params?: readonly unknown[], options?: QueryOptions): Promise<Result<R>>
  close(): Promise<void>
}

