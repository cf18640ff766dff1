// COPY data formats, apart from COPY I/O: rows to bytes for COPY FROM and
// bytes to rows for COPY TO, in text, csv and binary. Pure functions and
// small classes, so every escaping rule is a unit test.

import { InterfaceError, ProtocolError } from '../errors/base.js'
import type { Decoder } from '../types/codec.js'

export type CopyFormat = 'text' | 'csv' | 'binary'

export interface CopyFormatOptions {
  format: CopyFormat
  /** One character; default tab for text, comma for csv. */
  delimiter: string
}

/** Reads FORMAT and DELIMITER from a COPY statement (the defaults otherwise). */
export function formatOf(sql: string): CopyFormatOptions {
  const named = /\bformat\s+(text|csv|binary)\b/i.exec(sql)?.[1]?.toLowerCase()
  const format = (named ?? (/\bbinary\b/i.test(sql) ? 'binary' : /\bcsv\b/i.test(sql) ? 'csv' : 'text')) as CopyFormat
  const d = /\bdelimiter\s+(?:as\s+)?'(''|[^'])'/i.exec(sql)?.[1]
  return { format, delimiter: d === "''" ? "'" : (d ?? (format === 'csv' ? ',' : '\t')) }
}

export const BINARY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')

/** The 19-byte header of binary COPY data: signature, flags, header extension length. */
export function binaryHeader(): Buffer {
  const b = Buffer.alloc(19)
  BINARY_SIGNATURE.copy(b, 0)
  return b
}

/** The trailer of binary COPY data: a field count of -1. */
export function binaryTrailer(): Buffer {
  return Buffer.from([0xff, 0xff])
}

// ---------------------------------------------------------------------------
// text format

/** Escapes one value for COPY text format (backslash, delimiter, newlines). */
export function escapeText(s: string, delimiter: string): string {
  let needs = false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 92 || c === 10 || c === 13 || c === 9 || s[i] === delimiter) {
      needs = true
      break
    }
  }
  if (!needs) return s
  let out = ''
  for (const ch of s) {
    if (ch === '\\') out += '\\\\'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (ch === delimiter) out += '\\' + ch
    else out += ch
  }
  return out
}

/** One text-format line (with its newline); null is \N. */
export function textLine(values: readonly (string | null)[], delimiter: string): string {
  let line = ''
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += delimiter
    const v = values[i]
    line += v === null || v === undefined ? '\\N' : escapeText(v, delimiter)
  }
  return line + '\n'
}

/** Splits one text-format line (without its newline) into raw values; null for \N. */
export function parseTextLine(line: string, delimiter: string): (string | null)[] {
  const out: (string | null)[] = []
  let cur = ''
  let raw = ''
  for (let i = 0; i <= line.length; i++) {
    const ch = line[i]
    if (ch === undefined || ch === delimiter) {
      out.push(raw === '\\N' ? null : cur)
      cur = ''
      raw = ''
      continue
    }
    if (ch === '\\' && i + 1 < line.length) {
      const n = line[i + 1]!
      raw += ch + n
      i++
      switch (n) {
        case 'b':
          cur += '\b'
          break
        case 'f':
          cur += '\f'
          break
        case 'n':
          cur += '\n'
          break
        case 'r':
          cur += '\r'
          break
        case 't':
          cur += '\t'
          break
        case 'v':
          cur += '\v'
          break
        case 'x': {
          const m = /^[0-9a-fA-F]{1,2}/.exec(line.slice(i + 1))
          if (m) {
            cur += String.fromCharCode(parseInt(m[0], 16))
            raw += m[0]
            i += m[0].length
          } else cur += 'x'
          break
        }
        default:
          if (n >= '0' && n <= '7') {
            const m = /^[0-7]{1,3}/.exec(line.slice(i))!
            cur += String.fromCharCode(parseInt(m[0], 8))
            raw += m[0].slice(1)
            i += m[0].length - 1
          } else cur += n
      }
      continue
    }
    cur += ch
    raw += ch
  }
  return out
}

// ---------------------------------------------------------------------------
// csv format (QUOTE '"', ESCAPE '"', NULL as an unquoted empty field)

/** One csv line; every non-null value is quoted, so '' and NULL stay apart and \. cannot end the data. */
export function csvLine(values: readonly (string | null)[], delimiter: string): string {
  let line = ''
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += delimiter
    const v = values[i]
    if (v === null || v === undefined) continue
    line += '"' + (v.includes('"') ? v.replace(/"/g, '""') : v) + '"'
  }
  return line + '\n'
}

/**
 * Splits csv text into rows of raw values (null for an unquoted empty
 * field). Quoted fields may hold newlines, so this works on whole chunks
 * and keeps an incomplete last row for the next call.
 */
export class CsvParser {
  private pending = ''

  constructor(private readonly delimiter: string) {}

  push(text: string): (string | null)[][] {
    const s = this.pending + text
    const rows: (string | null)[][] = []
    let row: (string | null)[] = []
    let field = ''
    let quoted = false
    let wasQuoted = false
    let rowStart = 0
    let i = 0
    while (i < s.length) {
      const ch = s[i]!
      if (quoted) {
        if (ch === '"') {
          if (s[i + 1] === '"') {
            field += '"'
            i += 2
            continue
          }
          if (i + 1 >= s.length) break // cannot tell yet whether a quote follows
          quoted = false
          i++
          continue
        }
        field += ch
        i++
        continue
      }
      if (ch === '"') {
        quoted = true
        wasQuoted = true
        i++
      } else if (ch === this.delimiter) {
        row.push(field === '' && !wasQuoted ? null : field)
        field = ''
        wasQuoted = false
        i++
      } else if (ch === '\n' || ch === '\r') {
        row.push(field === '' && !wasQuoted ? null : field)
        rows.push(row)
        row = []
        field = ''
        wasQuoted = false
        i += ch === '\r' && s[i + 1] === '\n' ? 2 : 1
        rowStart = i
      } else {
        field += ch
        i++
      }
    }
    this.pending = s.slice(rowStart)
    return rows
  }

  /** Rows left at the end of the data (a last line without a newline). */
  end(): (string | null)[][] {
    if (this.pending === '') return []
    const rest = this.pending
    this.pending = ''
    const rows = this.push(rest + '\n')
    if (this.pending !== '') throw new ProtocolError('csv data ends inside a quoted field')
    return rows
  }
}

// ---------------------------------------------------------------------------
// binary format

/** Reads rows out of binary COPY data, one CopyData message at a time. */
export class BinaryRowReader {
  private headerSeen = false
  private done = false

  constructor(private readonly decoders: Decoder[] | undefined) {}

  /** Returns the row in `chunk` (the server sends one row per message), or null for the header-only or trailer message. */
  read(chunk: Buffer): unknown[] | null {
    let pos = 0
    if (!this.headerSeen) {
      if (chunk.length < 19 || !chunk.subarray(0, 11).equals(BINARY_SIGNATURE)) throw new ProtocolError('binary COPY data without its signature')
      const extension = chunk.readInt32BE(15)
      pos = 19 + extension
      this.headerSeen = true
      if (pos >= chunk.length) return null
    }
    if (this.done) return null
    const count = chunk.readInt16BE(pos)
    pos += 2
    if (count === -1) {
      this.done = true
      return null
    }
    const row = new Array<unknown>(count)
    for (let i = 0; i < count; i++) {
      const len = chunk.readInt32BE(pos)
      pos += 4
      if (len === -1) {
        row[i] = null
        continue
      }
      const d = this.decoders?.[i]
      row[i] = d ? d(chunk, pos, pos + len) : Buffer.from(chunk.subarray(pos, pos + len))
      pos += len
    }
    return row
  }
}

/** A column count check shared by every writeRow format. */
export function checkRowLength(row: readonly unknown[], expected: number): void {
  if (!Array.isArray(row)) throw new InterfaceError(`writeRow expects an array of values, got ${typeof row}`)
  if (row.length !== expected) {
    throw new InterfaceError(`writeRow got ${row.length} value${row.length === 1 ? '' : 's'} but the COPY has ${expected} column${expected === 1 ? '' : 's'}`)
  }
}
