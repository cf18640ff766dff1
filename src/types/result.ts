// What a query hands back, and the per-result decode plan: the decoder of
// each column is chosen once per RowDescription and reused for every row.

import { PglineError } from '../errors/base.js'
import type { FieldDescription } from '../protocol/messages.js'
import type { Decoder } from './codec.js'
import type { TypeMap } from './type-map.js'
import { decodeJsonbBinary, decodeJsonbBinaryString, decodeJsonString, decodeJsonText } from './json.js'
import { ColumnBuilder, type Columns } from './columns.js'

export type Field = FieldDescription

/** A value the server sent could not be turned into a JS value by its codec. */
export class DecodeError extends PglineError {
  constructor(
    message: string,
    readonly column: string,
    readonly typeOid: number,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** The DecodeError for a value of field `f` its codec refused. */
export function columnError(f: Field, err: unknown): DecodeError {
  const why = err instanceof Error ? err.message : String(err)
  return new DecodeError(`cannot decode column "${f.name}" (type oid ${f.typeOid}, ${f.format ? 'binary' : 'text'}): ${why}`, f.name, f.typeOid, {
    cause: err,
  })
}
export type Row = Record<string, unknown>
/** 'object': one object per row; 'array': one array per row; 'columns': result.columns, one array per column. */
export type RowMode = 'object' | 'array' | 'columns'

export interface Result<R = Row> {
  /** The command tag's verb: 'SELECT', 'INSERT', 'CREATE TABLE', ... ('' for an empty query). */
  command: string
  /** Rows affected or returned, when the command reports a count; null otherwise. */
  rowCount: number | null
  rows: R[]
  fields: Field[]
  /** With rowMode 'columns': the values by column (rows is then empty). */
  columns?: Columns
}

/** What a query with rowMode 'columns' gives: the values are in `columns`, `rows` stays empty. */
export interface ColumnsResult extends Result<never> {
  columns: Columns
}

// Tags whose last word is a row count ("INSERT 0 5" has an oid before it).
const COUNTED = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'MOVE', 'FETCH', 'COPY'])

export function parseCommandTag(tag: string): { command: string; rowCount: number | null } {
  const sp = tag.indexOf(' ')
  const verb = sp === -1 ? tag : tag.slice(0, sp)
  if (sp !== -1 && COUNTED.has(verb)) {
    const last = tag.lastIndexOf(' ')
    const n = Number(tag.slice(last + 1))
    if (Number.isInteger(n)) return { command: verb, rowCount: n }
  }
  return { command: tag, rowCount: null }
}

// JSON values are parsed in batches: one JSON.parse of "[a,b,c,...]" costs
// about 40% less than one call per value (the per-call set-up dominates for
// the small documents rows usually hold). Rows keep the JSON text until the
// batch is parsed; flush() must run before rows leave the decoder.
const BATCH_CHARS = 1 << 20
const BATCH_ROWS = 4096
const BATCH_MAX_VALUE = 1 << 16 // a value this long gains nothing from batching: parsed at once

// The built-in JSON decoders, and the ones giving the text they would parse.
const DEFERRED = new Map<Decoder, Decoder>([
  [decodeJsonbBinary, decodeJsonbBinaryString],
  [decodeJsonText, decodeJsonString],
])

/** The decoders with the built-in JSON ones swapped for their text, and the indexes swapped. */
function deferJson(decoders: Decoder[]): { decoders: Decoder[]; json: number[] } {
  const json: number[] = []
  const out = decoders.map((d, i) => {
    const text = DEFERRED.get(d)
    if (text === undefined) return d
    json.push(i)
    return text
  })
  return { decoders: out, json }
}

export class RowDecoder {
  private readonly names: string[]
  private readonly decoders: Decoder[]
  private readonly count: number
  private columns: ColumnBuilder | undefined
  /** Keys (object mode) or indexes (array mode) of the columns whose JSON parse is batched. */
  private readonly jsonKeys: (string | number)[] | undefined
  private readonly jsonFields: Field[] = []
  private pending: Record<string | number, unknown>[] = []
  private pendingChars = 0

  constructor(
    readonly fields: Field[],
    private readonly types: TypeMap,
    private readonly mode: RowMode,
  ) {
    this.count = fields.length
    this.names = fields.map((f) => f.name)
    const decoders = fields.map((f) => types.decoder(f.typeOid, f.format))
    if (mode === 'columns') {
      this.decoders = decoders
      this.columns = this.newColumns()
      return
    }
    const deferred = deferJson(decoders)
    this.decoders = deferred.decoders
    const keys = deferred.json.map((i) => (mode === 'array' ? i : this.names[i]!))
    for (const i of deferred.json) this.jsonFields.push(fields[i]!)
    if (mode === 'object') {
      this.makeRow = compileRowMaker(this.names)
      // Duplicate column names: the later column wins the key, so a JSON text
      // could hide under a non-JSON value. Such results parse at once.
      if (new Set(this.names).size !== this.names.length) {
        this.decoders = decoders
        return
      }
    }
    if (keys.length > 0) this.jsonKeys = keys
  }

  private readonly makeRow: RowMaker | undefined

  private newColumns(): ColumnBuilder {
    // int8 fills a BigInt64Array only when its decoder gives bigints.
    const int8AsBigInt = this.fields.map((f) => f.typeOid === 20 && typeof this.probeInt8(f.format) === 'bigint')
    // JSON columns keep the text until build(), which parses each in batches.
    const { decoders, json } = deferJson(this.decoders)
    return new ColumnBuilder(this.fields, decoders, int8AsBigInt, json, (values, i) => parseJsonColumn(values, this.fields[i]!))
  }

  private probeInt8(format: 0 | 1): unknown {
    const d = this.types.decoder(20, format)
    return format === 1 ? d(Buffer.alloc(8), 0, 8) : d(Buffer.from('0'), 0, 1)
  }

  /** In 'columns' mode: the columns gathered so far, and a fresh builder for the next result. */
  takeColumns(): Columns | undefined {
    if (this.columns === undefined) return undefined
    const out = this.columns.build()
    this.columns = this.newColumns()
    return out
  }

  /** Decodes one row; in 'columns' mode appends it to the columns and returns undefined. */
  decode(buf: Buffer, offsets: Int32Array): unknown {
    const n = this.count
    const decoders = this.decoders
    if (this.columns !== undefined) {
      this.columns.append(buf, offsets)
      return undefined
    }
    let row: Record<string | number, unknown>
    if (this.mode === 'array') {
      const out = new Array<unknown>(n)
      for (let i = 0; i < n; i++) {
        const start = offsets[2 * i]!
        out[i] = start === -1 ? null : decoders[i]!(buf, start, offsets[2 * i + 1]!)
      }
      // An array is indexed by number only; defer() reads it that way too.
      row = out as Record<number, unknown> as Record<string | number, unknown>
    } else if (this.makeRow !== undefined) row = this.makeRow(decoders, buf, offsets)
    else {
      const names = this.names
      row = {}
      for (let i = 0; i < n; i++) {
        const start = offsets[2 * i]!
        row[names[i]!] = start === -1 ? null : decoders[i]!(buf, start, offsets[2 * i + 1]!)
      }
    }
    if (this.jsonKeys !== undefined) this.defer(row, this.jsonKeys)
    return row
  }

  private defer(row: Record<string | number, unknown>, keys: (string | number)[]): void {
    let chars = 0
    for (let k = 0; k < keys.length; k++) {
      const text = row[keys[k]!] as string | null
      if (text !== null) chars += text.length + 1
    }
    if (chars > BATCH_MAX_VALUE) {
      for (let k = 0; k < keys.length; k++) {
        const text = row[keys[k]!] as string | null
        if (text === null) continue
        try {
          row[keys[k]!] = JSON.parse(text)
        } catch (err) {
          throw columnError(this.jsonFields[k]!, err)
        }
      }
      return
    }
    this.pending.push(row)
    this.pendingChars += chars
    if (this.pendingChars >= BATCH_CHARS || this.pending.length >= BATCH_ROWS) this.flush()
  }

  /** Parses the JSON values of the rows decoded so far. Call before handing rows out. */
  flush(): void {
    const rows = this.pending
    const keys = this.jsonKeys
    if (rows.length === 0 || keys === undefined) return
    this.pending = []
    this.pendingChars = 0
    let text = '['
    let first = true
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!
      for (let k = 0; k < keys.length; k++) {
        const v = row[keys[k]!] as string | null
        if (v === null) continue
        text += first ? v : ',' + v
        first = false
      }
    }
    if (first) return
    let values: unknown[]
    try {
      values = JSON.parse(text + ']') as unknown[]
    } catch {
      // The server checks json and jsonb, so this should not happen; parse one
      // by one so the error is the value's own.
      for (const row of rows) {
        for (let k = 0; k < keys.length; k++) {
          const key = keys[k]!
          if (row[key] === null) continue
          try {
            row[key] = JSON.parse(row[key] as string)
          } catch (err) {
            throw columnError(this.jsonFields[k]!, err)
          }
        }
      }
      return
    }
    let i = 0
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k]!
        if (row[key] !== null) row[key] = values[i++]
      }
    }
  }

  /** Forgets rows decoded for a result that will not be handed out (an error ended it). */
  discard(): void {
    this.pending = []
    this.pendingChars = 0
  }
}

/** Parses a column of JSON texts (nulls stay null) in batches, in place. */
function parseJsonColumn(values: unknown[], field: Field): void {
  let at = 0
  while (at < values.length) {
    const batch: number[] = []
    let chars = 0
    let text = '['
    for (; at < values.length && chars < BATCH_CHARS && batch.length < BATCH_ROWS; at++) {
      const v = values[at] as string | null
      if (v === null) continue
      if (v.length > BATCH_MAX_VALUE) {
        values[at] = parseOne(v, field)
        continue
      }
      text += batch.length === 0 ? v : ',' + v
      batch.push(at)
      chars += v.length + 1
    }
    if (batch.length === 0) continue
    let parsed: unknown[] | undefined
    try {
      parsed = JSON.parse(text + ']') as unknown[]
    } catch {
      // The server checks json and jsonb; parse one by one so the error is the value's own.
      for (const i of batch) values[i] = parseOne(values[i] as string, field)
      continue
    }
    for (let k = 0; k < batch.length; k++) values[batch[k]!] = parsed[k]
  }
}

function parseOne(text: string, field: Field): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    throw columnError(field, err)
  }
}

type RowMaker = (decoders: Decoder[], buf: Buffer, offsets: Int32Array) => Row

/**
 * A row builder compiled once per result shape: one object literal with the
 * column names as keys, so V8 builds every row with the same hidden class in
 * one go instead of growing an empty object key by key. Names are embedded
 * with JSON.stringify (valid JS string literals). A "__proto__" column would
 * set the prototype in a literal, so such results keep the loop.
 */
const makers = new Map<string, RowMaker>()
const MAKERS_LIMIT = 512

function compileRowMaker(names: readonly string[]): RowMaker | undefined {
  if (names.length === 0 || names.length > 200 || names.includes('__proto__')) return undefined
  // Compiling is far dearer than a row: reuse the builder for a shape seen before.
  const key = names.join('\u0000')
  let maker = makers.get(key)
  if (maker === undefined) {
    maker = compile(names)
    if (makers.size >= MAKERS_LIMIT) makers.clear()
    makers.set(key, maker)
  }
  return maker
}

function compile(names: readonly string[]): RowMaker {
  const props = names.map((name, i) => {
    const s = `o[${2 * i}]`
    return `${JSON.stringify(name)}: ${s} === -1 ? null : d[${i}](b, ${s}, o[${2 * i + 1}])`
  })
  return new Function('d', 'b', 'o', `return {${props.join(',\n')}}`) as RowMaker
}
