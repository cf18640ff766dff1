// Multirange types -> arrays of PgRange (an empty multirange is []), each
// range decoded by the range type's codec.
import type { Decoder, ParamEncoder } from './codec.js'
import { makeEncoder, refuse, hasNul, NUL_REFUSAL, isWellFormed, LONE_SURROGATE_REFUSAL, type TypedEncoder } from './param.js'

/** Binary: int32 count, then each range as int32 length + the range's binary value. */
export function makeBinaryMultirangeDecoder(range: Decoder): Decoder {
  return (buf, start, end) => {
    const n = buf.readInt32BE(start)
    const out = new Array<unknown>(n)
    let i = start + 4
    for (let k = 0; k < n; k++) {
      const len = buf.readInt32BE(i)
      if (len < 0 || i + 4 + len > end) throw new RangeError('malformed multirange value (truncated)')
      out[k] = range(buf, i + 4, i + 4 + len)
      i += 4 + len
    }
    return out
  }
}

/** Text: `{` range literals separated by `,` `}`; each range ends at its `]` or `)` outside quotes. */
export function makeTextMultirangeDecoder(range: Decoder): Decoder {
  return (buf, start, end) => {
    let i = skipSpace(buf, start, end)
    if (buf[i] !== 0x7b) malformed(buf, start, end)
    const out: unknown[] = []
    i = skipSpace(buf, i + 1, end)
    if (buf[i] === 0x7d) return out
    for (;;) {
      const s = i
      // A bracketed range ends at its closing bracket outside quotes; 'empty' at the delimiter.
      const bracketed = buf[i] === 0x5b || buf[i] === 0x28
      let inQuote = false
      for (; i < end; i++) {
        const c = buf[i]!
        if (c === 0x5c) i++
        else if (c === 0x22) inQuote = !inQuote
        else if (inQuote) continue
        else if (bracketed && (c === 0x5d || c === 0x29)) {
          i++
          break
        } else if (!bracketed && (c === 0x2c || c === 0x7d)) break
      }
      out.push(range(buf, s, i))
      i = skipSpace(buf, i, end)
      const c = buf[i++]
      if (i > end) malformed(buf, start, end)
      if (c === 0x7d) return out
      if (c !== 0x2c) malformed(buf, start, end)
      i = skipSpace(buf, i, end)
    }
  }
}

function skipSpace(buf: Buffer, i: number, end: number): number {
  while (i < end && (buf[i] === 0x20 || (buf[i]! >= 0x09 && buf[i]! <= 0x0d))) i++
  return i
}

function malformed(buf: Buffer, start: number, end: number): never {
  throw new RangeError(`malformed multirange value: ${buf.toString('utf8', start, Math.min(end, start + 100))}`)
}

/** A JS array of ranges (PgRange or range-shaped objects), or a multirange literal string. */
export function makeMultirangeEncoder(range: ParamEncoder, oid: number, type: string, parseText: Decoder): TypedEncoder {
  const binary = range.format === 1
  return makeEncoder(
    oid,
    type,
    range.format,
    (value, index) => {
      if (typeof value === 'string') {
        if (hasNul(value)) return NUL_REFUSAL
        if (!binary) return value
        // Parsed back from UTF-8 bytes, which would hold U+FFFD for a lone surrogate.
        if (!isWellFormed(value)) return LONE_SURROGATE_REFUSAL
        const bytes = Buffer.from(value, 'utf8')
        try {
          value = parseText(bytes, 0, bytes.length)
        } catch (err) {
          return refuse(err instanceof Error ? err.message : String(err))
        }
      }
      if (!Array.isArray(value)) return undefined
      if (value.some((r) => r === null || r === undefined)) return refuse('a multirange cannot contain NULL')
      if (!binary) return '{' + value.map((r) => range.encode(r, index) as string).join(',') + '}'
      const parts = value.map((r) => range.encode(r, index) as Buffer)
      const out = Buffer.allocUnsafe(4 + parts.reduce((n, p) => n + 4 + p.length, 0))
      out.writeInt32BE(parts.length, 0)
      let o = 4
      for (const p of parts) {
        out.writeInt32BE(p.length, o)
        o += 4 + p.copy(out, o + 4)
      }
      return out
    },
    true,
  )
}
