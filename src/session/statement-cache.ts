// Named prepared statements, reused by SQL text: a query seen before skips
// Parse and Describe and asks for binary results where a codec exists. LRU:
// the least recently used statement is closed when the cache is full.

import type { TypeMap } from '../types/type-map.js'
import type { Field } from '../types/result.js'

export interface CachedStatement {
  readonly name: string
  readonly key: string
  /** False until the server confirmed Parse and described the statement. */
  ready: boolean
  paramOids: number[]
  /** Result fields with the format we ask for; null for a statement without rows. */
  fields: Field[] | null
  resultFormats: number[]
  /** The type map version `fields`' formats were chosen against (a codec registered since may change them). */
  formatsVersion: number
  /** Decode plans by row mode, for the connection's own type map (built once, reused per execution). */
  plans?: Map<string, import('../types/result.js').RowDecoder>
  /** The type map version the plans were built against. */
  plansVersion?: number
  /** When it was last used, on the cache's clock (for LRU eviction). */
  used: number
}

/** The one place a statement's description is applied: its parameter types, and its fields with the formats we will ask for. */
export function describeInto(stmt: CachedStatement, paramOids: number[], fields: Field[] | null, types: TypeMap): void {
  stmt.paramOids = paramOids
  stmt.fields = withFormats(fields, types)
  stmt.resultFormats = formatsOf(stmt.fields)
  stmt.formatsVersion = types.version
  stmt.ready = true
}

/**
 * The fields, with their formats, to ask for when running `stmt` with the
 * type map `types` (the query's) on a connection whose own map is `own`. The
 * statement's were chosen with `own` when it was described; a per-query map,
 * a format asked for, or a codec registered since may choose differently, and
 * asking for a format the query's map cannot decode as the caller meant would
 * change values silently (a text-only decoder skipped for the parent's binary one).
 */
export function fieldsFor(stmt: CachedStatement, types: TypeMap, own: TypeMap, format: 'auto' | 'text' | 'binary'): Field[] | null {
  if (format !== 'auto' || types !== own) return withFormats(stmt.fields, types, format)
  if (stmt.formatsVersion !== own.version) {
    stmt.fields = withFormats(stmt.fields, own)
    stmt.resultFormats = formatsOf(stmt.fields)
    stmt.formatsVersion = own.version
  }
  return stmt.fields
}

/** Result fields with the formats we ask for: binary where the type map has a binary decoder (see QueryOptions.resultFormat). */
export function withFormats(fields: Field[] | null, types: TypeMap, format: 'auto' | 'text' | 'binary' = 'auto'): Field[] | null {
  if (fields === null) return null
  return fields.map((f) => ({ ...f, format: format !== 'text' && types.hasBinary(f.typeOid, format === 'auto') ? 1 : 0 }))
}

export function formatsOf(fields: Field[] | null): number[] {
  return fields === null ? [] : fields.map((f) => f.format)
}

export class StatementCache {
  private readonly map = new Map<string, CachedStatement>()
  private counter = 0
  private clock = 0
  /** Names whose Close is still to be sent (with the next request). */
  readonly toClose: string[] = []

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.map.size
  }

  static key(sql: string, paramOids: readonly number[]): string {
    // Parameters typed at Parse (e.g. bytea) make a different statement.
    for (let i = 0; i < paramOids.length; i++) if (paramOids[i] !== 0) return sql + '\0' + paramOids.join(',')
    return sql
  }

  get(key: string): CachedStatement | undefined {
    const s = this.map.get(key)
    // A stamp, not a re-insertion: a Map delete and set per query cost more
    // than a scan of at most `capacity` entries when one must be evicted.
    if (s !== undefined && s.ready) s.used = ++this.clock
    return s
  }

  /** Reserves a name for a new statement, evicting the least recently used one. */
  add(key: string): CachedStatement {
    if (this.map.size >= this.capacity) {
      let oldest: CachedStatement | undefined
      for (const s of this.map.values()) {
        if (!s.ready) continue // still being prepared: its request will use it
        if (oldest === undefined || s.used < oldest.used) oldest = s
      }
      if (oldest !== undefined) {
        this.map.delete(oldest.key)
        this.toClose.push(oldest.name)
      }
    }
    const s: CachedStatement = {
      name: `pgline_${++this.counter}`,
      key,
      ready: false,
      paramOids: [],
      fields: null,
      resultFormats: [],
      formatsVersion: -1,
      used: ++this.clock,
    }
    this.map.set(key, s)
    return s
  }

  /**
   * Forgets `stmt` if it is still the cached statement for its text (a
   * second failure of a stale statement must not drop the statement the
   * first one re-prepared); with `close`, queues its Close. False if it was
   * gone already.
   */
  forget(stmt: CachedStatement, close: boolean): boolean {
    if (this.map.get(stmt.key) !== stmt) return false
    this.map.delete(stmt.key)
    if (close) this.toClose.push(stmt.name)
    return true
  }

  /** Forgets every statement and queues a Close for each that exists on the server. */
  closeAll(): void {
    for (const s of this.map.values()) if (s.ready) this.toClose.push(s.name)
    this.map.clear()
  }

  clear(): void {
    this.map.clear()
    this.toClose.length = 0
  }
}
