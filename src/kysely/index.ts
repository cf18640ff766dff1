// pgline/kysely: Kysely on pgline's own API. Kysely's Postgres query
// compiler, adapter and introspector are used as they are; the driver runs
// their SQL on a pgline pool lease, so values come back through pgline's
// binary codecs and errors are pgline's typed ones (UniqueViolation, ...).
// `stream()` reads a portal batch by batch through pgline's stream().
//
//   import { Kysely } from 'kysely'
//   import { Pool } from 'pgline'
//   import { PglineDialect } from 'pgline/kysely'
//   const db = new Kysely<DB>({ dialect: new PglineDialect({ pool: new Pool(url) }) })

import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely'
import { quoteIdentifier } from '../client/quote.js'
import { InterfaceError } from '../errors/base.js'
import type { Pool, PoolLease } from '../pool/pool.js'
import type { QueryOptions } from '../session/query-options.js'

export interface PglineDialectConfig {
  /** A pgline Pool, or a function giving one (called once, when Kysely first needs it). */
  pool: Pool | (() => Pool | Promise<Pool>)
  /** Options for every query (types, timeouts, rowMode is always 'object'). */
  queryOptions?: Omit<QueryOptions, 'rowMode'>
  /** Called with each connection Kysely takes from the pool, before its first query. */
  onReserveConnection?: (connection: DatabaseConnection) => Promise<void>
  /** Whether destroying the Kysely instance closes the pool (default true, as Kysely's own dialect ends its pg pool). */
  closePool?: boolean
}

export class PglineDialect implements Dialect {
  constructor(private readonly config: PglineDialectConfig) {}

  createDriver(): Driver {
    return new PglineDriver(this.config)
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler()
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter()
  }

  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db)
  }
}

const ABORTED = Symbol.for('kysely.AbortedTransactionError')

const WRITES = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE'])

class PglineConnection implements DatabaseConnection {
  constructor(
    readonly lease: PoolLease,
    private readonly options: Omit<QueryOptions, 'rowMode'> | undefined,
  ) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    // A script without parameters (`sql.raw(file).execute(db)` in a migration)
    // may hold several statements, which only the simple protocol runs, as
    // Kysely on node-postgres does; its result is the last statement's.
    const r =
      compiled.parameters.length === 0 && compiled.sql.includes(';')
        ? (await this.lease.simpleQuery<R>(compiled.sql, this.options)).at(-1)
        : await this.lease.query<R>(compiled.sql, compiled.parameters, this.options)
    if (r === undefined) return { rows: [] }
    return {
      rows: r.rows,
      numAffectedRows: WRITES.has(r.command) && r.rowCount !== null ? BigInt(r.rowCount) : undefined,
    }
  }

  async *streamQuery<R>(compiled: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    const size = chunkSize ?? 100
    if (!Number.isInteger(size) || size <= 0) throw new InterfaceError(`stream(): chunkSize must be a positive integer, got ${String(chunkSize)}`)
    let rows: R[] = []
    // Leaving the loop early (break, an error) returns the iterator, which closes the portal.
    for await (const row of this.lease.connection.stream<R>(compiled.sql, compiled.parameters, { ...this.options, batchSize: size })) {
      rows.push(row)
      if (rows.length === size) {
        yield { rows }
        rows = []
      }
    }
    if (rows.length > 0) yield { rows }
  }

  /** Transaction control: one Query message, nothing to prepare. */
  async control(sql: string): Promise<string> {
    const [r] = await this.lease.simpleQuery(sql)
    return r?.command ?? ''
  }
}

class PglineDriver implements Driver {
  private pool: Pool | undefined

  constructor(private readonly config: PglineDialectConfig) {}

  async init(): Promise<void> {
    const p = this.config.pool
    this.pool = typeof p === 'function' ? await p() : p
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.pool === undefined) throw new InterfaceError('pgline/kysely: the Kysely instance was destroyed')
    const lease = await this.pool.acquire()
    const conn = new PglineConnection(lease, this.config.queryOptions)
    if (this.config.onReserveConnection !== undefined) {
      try {
        await this.config.onReserveConnection(conn)
      } catch (err) {
        await lease.release()
        throw err
      }
    }
    return conn
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let sql = 'begin'
    if (settings.isolationLevel !== undefined) sql += ` isolation level ${settings.isolationLevel}`
    if (settings.accessMode !== undefined) sql += ` ${settings.accessMode}`
    await (connection as PglineConnection).control(sql)
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    // A COMMIT of a transaction an earlier error aborted completes as ROLLBACK.
    const tag = await (connection as PglineConnection).control('commit')
    if (tag === 'ROLLBACK') {
      const err = new InterfaceError('the transaction was rolled back: an earlier statement in it failed, so COMMIT rolled it back')
      // Kysely's mark for its AbortedTransactionError: it then ends the transaction and releases the connection.
      Object.defineProperty(err, ABORTED, { value: true })
      throw err
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PglineConnection).control('rollback')
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await (connection as PglineConnection).control(`savepoint ${quoteIdentifier(name)}`)
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await (connection as PglineConnection).control(`rollback to savepoint ${quoteIdentifier(name)}`)
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await (connection as PglineConnection).control(`release savepoint ${quoteIdentifier(name)}`)
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    // The pool rolls back a transaction left open, or discards the connection if it cannot.
    await (connection as PglineConnection).lease.release()
  }

  async destroy(): Promise<void> {
    const pool = this.pool
    this.pool = undefined
    if (pool !== undefined && this.config.closePool !== false) await pool.close()
  }
}

