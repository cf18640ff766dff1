// Array parameters, built from the element type's encoder: the binary array
// format when the element encodes to binary, a text literal otherwise.
// Nested JS arrays are dimensions and must be rectangular, as PostgreSQL
// arrays are; lower bounds are always 1.
import type { Decoder, ParamEncoder } from './codec.js'
import { makeEncoder, quote, refuse, type Refusal, type TypedEncoder, hasNul, NUL_REFUSAL, isWellFormed, LONE_SURROGATE_REFUSAL } from './param.js'

/** PostgreSQL's MAXDIM; deeper nesting is an error there, and here it also stops cyclic arrays. */
const MAX_DIMS = 6

export interface ArraySpec {
  arrayOid: number
  elementOid: number
  type: string
  delimiter: string
  /** Parses a text literal into nested arrays of element strings (for binary re-encoding of string input). */
  parseText: Decoder
}

export function makeArrayEncoder(element: ParamEncoder, spec: ArraySpec): TypedEncoder {
  const takesArrays = (element as Partial<TypedEncoder>).takesArrays === true
  const binary = element.format === 1
  return makeEncoder(spec.arrayOid, spec.type, element.format, (value, index) => {
    if (typeof value === 'string') {
      if (hasNul(value)) return NUL_REFUSAL
      // A text literal suits a text array as is; a binary one needs its elements.
      if (!binary) return value
      // Parsed back from UTF-8 bytes, which would hold U+FFFD for a lone surrogate.
      if (!isWellFormed(value)) return LONE_SURROGATE_REFUSAL
      const bytes = Buffer.from(value, 'utf8')
      try {
        value = spec.parseText(bytes, 0, bytes.length)
      } catch (err) {
        return refuse(err instanceof Error ? err.message : String(err))
      }
    }
    if (!Array.isArray(value)) return undefined
    const dims = shape(value, takesArrays)
    if (!Array.isArray(dims)) return dims
    if (binary) return encodeBinary(value, dims, element, spec.elementOid, index)
    return encodeText(value, dims.length, 0, element, spec.delimiter, index)
  })
}

/** The dimension lengths, after checking that the nesting is rectangular. */
function shape(value: unknown[], takesArrays: boolean): number[] | Refusal {
  const dims: number[] = []
  let v: unknown = value
  while (Array.isArray(v)) {
    if (dims.length === MAX_DIMS) return refuse(`arrays nested more than ${MAX_DIMS} deep`)
    dims.push(v.length)
    if (v.length === 0 || takesArrays) break
    v = v[0]
  }
  return checkLevel(value, dims, 0, takesArrays) ?? dims
}

const RAGGED = refuse('sub-arrays of a multidimensional array must all have the same length')

function checkLevel(items: unknown[], dims: number[], d: number, takesArrays: boolean): Refusal | undefined {
  if (items.length !== dims[d]) return RAGGED
  const last = d === dims.length - 1
  for (const item of items) {
    if (last) {
      // An array where an element belongs: deeper than the first element said.
      if (Array.isArray(item) && !takesArrays) return RAGGED
    } else {
      if (!Array.isArray(item)) return item === null || item === undefined ? refuse('a sub-array cannot be NULL') : RAGGED
      const r = checkLevel(item, dims, d + 1, takesArrays)
      if (r !== undefined) return r
    }
  }
  return undefined
}

function encodeText(items: unknown[], ndim: number, d: number, element: ParamEncoder, delim: string, index: number): string {
  let s = '{'
  for (let k = 0; k < items.length; k++) {
    if (k > 0) s += delim
    const item = items[k]
    if (item === null || item === undefined) s += 'NULL'
    else if (d < ndim - 1) s += encodeText(item as unknown[], ndim, d + 1, element, delim, index)
    else s += quote(element.encode(item, index) as string)
  }
  return s + '}'
}

/**
 * int32 ndim, int32 has-nulls, uint32 element OID, ndim (int32 length, int32
 * lower bound) pairs, then each element as int32 length (-1 = NULL) + bytes.
 */
function encodeBinary(value: unknown[], dims: number[], element: ParamEncoder, elementOid: number, index: number): Buffer {
  const empty = dims.includes(0)
  const ndim = empty ? 0 : dims.length
  const parts: Array<Buffer | null> = []
  if (!empty) collect(value, ndim, 0, element, index, parts)
  let size = 12 + 8 * ndim
  let hasNull = 0
  for (const p of parts) {
    size += 4 + (p === null ? 0 : p.length)
    if (p === null) hasNull = 1
  }
  const out = Buffer.allocUnsafe(size)
  out.writeInt32BE(ndim, 0)
  out.writeInt32BE(hasNull, 4)
  out.writeUInt32BE(elementOid, 8)
  let o = 12
  for (let d = 0; d < ndim; d++, o += 8) {
    out.writeInt32BE(dims[d]!, o)
    out.writeInt32BE(1, o + 4)
  }
  for (const p of parts) {
    if (p === null) {
      out.writeInt32BE(-1, o)
      o += 4
    } else {
      out.writeInt32BE(p.length, o)
      o += 4 + p.copy(out, o + 4)
    }
  }
  return out
}

function collect(items: unknown[], ndim: number, d: number, element: ParamEncoder, index: number, out: Array<Buffer | null>): void {
  for (const item of items) {
    if (item === null || item === undefined) out.push(null)
    else if (d < ndim - 1) collect(item as unknown[], ndim, d + 1, element, index, out)
    else out.push(element.encode(item, index) as Buffer)
  }
}
