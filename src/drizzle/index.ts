// pgline/drizzle: drizzle-orm's pg-core on pgline's own API. Drizzle builds
// the SQL and maps rows to its column types; this session runs the SQL on a
// pgline Pool, Connection or transaction, rows as arrays through pgline's
// binary codecs. Drizzle's column types parse the server's text of dates,
// times, timestamps and intervals themselves (mode 'date' or 'string'), so
// those few types come back as that text; everything else is pgline's value
// (int8 as bigint, which Drizzle's bigint modes accept as they accept text).
//
//   import { drizzle } from 'pgline/drizzle'
//   const db = drizzle(new Pool(url), { schema })

import * as orm from 'drizzle-orm'
import { DefaultLogger, NoopLogger, createTableRelationsHelpers, entityKind, extractTablesRelationalConfig, fillPlaceholders, sql, type Logger } from 'drizzle-orm'
import { readMigrationFiles, type MigrationConfig } from 'drizzle-orm/migrator'
import { PgDatabase, PgDialect, PgPreparedQuery, PgSession, PgTransaction, type PgQueryResultHKT, type PgTransactionConfig, type PreparedQueryConfig } from 'drizzle-orm/pg-core'
import type { Connection } from '../client/connection.js'
import type { Transaction } from '../client/transaction.js'
import { Pool } from '../pool/pool.js'
import { defaultTypeMap, TypeMap } from '../types/type-map.js'
import type { Result } from '../types/result.js'

/** What runs the SQL: a pool (each statement on any connection), a connection, or a transaction handle. */
export type DrizzleClient = Pool | Connection

type Runner = Pool | Connection | Transaction

export interface PglineDrizzleConfig<TSchema extends Record<string, unknown> = Record<string, never>> {
  schema?: TSchema
  logger?: boolean | Logger
  casing?: 'snake_case' | 'camelCase'
}

// The types whose text Drizzle's columns parse themselves: date, time, timetz,
// timestamp, timestamptz, interval, numeric[] and their arrays, and point
// and line (Drizzle's tuple and object modes read their text).
const AS_TEXT = [1082, 1083, 1266, 1114, 1184, 1186, 1182, 1183, 1270, 1115, 1185, 1187, 1231, 600, 628, 1017]
// Drizzle's own row mapper (exported at runtime, left out of its typings).
const mapResultRow = (orm as unknown as { mapResultRow: (fields: unknown, row: unknown[], joins: unknown) => unknown }).mapResultRow

const asText = (buf: Buffer, start: number, end: number): string => buf.toString('utf8', start, end)

function drizzleTypes(base: TypeMap): TypeMap {
  const map = new TypeMap(base)
  for (const oid of AS_TEXT) map.registerDecoder(oid, 0, asText)
  return map
}

interface QueryHKT extends PgQueryResultHKT {
  type: Result<Record<string, unknown>>
}

class PglinePreparedQuery<T extends PreparedQueryConfig> extends PgPreparedQuery<T> {
  static override readonly [entityKind]: string = 'PglinePreparedQuery'

  constructor(
    private readonly client: Runner,
    private readonly types: TypeMap,
    private readonly queryString: string,
    private readonly params: unknown[],
    private readonly logger: Logger,
    private readonly fields: any,
    private readonly arrayMode: boolean,
    private readonly customResultMapper: ((rows: unknown[][]) => unknown) | undefined,
    queryMetadata: any,
    cacheConfig: any,
  ) {
    super({ sql: queryString, params }, undefined, queryMetadata, cacheConfig)
  }

  private run(rowMode: 'array' | 'object', params: unknown[]): Promise<Result<any>> {
    return (this as any).queryWithCache(this.queryString, params, () => {
      // Several statements without parameters (a raw script, a migration
      // without breakpoints) run through the simple protocol, as on node-postgres.
      if (params.length === 0 && this.queryString.includes(';')) return this.script(rowMode)
      return this.client.query(this.queryString, params, { rowMode, types: this.types } as never)
    })
  }

  private async script(rowMode: 'array' | 'object'): Promise<Result<any>> {
    const run = (c: Connection | Transaction): Promise<Result<any>[]> => c.simpleQuery(this.queryString, { rowMode, types: this.types } as never) as Promise<Result<any>[]>
    const client = this.client
    const results = client instanceof Pool ? await client.connection(run) : await run(client as Connection)
    // The last statement's result, as node-postgres's last one for a script.
    return results.at(-1) ?? ({ rows: [], rowCount: null, command: '', fields: [] } as unknown as Result<any>)
  }

  async execute(placeholderValues: Record<string, unknown> = {}): Promise<T['execute']> {
    const params = fillPlaceholders(this.params, placeholderValues)
    this.logger.logQuery(this.queryString, params)
    if (this.fields === undefined && this.customResultMapper === undefined) return this.run('object', params)
    const { rows } = await this.run('array', params)
    if (this.customResultMapper !== undefined) return this.customResultMapper(rows as unknown[][])
    const joins = (this as any).joinsNotNullableMap
    return (rows as unknown[][]).map((row) => mapResultRow(this.fields, row, joins))
  }

  async all(placeholderValues: Record<string, unknown> = {}): Promise<T['all']> {
    const params = fillPlaceholders(this.params, placeholderValues)
    this.logger.logQuery(this.queryString, params)
    return (await this.run('object', params)).rows
  }

  /** @internal */
  isResponseInArrayMode(): boolean {
    return this.arrayMode
  }
}

interface SessionOptions {
  logger: Logger
}

class PglineSession<TFullSchema extends Record<string, unknown>, TSchema extends Record<string, any>> extends PgSession<QueryHKT, TFullSchema, TSchema> {
  static override readonly [entityKind]: string = 'PglineSession'

  constructor(
    readonly client: Runner,
    readonly types: TypeMap,
    dialect: PgDialect,
    private readonly schema: any,
    readonly options: SessionOptions,
  ) {
    super(dialect)
  }

  prepareQuery<T extends PreparedQueryConfig>(
    query: { sql: string; params: unknown[] },
    fields: any,
    _name: string | undefined,
    isResponseInArrayMode: boolean,
    customResultMapper?: (rows: unknown[][]) => T['execute'],
    queryMetadata?: any,
    cacheConfig?: any,
  ): PgPreparedQuery<T> {
    // Named or not, pgline prepares each statement once per connection and reuses it.
    return new PglinePreparedQuery<T>(this.client, this.types, query.sql, query.params, this.options.logger, fields, isResponseInArrayMode, customResultMapper, queryMetadata, cacheConfig)
  }

  /** `db.$count()`: execute() gives a result, not rows (as Drizzle's own node-postgres session reads it). */
  override async count(query: any): Promise<number> {
    const r = (await this.execute(query)) as Result<{ count: unknown }>
    return Number(r.rows[0]!.count)
  }

  override async transaction<T>(fn: (tx: PglineTransaction<TFullSchema, TSchema>) => Promise<T>, config?: PgTransactionConfig): Promise<T> {
    const body = async (handle: Transaction): Promise<T> => {
      const session = new PglineSession<TFullSchema, TSchema>(handle, this.types, this.dialect, this.schema, this.options)
      const tx = new PglineTransaction<TFullSchema, TSchema>(this.dialect, session, this.schema)
      if (config !== undefined) await tx.setTransaction(config)
      return fn(tx)
    }
    const client = this.client
    if (client instanceof Pool || isConnection(client)) return (client as Pool).transaction(body)
    // A transaction handle: Drizzle nests through PglineTransaction.transaction (savepoints).
    return body(client as Transaction)
  }
}

function isConnection(c: Runner): c is Connection {
  return typeof (c as Connection).stream === 'function' && typeof (c as Connection).close === 'function'
}

class PglineTransaction<TFullSchema extends Record<string, unknown>, TSchema extends Record<string, any>> extends PgTransaction<QueryHKT, TFullSchema, TSchema> {
  static override readonly [entityKind]: string = 'PglineTransaction'

  override async transaction<T>(fn: (tx: PglineTransaction<TFullSchema, TSchema>) => Promise<T>): Promise<T> {
    const name = `sp${this.nestedIndex + 1}`
    const tx = new PglineTransaction<TFullSchema, TSchema>((this as any).dialect, (this as any).session, this.schema, this.nestedIndex + 1)
    await tx.execute(sql.raw(`savepoint ${name}`))
    try {
      const result = await fn(tx)
      await tx.execute(sql.raw(`release savepoint ${name}`))
      return result
    } catch (err) {
      await tx.execute(sql.raw(`rollback to savepoint ${name}`))
      throw err
    }
  }
}

export class PglineDatabase<TSchema extends Record<string, unknown> = Record<string, never>> extends PgDatabase<QueryHKT, TSchema> {
  static override readonly [entityKind]: string = 'PglineDatabase'
  /** The pool or connection it runs on. */
  declare $client: DrizzleClient
}

/** A Drizzle database on a pgline Pool or Connection. */
export function drizzle<TSchema extends Record<string, unknown> = Record<string, never>>(client: DrizzleClient, config: PglineDrizzleConfig<TSchema> = {}): PglineDatabase<TSchema> & { $client: DrizzleClient } {
  const dialect = new PgDialect({ casing: config.casing })
  const logger = config.logger === true ? new DefaultLogger() : config.logger === false || config.logger === undefined ? new NoopLogger() : config.logger
  let schema: any
  if (config.schema !== undefined) {
    const tables = extractTablesRelationalConfig(config.schema, createTableRelationsHelpers)
    schema = { fullSchema: config.schema, schema: tables.tables, tableNamesMap: tables.tableNamesMap }
  }
  const base = client.types ?? defaultTypeMap
  const session = new PglineSession(client, drizzleTypes(base), dialect, schema, { logger })
  const db = new PglineDatabase<TSchema>(dialect, session as never, schema) as PglineDatabase<TSchema> & { $client: DrizzleClient }
  db.$client = client
  return db
}

/** Runs Drizzle's migrations (a drizzle-kit migrations folder) on the database, in one transaction. */
export async function migrate(db: PglineDatabase<any>, config: MigrationConfig): Promise<void> {
  const migrations = readMigrationFiles(config)
  await (db as any).dialect.migrate(migrations, (db as any).session, config)
}
