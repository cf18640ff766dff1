// The connection's decoder hands out one DataRow object, refilled per row.
// Whatever the rows' widths (0 columns, many, NULLs, a wide row after a
// narrow one that must grow the offset table) and however the bytes are cut,
// each row read before the next next() must equal what a fresh-object
// decoder gives for the same bytes.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Decoder } from '../../../src/protocol/decoder.js'
import { dataRow, encodeBackendAll } from '../../support/backend-encoder.js'
import { fingerprint } from './_samples.js'

const value = fc.oneof(fc.constant(null), fc.string({ maxLength: 12 }), fc.uint8Array({ maxLength: 8 }))
const row = fc.array(value, { maxLength: 40 })

function decodeAll(bytes: Buffer, cuts: number[], reuse: boolean): { prints: string[]; objects: Set<unknown> } {
  const d = new Decoder({ reuseDataRows: reuse })
  const prints: string[] = []
  const objects = new Set<unknown>()
  let from = 0
  for (const at of [...cuts, bytes.length]) {
    d.push(bytes.subarray(from, at))
    from = at
    for (let m = d.next(); m !== null; m = d.next()) {
      prints.push(fingerprint(m))
      if (m.type === 'DataRow') objects.add(m)
    }
  }
  return { prints, objects }
}

describe('Decoder with reuseDataRows', () => {
  it('gives the same rows as fresh objects, through one refilled object', () => {
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 30 }), fc.array(fc.nat(), { maxLength: 6 }), (rows, rawCuts) => {
        const bytes = encodeBackendAll([...rows.map((r) => dataRow(r)), { type: 'CommandComplete', tag: 'SELECT 1' }])
        const cuts = [...new Set(rawCuts.map((c) => c % bytes.length))].sort((a, b) => a - b)
        const fresh = decodeAll(bytes, cuts, false)
        const reused = decodeAll(bytes, cuts, true)
        expect(reused.prints).toEqual(fresh.prints)
        expect(fresh.objects.size).toBe(rows.length)
        expect(reused.objects.size).toBe(1)
      }),
      { numRuns: 300 },
    )
  })

  it('shrinks the offset table view for a narrower row after a wide one', () => {
    const d = new Decoder({ reuseDataRows: true })
    d.push(encodeBackendAll([dataRow(Array.from({ length: 100 }, (_, i) => String(i))), dataRow(['a', null])]))
    const wide = d.next()
    expect(wide?.type === 'DataRow' && wide.offsets.length).toBe(200)
    const narrow = d.next()
    expect(narrow?.type === 'DataRow' && narrow.offsets.length).toBe(4)
    expect(narrow?.type === 'DataRow' && narrow.offsets[2]).toBe(-1)
  })
})
