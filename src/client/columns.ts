// Columnar results (rowMode 'columns'): one array per column instead of one
// object per row. Integer and float columns fill typed arrays with a null
// mask, which is what analytics code and benchmark harnesses want to hand on.

import type { Decoder } from '../types/codec.js'
import type { Field } from './result.js'

export type Column = unknown[] | Int16Array | Int32Array | Float32Array | Float64Array | BigInt64Array

export interface Columns {
  names: string[]
  /** One entry per field, in order. */
  values: Column[]
  /** For typed-array columns: 1 where the value is NULL (the array holds 0 there). null for plain arrays, which hold null. */
  nulls: (Uint8Array | null)[]
  length: number
}

type TypedCtor = Int16ArrayConstructor | Int32ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor | BigInt64ArrayConstructor

// int2, int4, int8, float4, float8
const TYPED: Record<number, TypedCtor> = { 21: Int16Array, 23: Int32Array, 20: BigInt64Array, 700: Float32Array, 701: Float64Array }

export class ColumnBuilder {
  private values: Column[]
  private nulls: (Uint8Array | null)[]
  private capacity = 64
  length = 0

  constructor(
    private readonly fields: Field[],
    private readonly decoders: Decoder[],
    private readonly int8AsBigInt: boolean[],
    /** Columns whose decoders give JSON text, parsed (in batches) by `parseJson` at build(). */
    private readonly jsonColumns: readonly number[] = [],
    private readonly parseJson: (values: unknown[], index: number) => void = () => undefined,
  ) {
    this.values = fields.map((f, i) => this.make(f.typeOid, i, this.capacity))
    this.nulls = fields.map((f, i) => (this.typed(f.typeOid, i) ? new Uint8Array(this.capacity) : null))
  }

  private typed(oid: number, i: number): TypedCtor | undefined {
    const ctor = TYPED[oid]
    // An int8 column whose decoder was configured to give strings or numbers stays a plain array.
    if (ctor === BigInt64Array && !this.int8AsBigInt[i]) return undefined
    return ctor
  }

  private make(oid: number, i: number, n: number): Column {
    const ctor = this.typed(oid, i)
    return ctor ? new ctor(n) : []
  }

  private grow(): void {
    const next = this.capacity * 2
    this.values = this.values.map((col) => {
      if (Array.isArray(col)) return col
      const bigger = new (col.constructor as TypedCtor)(next)
      ;(bigger as Int32Array).set(col as Int32Array)
      return bigger
    })
    this.nulls = this.nulls.map((m) => {
      if (m === null) return null
      const bigger = new Uint8Array(next)
      bigger.set(m)
      return bigger
    })
    this.capacity = next
  }

  append(buf: Buffer, offsets: Int32Array): void {
    if (this.length === this.capacity) this.grow()
    const row = this.length++
    for (let i = 0; i < this.decoders.length; i++) {
      const start = offsets[2 * i]!
      const col = this.values[i]!
      if (start === -1) {
        const mask = this.nulls[i]
        if (mask) mask[row] = 1
        else (col as unknown[])[row] = null
      } else {
        ;(col as unknown[])[row] = this.decoders[i]!(buf, start, offsets[2 * i + 1]!)
      }
    }
  }

  build(): Columns {
    const n = this.length
    for (const i of this.jsonColumns) this.parseJson(this.values[i] as unknown[], i)
    return {
      names: this.fields.map((f) => f.name),
      values: this.values.map((c) => (Array.isArray(c) ? c : (c as Int32Array).subarray(0, n))),
      nulls: this.nulls.map((m) => (m === null ? null : m.subarray(0, n))),
      length: n,
    }
  }
}
