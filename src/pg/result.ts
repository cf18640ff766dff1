// node-postgres's query result: own properties command, rowCount, oid, rows
// and fields (TypeORM checks hasOwnProperty('rows')), fields described as
// node-postgres describes them. The class also has pg's row-building API
// (addFields, parseRow, addCommandComplete), which pg-cursor uses through
// the `pg/lib/result.js` path the drop-in ships.

import type { Field as PglineField, Result as PglineResult } from '../types/result.js'
import { getTypeParser, type TypeSource } from './types.js'

export interface FieldDef {
  name: string
  tableID: number
  columnID: number
  dataTypeID: number
  dataTypeSize: number
  dataTypeModifier: number
  format: 'text' | 'binary'
}

export interface QueryResult<R = any> {
  command: string
  rowCount: number | null
  oid: number | null
  rows: R[]
  fields: FieldDef[]
}

export function fieldDef(f: PglineField): FieldDef {
  return {
    name: f.name,
    tableID: f.tableOid,
    columnID: f.columnId,
    dataTypeID: f.typeOid,
    dataTypeSize: f.typeSize,
    dataTypeModifier: f.typeModifier,
    format: f.format === 1 ? 'binary' : 'text',
  }
}

const textFieldDef = (f: PglineField): FieldDef => {
  const d = fieldDef(f)
  d.format = 'text'
  return d
}

type Parser = (value: any) => unknown

// A command tag: its word, then one number (rows) or two (an INSERT's oid, then rows).
const TAG = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/

export class Result<R = any> implements QueryResult<R> {
  command: string = null as unknown as string
  rowCount: number | null = null
  oid: number | null = null
  rows: R[] = []
  fields: FieldDef[] = []
  _parsers: Parser[] | undefined = undefined
  _types: TypeSource | undefined
  RowCtor = null
  rowAsArray: boolean

  /** As node-postgres's: an empty result that addFields/parseRow/addCommandComplete fill. */
  constructor(rowMode?: string, types?: TypeSource) {
    this._types = types
    this.rowAsArray = rowMode === 'array'
  }

  /** A result from pgline's own. */
  static of<R>(r: PglineResult<unknown> | undefined, rowAsArray: boolean): Result<R> {
    const out = new Result<R>(rowAsArray ? 'array' : undefined)
    if (r === undefined) return out
    // node-postgres names a command by the tag's first word ('CREATE', not
    // 'CREATE TABLE') and an INSERT's oid is 0 since PostgreSQL 12.
    const tag = r.command
    out.command = (tag ? tag.split(' ', 1)[0] : null) as string
    out.rowCount = r.rowCount
    out.oid = tag === 'INSERT' ? 0 : null
    out.rows = r.rows as R[]
    // 'text' whatever pgline asked for: node-postgres reports text formats, and decodes to the same values.
    out.fields = r.fields.map(textFieldDef)
    return out
  }

  addCommandComplete(msg: { text?: string; command?: string }): void {
    const tag = msg.text ?? msg.command ?? ''
    const m = TAG.exec(tag)
    if (m === null) return
    this.command = m[1]!
    if (m[3] !== undefined) {
      this.oid = parseInt(m[2]!, 10)
      this.rowCount = parseInt(m[3], 10)
    } else if (m[2] !== undefined) {
      this.rowCount = parseInt(m[2], 10)
    }
  }

  addFields(fields: FieldDef[]): void {
    this.fields = fields
    const parsers: Parser[] = new Array(fields.length)
    const types = this._types
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!
      const format = f.format === 'binary' ? 'binary' : 'text'
      parsers[i] = (types === undefined ? getTypeParser(f.dataTypeID, format) : types.getTypeParser(f.dataTypeID, format)) as Parser
    }
    this._parsers = parsers
  }

  /** One row from its raw values (text as strings, binary as Buffers, null for NULL). */
  parseRow(values: readonly unknown[]): R {
    const parsers = this._parsers ?? []
    if (this.rowAsArray) {
      const row: unknown[] = new Array(values.length)
      for (let i = 0; i < values.length; i++) row[i] = values[i] === null ? null : (parsers[i] ?? String)(values[i])
      return row as R
    }
    const row: Record<string, unknown> = {}
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      row[this.fields[i]!.name] = v === null ? null : (parsers[i] ?? String)(v)
    }
    return row as R
  }

  addRow(row: R): void {
    this.rows.push(row)
  }
}
