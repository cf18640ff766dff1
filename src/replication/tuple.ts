// TupleData: the column values of one row in an Insert, Update or Delete,
// decoded through the connection's TypeMap so a change row reads like a
// query row. The decoders of a relation are resolved once per format and
// kept until the relation or the TypeMap changes.
import type { Decoder } from '../types/codec.js'
import { DecodeError } from '../types/result.js'
import type { TypeMap } from '../types/type-map.js'
import { UNCHANGED_TOAST, type ChangeRow, type Relation, type RelationColumn } from './pgoutput-events.js'
import type { Reader } from './reader.js'

const NULL_VALUE = 0x6e // 'n'
const UNCHANGED = 0x75 // 'u'
const TEXT_VALUE = 0x74 // 't'
const BINARY_VALUE = 0x62 // 'b'

/** A cached relation and its decoders (text and binary, each resolved on first use). */
export class RelationEntry {
  decoders: [Decoder[] | undefined, Decoder[] | undefined] = [undefined, undefined]
  version = -1

  /** `decodeOids`: the type each column is decoded as (a domain's base type); the column's own by default. */
  constructor(
    readonly relation: Relation,
    readonly decodeOids: readonly number[] = relation.columns.map((c) => c.typeOid),
  ) {}
}

function decodersFor(entry: RelationEntry, types: TypeMap, format: 0 | 1): Decoder[] {
  if (entry.version !== types.version) {
    entry.decoders = [undefined, undefined]
    entry.version = types.version
  }
  return (entry.decoders[format] ??= entry.decodeOids.map((oid) => types.decoder(oid, format)))
}

/**
 * Reads one TupleData. With `keyOnly` (an old key, 'K') the server sends
 * every column but only the identity ones carry values; the NULLs standing
 * in for the others are left out, so the row holds just the key.
 */
export function readTuple(r: Reader, entry: RelationEntry, types: TypeMap, keyOnly: boolean): ChangeRow {
  const columns = entry.relation.columns
  const count = r.i16()
  if (count !== columns.length) {
    r.fail(`tuple has ${count} columns but relation ${qualifiedName(entry.relation)} (id ${entry.relation.id}) has ${columns.length}`)
  }
  const row: ChangeRow = {}
  for (let i = 0; i < count; i++) {
    const column = columns[i]!
    const kind = r.u8()
    let value: unknown
    switch (kind) {
      case NULL_VALUE:
        if (keyOnly && !column.isKey) continue
        value = null
        break
      case UNCHANGED:
        value = UNCHANGED_TOAST
        break
      case TEXT_VALUE:
      case BINARY_VALUE: {
        const length = r.i32()
        if (length < 0) r.fail(`column "${column.name}" has length ${length}`)
        const start = r.skip(length)
        const format = kind === BINARY_VALUE ? 1 : 0
        const decode = decodersFor(entry, types, format)[i]!
        try {
          value = decode(r.buf, start, start + length)
        } catch (err) {
          throw decodeError(entry.relation, column, format, err)
        }
        break
      }
      default:
        r.fail(`column "${column.name}" has unknown value kind ${JSON.stringify(String.fromCharCode(kind))}`)
    }
    setColumn(row, column.name, value)
  }
  return row
}

/** Assigns even a column named "__proto__", which plain assignment would take as the prototype. */
function setColumn(row: ChangeRow, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(row, name, { value, enumerable: true, writable: true, configurable: true })
  else row[name] = value
}

export function qualifiedName(relation: Relation): string {
  return `"${relation.namespace}"."${relation.name}"`
}

function decodeError(relation: Relation, column: RelationColumn, format: 0 | 1, err: unknown): DecodeError {
  const why = err instanceof Error ? err.message : String(err)
  return new DecodeError(
    `cannot decode column "${column.name}" of ${qualifiedName(relation)} (type oid ${column.typeOid}, ${format === 1 ? 'binary' : 'text'}): ${why}`,
    column.name,
    column.typeOid,
    { cause: err },
  )
}
