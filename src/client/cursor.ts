// DB-API style cursors. Cursor is client-side: execute() runs the query and
// keeps its results; fetch* hand them out. ServerCursor is a named cursor on
// the server (DECLARE / FETCH / MOVE / CLOSE), for results too large to hold.

import { InterfaceError } from '../errors/base.js'
import type { QueryOptions } from '../session/query-options.js'
import type { Field, Result, Row } from '../types/result.js'
import { toQuery, type SqlQuery } from './sql.js'

/** What cursors need: a connection or a transaction handle. */
export interface Queryable {
  query<R = Row>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<Result<R>>
  simpleQuery<R = Row>(sql: string, options?: Omit<QueryOptions, 'prepare'>): Promise<Result<R>[]>
  readonly transactionStatus: 'I' | 'T' | 'E'
}

export interface ColumnDescription {
  name: string
  typeOid: number
  /** Bytes for fixed-size types, the declared length for varchar(n)/char(n), else null. */
  size: number | null
  /** numeric(p, s) precision, else null. */
  precision: number | null
  scale: number | null
  /** Whether the column can be NULL: not known from the protocol alone (null). */
  nullable: boolean | null
}

const NUMERIC = 1700
const VARCHAR = 1043
const BPCHAR = 1042

export function describeColumns(fields: Field[]): ColumnDescription[] {
  return fields.map((f) => {
    const mod = f.typeModifier
    let size: number | null = f.typeSize > 0 ? f.typeSize : null
    let precision: number | null = null
    let scale: number | null = null
    if (f.typeOid === NUMERIC && mod >= 4) {
      precision = ((mod - 4) >> 16) & 0xffff
      scale = (mod - 4) & 0xffff
    } else if ((f.typeOid === VARCHAR || f.typeOid === BPCHAR) && mod >= 4) {
      size = mod - 4
    }
    return { name: f.name, typeOid: f.typeOid, size, precision, scale, nullable: null }
  })
}

export class Cursor<R = Row> implements AsyncIterable<R> {
  /** Rows per fetchmany() call without an argument. */
  arraysize = 1
  private results: Result<R>[] = []
  private current: Result<R> | undefined
  private position = 0
  private isClosed = false

  constructor(private readonly q: Queryable) {}

  get description(): ColumnDescription[] | null {
    const c = this.current
    return c === undefined || c.fields.length === 0 ? null : describeColumns(c.fields)
  }

  /** Rows returned or affected by the current result; -1 before any execute. */
  get rowcount(): number {
    return this.current?.rowCount ?? -1
  }

  /** The command tag of the current result (e.g. 'INSERT', 'SELECT'). */
  get statusMessage(): string | null {
    return this.current?.command ?? null
  }

  private check(): void {
    if (this.isClosed) throw new InterfaceError('the cursor is closed')
  }

  /**
   * Runs SQL. With parameters it is one statement (extended protocol);
   * without, it may hold several statements: nextset() moves between results.
   * A sql`...` fragment is one statement with its own values (extended
   * protocol, even with none): `execute(fragment, options?)`.
   */
  async execute(sql: SqlQuery, options?: QueryOptions): Promise<this>
  async execute(sql: string | SqlQuery, params?: readonly unknown[], options?: QueryOptions): Promise<this>
  async execute(sql: string | SqlQuery, params?: readonly unknown[] | QueryOptions, options?: QueryOptions): Promise<this> {
    this.check()
    if (typeof sql !== 'string') ({ text: sql, values: params, options } = toQuery(sql, params, options))
    this.results = params !== undefined ? [await this.q.query<R>(sql, params as readonly unknown[], options)] : await this.q.simpleQuery<R>(sql, options)
    this.current = this.results[0]
    this.position = 0
    return this
  }

  /** Runs the statement once per row of parameters (pipelined by the connection). */
  async executeMany(sql: string, rows: readonly (readonly unknown[])[], options: QueryOptions = {}): Promise<this> {
    this.check()
    const all = await Promise.all(rows.map((p) => this.q.query<R>(sql, p, options)))
    let total = 0
    for (const r of all) total += r.rowCount ?? 0
    this.results = [{ command: all[0]?.command ?? '', rowCount: total, rows: [], fields: [] }]
    this.current = this.results[0]
    this.position = 0
    return this
  }

  private rows(): R[] {
    this.check()
    if (this.current === undefined) throw new InterfaceError('no results: call execute() first')
    return this.current.rows
  }

  async fetchone(): Promise<R | null> {
    const rows = this.rows()
    return this.position < rows.length ? rows[this.position++]! : null
  }

  async fetchmany(n = this.arraysize): Promise<R[]> {
    const rows = this.rows()
    const out = rows.slice(this.position, this.position + n)
    this.position += out.length
    return out
  }

  async fetchall(): Promise<R[]> {
    const rows = this.rows()
    const out = rows.slice(this.position)
    this.position = rows.length
    return out
  }

  /** Moves to the next result of a multi-statement execute(); false when there is none. */
  nextset(): boolean {
    this.check()
    const i = this.current === undefined ? -1 : this.results.indexOf(this.current)
    if (i + 1 >= this.results.length) return false
    this.current = this.results[i + 1]
    this.position = 0
    return true
  }

  async *[Symbol.asyncIterator](): AsyncIterator<R> {
    for (let row = await this.fetchone(); row !== null; row = await this.fetchone()) yield row
  }

  close(): void {
    this.isClosed = true
    this.results = []
    this.current = undefined
  }
}

export interface ServerCursorOptions {
  scrollable?: boolean
  /** Keep the cursor after the transaction commits (then it may be used outside one). */
  withHold?: boolean
}

let cursorCounter = 0

function quote(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"'
}

export class ServerCursor<R = Row> implements AsyncIterable<R> {
  /** Rows fetched per round trip when iterating. */
  itersize = 100
  readonly name: string
  private declared = false
  private isClosed = false
  fields: Field[] = []

  constructor(
    private readonly q: Queryable,
    name: string | undefined,
    private readonly options: ServerCursorOptions = {},
  ) {
    if (name !== undefined && (name.length === 0 || name.includes('\0'))) throw new InterfaceError(`invalid cursor name ${JSON.stringify(name)}`)
    this.name = name ?? `pgline_cursor_${++cursorCounter}`
  }

  get description(): ColumnDescription[] | null {
    return this.fields.length === 0 ? null : describeColumns(this.fields)
  }

  private check(): void {
    if (this.isClosed) throw new InterfaceError(`server cursor ${this.name} is closed`)
    if (!this.declared) throw new InterfaceError(`server cursor ${this.name}: call execute() first`)
  }

  /** DECLAREs the cursor for `sql` (SQL text with `params`, or a sql`...` fragment). */
  async execute(sql: string | SqlQuery, params: readonly unknown[] = []): Promise<this> {
    if (typeof sql !== 'string') ({ text: sql, values: params } = toQuery(sql, params))
    if (this.isClosed) throw new InterfaceError(`server cursor ${this.name} is closed`)
    if (this.declared) throw new InterfaceError(`server cursor ${this.name} is already declared; close it first`)
    if (!this.options.withHold && this.q.transactionStatus === 'I') {
      throw new InterfaceError(
        `server cursor ${this.name} needs a transaction: without withHold a cursor only lives until the end of its transaction. ` +
          'Open one (conn.transaction(...) or begin) or pass { withHold: true }.',
      )
    }
    const scroll = this.options.scrollable === undefined ? '' : this.options.scrollable ? ' scroll' : ' no scroll'
    const hold = this.options.withHold ? ' with hold' : ''
    await this.q.query(`declare ${quote(this.name)}${scroll} cursor${hold} for ${sql}`, params, { prepare: false })
    this.declared = true
    return this
  }

  /** Fetches up to n rows forward (all remaining with Infinity). */
  async fetch(n: number): Promise<R[]> {
    this.check()
    const count = n === Infinity ? 'all' : String(Math.max(0, Math.floor(n)))
    const r = await this.q.query<R>(`fetch forward ${count} from ${quote(this.name)}`, [], { prepare: false })
    if (r.fields.length > 0) this.fields = r.fields
    return r.rows
  }

  async fetchone(): Promise<R | null> {
    return (await this.fetch(1))[0] ?? null
  }

  fetchmany(n = this.itersize): Promise<R[]> {
    return this.fetch(n)
  }

  fetchall(): Promise<R[]> {
    return this.fetch(Infinity)
  }

  /** Moves the position: by n rows ('relative', may be negative on a scrollable cursor) or to row n ('absolute'). */
  async scroll(n: number, mode: 'relative' | 'absolute' = 'relative'): Promise<void> {
    this.check()
    if (!Number.isInteger(n)) throw new InterfaceError(`scroll by a whole number of rows, not ${n}`)
    await this.q.query(`move ${mode} ${n} from ${quote(this.name)}`, [], { prepare: false })
  }

  async *[Symbol.asyncIterator](): AsyncIterator<R> {
    for (;;) {
      const rows = await this.fetch(this.itersize)
      for (const r of rows) yield r
      if (rows.length < this.itersize) return
    }
  }

  async close(): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    if (this.declared && this.q.transactionStatus !== 'E') await this.q.query(`close ${quote(this.name)}`, [], { prepare: false })
  }
}
