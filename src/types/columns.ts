// Columnar results (rowMode 'columns'): one array per column instead of one
// object per row. Integer and float columns fill typed arrays with a null
// mask, which is what analytics code and benchmark harnesses want to hand on.

import type { Decoder } from './codec.js'
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

const KIND_ARRAY = 0
const KIND_INT16 = 1
const KIND_INT32 = 2
const KIND_FLOAT32 = 3
const KIND_FLOAT64 = 4
const KIND_BIGINT64 = 5

function kindOf(col: Column): number {
  if (Array.isArray(col)) return KIND_ARRAY
  if (col instanceof Int16Array) return KIND_INT16
  if (col instanceof Int32Array) return KIND_INT32
  if (col instanceof Float32Array) return KIND_FLOAT32
  if (col instanceof Float64Array) return KIND_FLOAT64
  return KIND_BIGINT64
}

export class ColumnBuilder {
  private values: Column[]
  private nulls: (Uint8Array | null)[]
  private capacity = 64
  private readonly kinds: number[]
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
    this.kinds = this.values.map(kindOf)
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
    const kinds = this.kinds
    for (let i = 0; i < kinds.length; i++) {
      const start = offsets[2 * i]!
      const col = this.values[i]!
      if (start === -1) {
        const mask = this.nulls[i]
        if (mask) mask[row] = 1
        else (col as unknown[])[row] = null
        continue
      }
      const v = this.decoders[i]!(buf, start, offsets[2 * i + 1]!)
      // One store per kind of array, so each store site sees one kind
      // (a single site for all of them is megamorphic and several times slower).
      switch (kinds[i]) {
        case KIND_ARRAY:
          ;(col as unknown[])[row] = v
          break
        case KIND_INT32:
          ;(col as Int32Array)[row] = v as number
          break
        case KIND_FLOAT64:
          ;(col as Float64Array)[row] = v as number
          break
        case KIND_BIGINT64:
          ;(col as BigInt64Array)[row] = v as bigint
          break
        case KIND_INT16:
          ;(col as Int16Array)[row] = v as number
          break
        default:
          ;(col as Float32Array)[row] = v as number
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
