// The rows the copy-in workload loads, made once per workload before anything
// is timed and dropped after it: the same rows copy_src holds (data.ts), as
// JS arrays (a, b, c, d) = (int4, text, float8, timestamptz as a Date) and as
// CSV, in 64 KiB Buffers and in a file for psql's \copy.

import { writeFileSync } from 'node:fs'
import { COPY_EPOCH } from './data.js'

export type CopyRow = [number, string, number, Date]

export interface CopyData {
  rows: CopyRow[]
  csvChunks: Buffer[]
  csvBytes: number
  /** Writes the CSV to `file` (once) and returns it. */
  csvFile(file: string): string
}

let cached: { n: number; data: CopyData } | undefined

const CHUNK = 64 * 1024

function make(n: number): CopyData {
  const rows = new Array<CopyRow>(n)
  for (let k = 1; k <= n; k++) rows[k - 1] = [k, `name ${k}`, k * 0.25, new Date(COPY_EPOCH + k * 1000)]
  const csvChunks: Buffer[] = []
  let lines: string[] = []
  let size = 0
  let csvBytes = 0
  for (const [a, b, c, d] of rows) {
    const line = `${a},${b},${c},${d.toISOString()}\n`
    lines.push(line)
    size += line.length
    if (size >= CHUNK) {
      csvChunks.push(Buffer.from(lines.join('')))
      lines = []
      size = 0
    }
  }
  if (lines.length > 0) csvChunks.push(Buffer.from(lines.join('')))
  for (const c of csvChunks) csvBytes += c.length
  let written: string | undefined
  return {
    rows,
    csvChunks,
    csvBytes,
    csvFile(file) {
      if (written === undefined) {
        writeFileSync(file, Buffer.concat(csvChunks))
        written = file
      }
      return written
    },
  }
}

/** The n rows, made on first use and shared by every contender of the workload. */
export function copyData(n: number): CopyData {
  if (cached === undefined || cached.n !== n) cached = { n, data: make(n) }
  return cached.data
}

/** Lets the rows go (about 150 MB for a million) once the workload is over. */
export function dropCopyData(): void {
  cached = undefined
}
