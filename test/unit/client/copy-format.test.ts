import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BinaryRowReader, binaryHeader, binaryTrailer, csvLine, CsvParser, formatOf, parseTextLine, textLine } from '../../../src/client/copy-format.js'
import { copyTarget } from '../../../src/client/copy-setup.js'

const value = fc.option(fc.string({ unit: 'grapheme' }), { nil: null })
const row = fc.array(value, { minLength: 1, maxLength: 6 })

describe('COPY text format', () => {
  it('round-trips any strings and NULLs through textLine/parseTextLine', () => {
    fc.assert(
      fc.property(row, fc.constantFrom('\t', ',', '|'), (values, d) => {
        const line = textLine(values, d)
        expect(line.endsWith('\n')).toBe(true)
        // Escaped newlines never appear raw inside a line.
        expect(line.slice(0, -1).includes('\n')).toBe(false)
        expect(parseTextLine(line.slice(0, -1), d)).toEqual(values)
      }),
      { numRuns: 500 },
    )
  })

  it('escapes the hostile cases', () => {
    expect(textLine(['a\tb', 'c\nd', 'e\\f', null, '\\N', '\\.'], '\t')).toBe('a\\tb\tc\\nd\te\\\\f\t\\N\t\\\\N\t\\\\.\n')
    expect(parseTextLine('\\x41\\101\\q', '\t')).toEqual(['AAq'])
  })
})

describe('COPY csv format', () => {
  it('round-trips any strings and NULLs, across arbitrary chunk boundaries', () => {
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 6 }), (rows, cuts) => {
        const width = rows[0]!.length
        const same = rows.map((r) => Array.from({ length: width }, (_, i) => r[i] ?? null))
        const text = same.map((r) => csvLine(r, ',')).join('')
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)
        const parser = new CsvParser(',')
        const out: (string | null)[][] = []
        let last = 0
        for (const p of [...points, text.length]) {
          out.push(...parser.push(text.slice(last, p)))
          last = p
        }
        out.push(...parser.end())
        expect(out).toEqual(same)
      }),
      { numRuns: 500 },
    )
  })

  it('keeps an empty string apart from NULL', () => {
    expect(csvLine(['', null, 'x"y'], ',')).toBe('"",,"x""y"\n')
  })
})

describe('COPY binary format', () => {
  it('reads rows written in the binary layout', () => {
    const field = (b: Buffer | null): Buffer => {
      const len = Buffer.alloc(4)
      len.writeInt32BE(b === null ? -1 : b.length)
      return b === null ? len : Buffer.concat([len, b])
    }
    const count = Buffer.alloc(2)
    count.writeInt16BE(2)
    const reader = new BinaryRowReader([(buf, s) => buf.readInt32BE(s), (buf, s, e) => buf.toString('utf8', s, e)])
    const int = Buffer.alloc(4)
    int.writeInt32BE(42)
    expect(reader.read(Buffer.concat([binaryHeader(), count, field(int), field(Buffer.from('hi'))]))).toEqual([42, 'hi'])
    expect(reader.read(Buffer.concat([count, field(null), field(Buffer.from(''))]))).toEqual([null, ''])
    expect(reader.read(binaryTrailer())).toBeNull()
    expect(() => new BinaryRowReader(undefined).read(Buffer.from('not binary copy data'))).toThrow(/signature/)
  })
})

describe('COPY statement parsing', () => {
  it('finds the format and delimiter', () => {
    expect(formatOf('copy t from stdin')).toEqual({ format: 'text', delimiter: '\t' })
    expect(formatOf('copy t from stdin (format csv)')).toEqual({ format: 'csv', delimiter: ',' })
    expect(formatOf("COPY t FROM STDIN WITH (FORMAT csv, DELIMITER ';')")).toEqual({ format: 'csv', delimiter: ';' })
    expect(formatOf('copy t to stdout (format binary)').format).toBe('binary')
    expect(formatOf('copy t from stdin binary').format).toBe('binary')
    expect(formatOf('copy binary_log from stdin').format).toBe('text')
  })

  it('finds the table or query to describe', () => {
    expect(copyTarget('copy t (a, b) from stdin')).toBe('select a, b from t')
    expect(copyTarget('COPY "My Table" FROM STDIN')).toBe('select * from "My Table"')
    expect(copyTarget('copy s.t to stdout (format binary)')).toBe('select * from s.t')
    expect(copyTarget('copy (select 1, (2)) to stdout')).toBe('select 1, (2)')
  })
})
