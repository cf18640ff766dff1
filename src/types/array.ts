// Array decoders, built once per (array type, format) from the element's
// decoder. Elements are decoded in place from the row buffer; only quoted
// elements containing backslash escapes are copied (unescaped) first.
import type { Decoder } from './codec.js'

const LBRACE = 0x7b
const RBRACE = 0x7d
const QUOTE = 0x22
const BACKSLASH = 0x5c
const LBRACKET = 0x5b
const EQUALS = 0x3d

// Where the last parse step stopped. Module state instead of a returned tuple
// avoids an allocation per element; every caller reads it immediately after
// the call, so a re-entrant element decoder cannot clobber a value in use.
let pos = 0

function malformed(why: string, buf?: Buffer, start = 0, end = 0): never {
  // Quote a bounded excerpt of the text literal: enough to recognise it, never megabytes.
  const excerpt = buf === undefined ? '' : `: ${buf.toString('utf8', start, Math.min(end, start + 100))}`
  throw new RangeError(`malformed array value (${why})${excerpt}`)
}

/** True for the characters array_in treats as whitespace. */
function isSpace(c: number | undefined): boolean {
  return c === 0x20 || (c !== undefined && c >= 0x09 && c <= 0x0d)
}

/**
 * Text array literal: `{1,2}`, nested `{{1,2},{3,4}}`, quoted elements with
 * backslash escapes, unquoted NULL (any case) for SQL NULL, and an optional
 * bounds prefix `[0:1]={...}`. JS arrays are 0-based, so bounds are dropped.
 */
export function makeTextArrayDecoder(element: Decoder, delimiter: number): Decoder {
  return (buf, start, end) => {
    let i = start
    if (buf[i] === LBRACKET) {
      while (i < end && buf[i] !== EQUALS) i++
      i++
    }
    while (isSpace(buf[i]) && i < end) i++
    if (i >= end || buf[i] !== LBRACE) malformed('expected "{"', buf, start, end)
    return parseTextLevel(buf, i, end, delimiter, element)
  }
}

/** Parses one `{...}` level starting at the brace at `i`; sets `pos` past its closing brace. */
function parseTextLevel(buf: Buffer, i: number, end: number, delim: number, element: Decoder): unknown[] {
  const out: unknown[] = []
  i++
  while (isSpace(buf[i]) && i < end) i++
  if (i < end && buf[i] === RBRACE) {
    pos = i + 1
    return out
  }
  for (;;) {
    while (isSpace(buf[i]) && i < end) i++
    if (i >= end) malformed('unexpected end')
    const c = buf[i]
    if (c === LBRACE) {
      out.push(parseTextLevel(buf, i, end, delim, element))
      i = pos
    } else if (c === QUOTE) {
      const s = ++i
      let escaped = false
      for (; i < end && buf[i] !== QUOTE; i++) {
        if (buf[i] === BACKSLASH) {
          escaped = true
          i++
        }
      }
      if (i >= end) malformed('unterminated quote', buf, s, end)
      out.push(escaped ? decodeUnescaped(buf, s, i, element) : element(buf, s, i))
      i++
    } else {
      const s = i
      let escaped = false
      for (let b = buf[i]; i < end && b !== delim && b !== RBRACE; b = buf[++i]) {
        if (b === BACKSLASH) {
          escaped = true
          i++
        }
      }
      let e = i
      while (e > s && isSpace(buf[e - 1])) e--
      if (e === s) malformed('empty unquoted element', buf, s, end)
      if (e - s === 4 && !escaped && isNull(buf, s)) out.push(null)
      else out.push(escaped ? decodeUnescaped(buf, s, e, element) : element(buf, s, e))
    }
    while (isSpace(buf[i]) && i < end) i++
    // Bytes past `end` belong to other columns: never read a brace from there.
    if (i >= end) malformed('unexpected end')
    const d = buf[i++]
    if (d === RBRACE) break
    if (d !== delim) malformed('expected delimiter or "}"', buf, i - 1, end)
  }
  pos = i
  return out
}

function isNull(buf: Buffer, s: number): boolean {
  // ASCII case-fold by OR-ing 0x20: 'NULL' and 'null' both read as 'null'.
  return (buf[s]! | 0x20) === 0x6e && (buf[s + 1]! | 0x20) === 0x75 && (buf[s + 2]! | 0x20) === 0x6c && (buf[s + 3]! | 0x20) === 0x6c
}

/** Drops the backslash of each `\x` pair into a fresh buffer, then decodes that. */
function decodeUnescaped(buf: Buffer, s: number, e: number, element: Decoder): unknown {
  const tmp = Buffer.allocUnsafe(e - s)
  let n = 0
  for (let i = s; i < e; i++) {
    if (buf[i] === BACKSLASH) i++
    tmp[n++] = buf[i]!
  }
  return element(tmp, 0, n)
}

/**
 * Binary array: int32 ndim, int32 has-null flag, int32 element OID, then
 * ndim (int32 length, int32 lower bound) pairs, then the elements in row-major
 * order, each an int32 byte length (-1 = NULL) followed by its bytes.
 */
export function makeBinaryArrayDecoder(element: Decoder): Decoder {
  return (buf, start, end) => {
    const ndim = buf.readInt32BE(start)
    if (ndim === 0) return []
    if (ndim < 0 || ndim > 6 || start + 12 + ndim * 8 > end) malformed(`bad dimension count ${ndim}`)
    const dims = new Array<number>(ndim)
    for (let d = 0; d < ndim; d++) dims[d] = buf.readInt32BE(start + 12 + d * 8)
    return parseBinaryLevel(buf, start + 12 + ndim * 8, end, dims, 0, element)
  }
}

function parseBinaryLevel(buf: Buffer, i: number, end: number, dims: number[], d: number, element: Decoder): unknown[] {
  const n = dims[d]!
  const out = new Array<unknown>(n)
  const last = d === dims.length - 1
  for (let k = 0; k < n; k++) {
    if (!last) {
      out[k] = parseBinaryLevel(buf, i, end, dims, d + 1, element)
      i = pos
      continue
    }
    if (i + 4 > end) malformed('truncated')
    const len = buf.readInt32BE(i)
    i += 4
    if (len < 0) {
      out[k] = null
    } else {
      if (i + len > end) malformed('truncated element')
      out[k] = element(buf, i, i + len)
      i += len
    }
  }
  pos = i
  return out
}
