// pgline/prisma: a Prisma 7 driver adapter on pgline's own API.
//
//   import { PrismaClient } from './generated/client'
//   import { PrismaPgline } from 'pgline/prisma'
//   const prisma = new PrismaClient({ adapter: new PrismaPgline(process.env.DATABASE_URL) })
//
// Prisma's query engine sends SQL with typed arguments and reads rows as
// arrays with a column type per column (its ColumnTypeEnum). Values are
// decoded by pgline into the forms the engine reads: int8 and numeric as
// text, timestamps as ISO 8601 UTC text, json as its text, bytes as Buffers.
// Errors reach Prisma as the DriverAdapterError it recognises, with its own
// kinds (a unique violation becomes P2002, a foreign key P2003, ...).
//
// Prisma's interfaces are matched by shape (as Prisma itself checks them), so
// this module loads nothing of Prisma's at run time.

import { quoteIdentifier } from '../client/quote.js'
import type { Connection } from '../client/connection.js'
import type { ConnectionOptions } from '../client/connection-options.js'
import { parseUrl } from '../config/config.js'
import { ConnectionError, DatabaseError, TimeoutError } from '../errors/base.js'
import { PoolError } from '../pool/errors.js'
import { Pool, type PoolLease, type PoolOptions } from '../pool/pool.js'
import { TypeMap, defaultTypeMap } from '../types/type-map.js'
import type { Result } from '../types/result.js'

// ---- Prisma's shapes (from @prisma/driver-adapter-utils) ---------------------

export type IsolationLevel = 'READ UNCOMMITTED' | 'READ COMMITTED' | 'REPEATABLE READ' | 'SNAPSHOT' | 'SERIALIZABLE'

export interface ArgType {
  scalarType: string
  dbType?: string
  arity: 'scalar' | 'list'
}

export interface SqlQuery {
  sql: string
  args: unknown[]
  argTypes: ArgType[]
}

export interface SqlResultSet {
  columnTypes: number[]
  columnNames: string[]
  rows: unknown[][]
  lastInsertId?: string
}

/** Prisma's ColumnTypeEnum. */
export const ColumnType = {
  Int32: 0,
  Int64: 1,
  Float: 2,
  Double: 3,
  Numeric: 4,
  Boolean: 5,
  Character: 6,
  Text: 7,
  Date: 8,
  Time: 9,
  DateTime: 10,
  Json: 11,
  Enum: 12,
  Bytes: 13,
  Uuid: 15,
  Int32Array: 64,
  Int64Array: 65,
  FloatArray: 66,
  DoubleArray: 67,
  NumericArray: 68,
  BooleanArray: 69,
  CharacterArray: 70,
  TextArray: 71,
  DateArray: 72,
  TimeArray: 73,
  DateTimeArray: 74,
  JsonArray: 75,
  BytesArray: 77,
  UuidArray: 78,
} as const

/** What Prisma's engine reads out of an error: the `cause` of an error named DriverAdapterError. */
export type MappedError = { kind: string; [field: string]: unknown }

/** Prisma recognises this by its name and its object `cause`. */
export class DriverAdapterError extends Error {
  override name = 'DriverAdapterError'
  declare cause: MappedError

  constructor(payload: MappedError, original?: unknown) {
    super(typeof payload.message === 'string' ? payload.message : payload.kind)
    Object.defineProperty(this, 'cause', { value: payload, enumerable: false, writable: true, configurable: true })
    if (original !== undefined) Object.defineProperty(this, 'original', { value: original, enumerable: false })
  }
}

// ---- column types ------------------------------------------------------------

/** The first OID the server gives to user-defined types (enums, domains, extensions): read as text. */
const FIRST_USER_OID = 16384

const COLUMN_TYPES = new Map<number, number>([
  [21, ColumnType.Int32], // int2
  [23, ColumnType.Int32], // int4
  [20, ColumnType.Int64], // int8
  [26, ColumnType.Int64], // oid
  [700, ColumnType.Float],
  [701, ColumnType.Double],
  [1700, ColumnType.Numeric],
  [790, ColumnType.Numeric], // money
  [16, ColumnType.Boolean],
  [1082, ColumnType.Date],
  [1083, ColumnType.Time],
  [1266, ColumnType.Time], // timetz
  [1114, ColumnType.DateTime],
  [1184, ColumnType.DateTime],
  [114, ColumnType.Json],
  [3802, ColumnType.Json],
  [2950, ColumnType.Uuid],
  [17, ColumnType.Bytes],
  ...[25, 1043, 1042, 19, 1560, 1562, 869, 650, 142].map((oid) => [oid, ColumnType.Text] as [number, number]), // text, varchar, bpchar, name, bit, varbit, inet, cidr, xml
  [1005, ColumnType.Int32Array],
  [1007, ColumnType.Int32Array],
  [1016, ColumnType.Int64Array],
  [1028, ColumnType.Int64Array],
  [1021, ColumnType.FloatArray],
  [1022, ColumnType.DoubleArray],
  [1231, ColumnType.NumericArray],
  [791, ColumnType.NumericArray],
  [1000, ColumnType.BooleanArray],
  [1002, ColumnType.CharacterArray],
  ...[1009, 1015, 1014, 1561, 1563, 1041, 651, 143].map((oid) => [oid, ColumnType.TextArray] as [number, number]),
  [1182, ColumnType.DateArray],
  [1183, ColumnType.TimeArray],
  [1115, ColumnType.DateTimeArray],
  [1185, ColumnType.DateTimeArray],
  [199, ColumnType.JsonArray],
  [3807, ColumnType.JsonArray],
  [1001, ColumnType.BytesArray],
  [2951, ColumnType.UuidArray],
])

/** Names of the built-in types Prisma cannot read, for its error. */
const UNSUPPORTED_NAMES: Record<number, string> = { 18: 'char', 22: 'int2vector', 24: 'regproc', 27: 'tid', 28: 'xid', 29: 'cid', 30: 'oidvector', 600: 'point', 601: 'lseg', 602: 'path', 603: 'box', 604: 'polygon', 628: 'line', 718: 'circle', 774: 'macaddr8', 829: 'macaddr', 1033: 'aclitem', 1186: 'interval', 2249: 'record', 2278: 'void', 3614: 'tsvector', 3615: 'tsquery', 3904: 'int4range', 3926: 'int8range', 3906: 'numrange', 3908: 'tsrange', 3910: 'tstzrange', 3912: 'daterange' }

function columnType(oid: number): number {
  const t = COLUMN_TYPES.get(oid)
  if (t !== undefined) return t
  if (oid >= FIRST_USER_OID) return ColumnType.Text
  throw new DriverAdapterError({ kind: 'UnsupportedNativeDataType', type: UNSUPPORTED_NAMES[oid] ?? 'Unknown' })
}

// ---- values --------------------------------------------------------------------

const text = (buf: Buffer, start: number, end: number): string => buf.toString('utf8', start, end)

/** A timestamp as Prisma reads it: ISO 8601, in UTC, with '+00:00'. */
function isoUtc(value: unknown): unknown {
  return value instanceof Date ? value.toISOString().replace('Z', '+00:00') : value
}

/** The type map of Prisma's queries: pgline's codecs, with the few forms Prisma's engine reads differently. */
function prismaTypes(): TypeMap {
  const map = new TypeMap(defaultTypeMap, { int8: 'string', json: 'string' })
  // timestamp and timestamptz: the instant pgline decodes, written in UTC.
  // Both formats: a statement run unprepared (prepare: false, a pooler) reads text.
  for (const oid of [1114, 1184]) {
    for (const format of [0, 1] as const) {
      const base = defaultTypeMap.decoder(oid, format)
      map.registerDecoder(oid, format, (buf, start, end) => isoUtc(base(buf, start, end)))
    }
  }
  // timetz: the time without its offset; money: without its currency sign.
  map.registerDecoder(1266, 0, (buf, start, end) => text(buf, start, end).replace(/[+-]\d{2}(:\d{2}){0,2}$/, ''))
  map.registerDecoder(790, 0, (buf, start, end) => text(buf, start, end).replace(/^-?[^\d-]+/, (m) => (m.startsWith('-') ? '-' : '')))
  for (const oid of [1083, 1560, 1562, 142, 869, 650]) map.registerDecoder(oid, 0, text)
  return map
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')
const millis = (d: Date): string => (d.getUTCMilliseconds() === 0 ? '' : `.${pad(d.getUTCMilliseconds(), 3)}`)
const formatDate = (d: Date): string => `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
const formatTime = (d: Date): string => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${millis(d)}`

/** One argument as Prisma's engine gives it, into what pgline sends. */
function mapArg(arg: unknown, type: ArgType | undefined): unknown {
  if (arg === null || arg === undefined) return null
  if (Array.isArray(arg) && type?.arity === 'list') return arg.map((v) => mapArg(v, type))
  if (typeof arg === 'string' && type?.scalarType === 'datetime') arg = new Date(arg)
  if (arg instanceof Date) {
    switch (type?.dbType) {
      case 'TIME':
      case 'TIMETZ':
        return formatTime(arg)
      case 'DATE':
        return formatDate(arg)
      default:
        // The UTC wall-clock time, as Prisma's own pg adapter sends it.
        return `${formatDate(arg)} ${formatTime(arg)}`
    }
  }
  if (typeof arg === 'string' && type?.scalarType === 'bytes') return Buffer.from(arg, 'base64')
  if (ArrayBuffer.isView(arg)) return Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength)
  return arg
}

// ---- errors --------------------------------------------------------------------

const keyFields = (detail: string | undefined): string[] | undefined => /Key \(([^)]+)\)/.exec(detail ?? '')?.[1]?.split(', ')
const quoted = (message: string): string | undefined => /"((?:[^"]|"")*)"/.exec(message)?.[1]

/** A pgline error as the MappedError Prisma's engine turns into its own codes. */
export function mapError(err: unknown): MappedError {
  if (err instanceof DatabaseError) {
    // Prisma builds its raw-query and generic database errors from these.
    return { ...mapDatabaseError(err), originalCode: err.code, originalMessage: err.message }
  }
  // A pool that could not connect wraps why: the connect's own error decides.
  if (err instanceof PoolError && err.cause !== undefined) return mapError(err.cause)
  return mapOther(err)
}

function mapDatabaseError(e: DatabaseError): MappedError {
  switch (e.code) {
      case '22001':
        return { kind: 'LengthMismatch', column: e.column }
      case '22003':
        return { kind: 'ValueOutOfRange', cause: e.message }
      case '22P02':
        return { kind: 'InvalidInputValue', message: e.message }
      case '23505': {
        const fields = keyFields(e.detail)
        return { kind: 'UniqueConstraintViolation', constraint: e.constraint !== undefined ? { index: e.constraint } : fields !== undefined ? { fields } : undefined, table: e.table }
      }
      case '23502':
        return { kind: 'NullConstraintViolation', constraint: e.column !== undefined ? { fields: [e.column] } : undefined }
      case '23503':
        return { kind: 'ForeignKeyConstraintViolation', constraint: e.column !== undefined ? { fields: [e.column] } : e.constraint !== undefined ? { index: e.constraint } : undefined }
      case '23001':
        return { kind: 'RestrictViolation', constraint: e.column !== undefined ? { fields: [e.column] } : e.constraint !== undefined ? { index: e.constraint } : undefined }
      case '3D000':
        return { kind: 'DatabaseDoesNotExist', db: quoted(e.message) }
      case '28000':
        return { kind: 'DatabaseAccessDenied', db: /database "((?:[^"]|"")*)"/.exec(e.message)?.[1] }
      case '28P01':
        return { kind: 'AuthenticationFailed', user: quoted(e.message) }
      case '40001':
      case '40P01':
        return { kind: 'TransactionWriteConflict' }
      case '42P01':
        return { kind: 'TableDoesNotExist', table: quoted(e.message) }
      case '42703':
        return { kind: 'ColumnNotFound', column: quoted(e.message) }
      case '42P04':
        return { kind: 'DatabaseAlreadyExists', db: quoted(e.message) }
      case '53300':
        return { kind: 'TooManyConnections', cause: e.message }
      default:
        return { kind: 'postgres', code: e.code ?? 'N/A', severity: e.severity ?? 'N/A', message: e.message, detail: e.detail, column: e.column, hint: e.hint }
  }
}

function mapOther(err: unknown): MappedError {
  if (err instanceof TimeoutError) return { kind: 'SocketTimeout' }
  if (err instanceof ConnectionError) {
    let code: unknown
    for (let e: unknown = err; e instanceof Error && code === undefined; e = e.cause) code = (e as { code?: unknown }).code
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') return { kind: 'DatabaseNotReachable' }
    if (code === 'ETIMEDOUT') return { kind: 'SocketTimeout' }
    return { kind: 'ConnectionClosed' }
  }
  return { kind: 'postgres', code: 'N/A', severity: 'N/A', message: err instanceof Error ? err.message : String(err) }
}

function fail(err: unknown): never {
  if (err instanceof DriverAdapterError) throw err
  throw new DriverAdapterError(mapError(err), err)
}

// ---- the adapter ---------------------------------------------------------------

type Runner = Pool | PoolLease

const ISOLATION = new Set<IsolationLevel>(['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE'])

class Queryable {
  readonly provider = 'postgres'
  readonly adapterName = 'pgline'

  constructor(
    protected readonly runner: Runner,
    protected readonly types: TypeMap,
  ) {}

  private async run(query: SqlQuery): Promise<Result<unknown[]>> {
    const args = query.args.map((a, i) => mapArg(a, query.argTypes[i]))
    try {
      return (await this.runner.query(query.sql, args, { rowMode: 'array', types: this.types } as never)) as Result<unknown[]>
    } catch (err) {
      fail(err)
    }
  }

  async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    const r = await this.run(query)
    return { columnNames: r.fields.map((f) => f.name), columnTypes: r.fields.map((f) => columnType(f.typeOid)), rows: r.rows }
  }

  async executeRaw(query: SqlQuery): Promise<number> {
    return (await this.run(query)).rowCount ?? 0
  }
}

class PglineTransaction extends Queryable {
  readonly options = { usePhantomQuery: false }

  constructor(
    private readonly lease: PoolLease,
    types: TypeMap,
  ) {
    super(lease, types)
  }

  // Prisma's engine sends COMMIT or ROLLBACK itself; these give the connection
  // back (rolled back by the pool if the engine did not end the transaction).
  async commit(): Promise<void> {
    await this.lease.release()
  }

  async rollback(): Promise<void> {
    await this.lease.release()
  }

  async createSavepoint(name: string): Promise<void> {
    await this.control(`savepoint ${quoteIdentifier(name)}`)
  }

  async rollbackToSavepoint(name: string): Promise<void> {
    await this.control(`rollback to savepoint ${quoteIdentifier(name)}`)
  }

  async releaseSavepoint(name: string): Promise<void> {
    await this.control(`release savepoint ${quoteIdentifier(name)}`)
  }

  private async control(sql: string): Promise<void> {
    try {
      await this.lease.simpleQuery(sql)
    } catch (err) {
      fail(err)
    }
  }
}

export interface PrismaPglineOptions {
  /** The schema Prisma should use (its connection info); the connection's search_path is yours to set. */
  schema?: string
  /** Options for the pool this adapter creates (when given a URL or connection options). */
  pool?: PoolOptions
  /** Whether dispose() closes a pool that was passed in (default false: it is yours). */
  closePool?: boolean
}

class PglineAdapter extends Queryable {
  constructor(
    private readonly pool: Pool,
    types: TypeMap,
    private readonly options: PrismaPglineOptions,
    private readonly owned: boolean,
  ) {
    super(pool, types)
  }

  async startTransaction(isolationLevel?: IsolationLevel): Promise<PglineTransaction> {
    if (isolationLevel !== undefined && !ISOLATION.has(isolationLevel)) throw new DriverAdapterError({ kind: 'InvalidIsolationLevel', level: isolationLevel })
    let lease: PoolLease
    try {
      lease = await this.pool.acquire()
    } catch (err) {
      fail(err)
    }
    try {
      await lease.simpleQuery(isolationLevel === undefined ? 'BEGIN' : `BEGIN ISOLATION LEVEL ${isolationLevel}`)
    } catch (err) {
      await lease.release({ discard: true })
      fail(err)
    }
    return new PglineTransaction(lease, this.types)
  }

  /** Several statements in one go (migrations): the simple protocol runs them as the server splits them. */
  async executeScript(script: string): Promise<void> {
    try {
      await this.pool.connection((c: Connection) => c.simpleQuery(script))
    } catch (err) {
      fail(err)
    }
  }

  getConnectionInfo(): { schemaName?: string; supportsRelationJoins: boolean } {
    return { schemaName: this.options.schema, supportsRelationJoins: true }
  }

  async dispose(): Promise<void> {
    if (this.owned || this.options.closePool === true) await this.pool.close()
  }

  underlyingDriver(): Pool {
    return this.pool
  }
}

/**
 * Prisma's adapter factory: `new PrismaClient({ adapter: new PrismaPgline(urlOrPoolOrOptions) })`.
 * Given a pgline Pool it uses it (and leaves it open on dispose unless
 * `closePool`); given a URL or connection options it makes a pool of its own.
 */
export class PrismaPgline {
  readonly provider = 'postgres'
  readonly adapterName = 'pgline'
  private readonly types = prismaTypes()

  // A #private field: the URL or options (and their password) stay out of inspect, JSON and spreads.
  readonly #source: Pool | string | ConnectionOptions

  constructor(
    source: Pool | string | ConnectionOptions,
    private readonly options: PrismaPglineOptions = {},
  ) {
    this.#source = source
  }

  private get source(): Pool | string | ConnectionOptions {
    return this.#source
  }

  toJSON(): object {
    return { provider: this.provider, adapterName: this.adapterName }
  }

  async connect(): Promise<PglineAdapter> {
    if (this.source instanceof Pool) return new PglineAdapter(this.source, this.types, this.options, false)
    return new PglineAdapter(new Pool(this.source, this.options.pool), this.types, this.options, true)
  }

  /** For `prisma migrate dev`: a scratch database, dropped on dispose. */
  async connectToShadowDb(): Promise<PglineAdapter> {
    if (this.source instanceof Pool) throw new DriverAdapterError({ kind: 'postgres', code: 'N/A', severity: 'ERROR', message: 'pgline/prisma: a shadow database needs the connection settings; give PrismaPgline a URL or connection options, not a Pool' })
    const main = await this.connect()
    const name = `prisma_migrate_shadow_db_${globalThis.crypto.randomUUID()}`
    await main.executeScript(`create database ${quoteIdentifier(name)}`)
    const base: ConnectionOptions = typeof this.source === 'string' ? parseUrl(this.source) : this.source
    const shadow = new Pool({ ...base, database: name }, this.options.pool)
    const adapter = new PglineAdapter(shadow, this.types, this.options, true)
    const dispose = adapter.dispose.bind(adapter)
    adapter.dispose = async () => {
      await dispose()
      await main.executeScript(`drop database ${quoteIdentifier(name)}`)
      await main.dispose()
    }
    return adapter
  }
}
