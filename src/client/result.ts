// What a query hands back, and the per-result decode plan: the decoder of
// each column is chosen once per RowDescription and reused for every row.

import type { FieldDescription } from '../protocol/messages.js'
import type { Decoder } from '../types/codec.js'
import type { TypeMap } from '../types/type-map.js'
import { ColumnBuilder, type Columns } from './columns.js'

export type Field = FieldDescription
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

export class RowDecoder {
  private readonly names: string[]
  private readonly decoders: Decoder[]
  private readonly count: number
  private columns: ColumnBuilder | undefined

  constructor(
    readonly fields: Field[],
    private readonly types: TypeMap,
    private readonly mode: RowMode,
  ) {
    this.count = fields.length
    this.names = fields.map((f) => f.name)
    this.decoders = fields.map((f) => types.decoder(f.typeOid, f.format))
    if (mode === 'columns') this.columns = this.newColumns()
    if (mode === 'object') this.makeRow = compileRowMaker(this.names)
  }

  private readonly makeRow: RowMaker | undefined

  private newColumns(): ColumnBuilder {
    // int8 fills a BigInt64Array only when its decoder gives bigints.
    const int8AsBigInt = this.fields.map((f) => f.typeOid === 20 && typeof this.probeInt8(f.format) === 'bigint')
    return new ColumnBuilder(this.fields, this.decoders, int8AsBigInt)
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
    if (this.mode === 'array') {
      const out = new Array<unknown>(n)
      for (let i = 0; i < n; i++) {
        const start = offsets[2 * i]!
        out[i] = start === -1 ? null : decoders[i]!(buf, start, offsets[2 * i + 1]!)
      }
      return out
    }
    if (this.makeRow !== undefined) return this.makeRow(decoders, buf, offsets)
    const names = this.names
    const row: Row = {}
    for (let i = 0; i < n; i++) {
      const start = offsets[2 * i]!
      row[names[i]!] = start === -1 ? null : decoders[i]!(buf, start, offsets[2 * i + 1]!)
    }
    return row
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
