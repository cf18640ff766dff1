// What a query hands back, and the per-result decode plan: the decoder of
// each column is chosen once per RowDescription and reused for every row.

import type { FieldDescription } from '../protocol/messages.js'
import type { Decoder } from '../types/codec.js'
import type { TypeMap } from '../types/type-map.js'

export type Field = FieldDescription
export type Row = Record<string, unknown>
export type RowMode = 'object' | 'array'

export interface Result<R = Row> {
  /** The command tag's verb: 'SELECT', 'INSERT', 'CREATE TABLE', ... ('' for an empty query). */
  command: string
  /** Rows affected or returned, when the command reports a count; null otherwise. */
  rowCount: number | null
  rows: R[]
  fields: Field[]
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

  constructor(
    readonly fields: Field[],
    types: TypeMap,
    private readonly mode: RowMode,
  ) {
    this.count = fields.length
    this.names = fields.map((f) => f.name)
    this.decoders = fields.map((f) => types.decoder(f.typeOid, f.format))
  }

  decode(buf: Buffer, offsets: Int32Array): unknown {
    const n = this.count
    const decoders = this.decoders
    if (this.mode === 'array') {
      const out = new Array<unknown>(n)
      for (let i = 0; i < n; i++) {
        const start = offsets[2 * i]!
        out[i] = start === -1 ? null : decoders[i]!(buf, start, offsets[2 * i + 1]!)
      }
      return out
    }
    const names = this.names
    const row: Row = {}
    for (let i = 0; i < n; i++) {
      const start = offsets[2 * i]!
      row[names[i]!] = start === -1 ? null : decoders[i]!(buf, start, offsets[2 * i + 1]!)
    }
    return row
  }
}
