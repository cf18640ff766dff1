// node-postgres's query result: own properties command, rowCount, oid, rows
// and fields (TypeORM checks hasOwnProperty('rows')), fields described as
// node-postgres describes them.

import type { Field as PglineField, Result as PglineResult } from '../types/result.js'

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

function fieldDef(f: PglineField): FieldDef {
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

export class Result<R = any> implements QueryResult<R> {
  command: string
  rowCount: number | null
  oid: number | null
  rows: R[]
  fields: FieldDef[]
  rowAsArray: boolean

  constructor(r: PglineResult<unknown> | undefined, rowAsArray = false) {
    // node-postgres names a command by the tag's first word ('CREATE', not
    // 'CREATE TABLE'), has null for an empty query, and an INSERT's oid is 0 since PostgreSQL 12.
    const tag = r?.command
    this.command = (tag ? tag.split(' ', 1)[0] : null) as string
    this.rowCount = r === undefined ? null : r.rowCount
    this.oid = r?.command === 'INSERT' ? 0 : null
    this.rows = (r?.rows ?? []) as R[]
    this.fields = r === undefined ? [] : r.fields.map(fieldDef)
    this.rowAsArray = rowAsArray
  }
}
