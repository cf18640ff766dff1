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
  /** Print notices to stderr (also with PGLINE_DEBUG=1 in the environment); otherwise they only reach listeners. */
  debug?: boolean
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

