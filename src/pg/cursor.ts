// pg-cursor and pg-query-stream for pgline/pg: the same shapes (a Cursor you
// read() rows from, a QueryStream that is a Readable of rows), submitted with
// client.query(...) as those packages are, but running on pgline's portal
// streaming (Execute with a row limit) instead of node-postgres's internals.
// Kysely takes the Cursor class as its `cursor` option.

import { Readable } from 'node:stream'
import type { Connection } from '../client/connection.js'
import { toPgError } from './errors.js'
import { typeMapFor, type TypeSource } from './types.js'
import { prepareValues } from './values.js'

export interface CursorConfig {
  rowMode?: 'array'
  types?: TypeSource
}

/** What a Client gives a submitted cursor: its connection once open, and its type parsers. */
export interface CursorHost {
  connection(): Promise<Connection>
  types: TypeSource
  /** The cursor is done with the connection: queries that waited for it go on. */
  release(): void
}

/** Rows of one statement, pulled in batches from a portal. */
class RowSource {
  private iterator: AsyncIterator<unknown> | undefined
  private done = false

  constructor(
    private readonly host: Promise<CursorHost>,
    private readonly text: string,
    private readonly values: readonly unknown[] | undefined,
    private readonly config: CursorConfig,
  ) {}

  async read(n: number): Promise<unknown[]> {
    if (this.done) return []
    if (this.iterator === undefined) {
      const host = await this.host
      let conn: Connection
      try {
        conn = await host.connection()
      } catch (err) {
        this.finish()
        throw err
      }
      const stream = conn.stream(this.text, prepareValues(this.values), {
        batchSize: Math.max(1, n),
        rowMode: this.config.rowMode === 'array' ? 'array' : 'object',
        types: typeMapFor(this.config.types ?? host.types),
      })
      this.iterator = stream[Symbol.asyncIterator]()
    }
    const rows: unknown[] = []
    try {
      while (rows.length < n) {
        const next = await this.iterator.next()
        if (next.done === true) {
          this.finish()
          break
        }
        rows.push(next.value)
      }
    } catch (err) {
      this.finish()
      throw toPgError(err)
    }
    return rows
  }

  async close(): Promise<void> {
    this.done = true
    // Ends the portal (Close and Sync) and gives the connection back.
    try {
      await this.iterator?.return?.()
    } finally {
      this.finish()
    }
  }

  private finish(): void {
    this.done = true
    void this.host.then((h) => h.release())
  }
}

/** A submitted object the facade's Client drives itself. */
export interface PglineSubmittable {
  pglineSubmit(host: Promise<CursorHost>): void
}

export class Cursor<R = any> {
  private source: RowSource | undefined
  private readonly waiting: ((s: RowSource) => void)[] = []

  constructor(
    readonly text: string,
    readonly values?: readonly unknown[],
    readonly config: CursorConfig = {},
  ) {}

  /** Called by client.query(cursor). */
  pglineSubmit(host: Promise<CursorHost>): void {
    this.source = new RowSource(host, this.text, this.values, this.config)
    for (const w of this.waiting.splice(0)) w(this.source)
  }

  /** node-postgres submits through here; the facade calls pglineSubmit instead. */
  submit(): void {
    throw new Error('this Cursor runs on pgline/pg: submit it with a pgline/pg client, client.query(cursor)')
  }

  private started(): Promise<RowSource> {
    if (this.source !== undefined) return Promise.resolve(this.source)
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  read(rows: number): Promise<R[]>
  read(rows: number, callback: (err: Error | undefined, rows: R[]) => void): void
  read(rows: number, callback?: (err: Error | undefined, rows: R[]) => void): Promise<R[]> | void {
    const p = this.started().then((s) => s.read(rows) as Promise<R[]>)
    if (callback === undefined) return p
    p.then((r) => callback(undefined, r), (err: Error) => callback(err, []))
  }

  close(): Promise<void>
  close(callback: (err?: Error) => void): void
  close(callback?: (err?: Error) => void): Promise<void> | void {
    const p = this.source === undefined ? Promise.resolve() : this.source.close()
    if (callback === undefined) return p
    p.then(() => callback(), (err: Error) => callback(err))
  }
}

export interface QueryStreamConfig extends CursorConfig {
  batchSize?: number
  highWaterMark?: number
}

/** pg-query-stream's QueryStream: a Readable of rows, read batchSize rows at a time. */
export class QueryStream extends Readable implements PglineSubmittable {
  private source: RowSource | undefined
  private readonly batchSize: number
  /** A read is under way (Readable may ask again before it ends). */
  private reading = false
  /** Rows were asked for before the client took the stream. */
  private wanted = false

  constructor(
    readonly text: string,
    readonly values?: readonly unknown[],
    readonly config: QueryStreamConfig = {},
  ) {
    super({ objectMode: true, highWaterMark: config.highWaterMark ?? config.batchSize ?? 100 })
    this.batchSize = config.batchSize ?? 100
  }

  pglineSubmit(host: Promise<CursorHost>): void {
    this.source = new RowSource(host, this.text, this.values, this.config)
    if (this.wanted) this._read()
  }

  submit(): void {
    throw new Error('this QueryStream runs on pgline/pg: submit it with a pgline/pg client, client.query(stream)')
  }

  override _read(): void {
    const source = this.source
    if (source === undefined) {
      this.wanted = true
      return
    }
    if (this.reading) return
    this.reading = true
    source.read(this.batchSize).then(
      (rows) => {
        this.reading = false
        for (const r of rows) this.push(r)
        if (rows.length < this.batchSize) this.push(null)
      },
      (err: Error) => {
        this.reading = false
        this.destroy(err)
      },
    )
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const s = this.source
    if (s === undefined) return callback(err)
    s.close().then(() => callback(err), (e: Error) => callback(err ?? e))
  }
}
