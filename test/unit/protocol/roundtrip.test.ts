// Every backend message variant, encoded by the test encoder and decoded by
// src/protocol/decoder.ts, comes back equal.

import { describe, expect, it } from 'vitest'
import { Decoder } from '../../../src/protocol/decoder.js'
import type { BackendMessage } from '../../../src/protocol/messages.js'
import { dataRow, dataRowText, dataRowValues, encodeBackend, encodeBackendAll } from '../../support/backend-encoder.js'
import { ALL_TYPES, normalize, SAMPLES } from './_samples.js'

function decodeAll(bytes: Buffer): BackendMessage[] {
  const d = new Decoder()
  d.push(bytes)
  const out: BackendMessage[] = []
  for (let m = d.next(); m !== null; m = d.next()) out.push(m)
  expect(d.buffered).toBe(0)
  return out
}

describe('backend round trip', () => {
  it('samples cover every BackendMessage variant', () => {
    expect(new Set(SAMPLES.map((m) => m.type))).toEqual(new Set(ALL_TYPES))
  })

  it.each(SAMPLES.map((m, i) => [`${i} ${m.type}`, m] as const))('%s', (_name, msg) => {
    const bytes = encodeBackend(msg)
    // Framing: type byte, then a length that counts itself and the body.
    expect(bytes.readInt32BE(1)).toBe(bytes.length - 1)
    const decoded = decodeAll(bytes)
    expect(decoded).toHaveLength(1)
    expect(normalize(decoded[0]!)).toEqual(normalize(msg))
  })

  it('a stream of every sample decodes in order', () => {
    const decoded = decodeAll(encodeBackendAll(SAMPLES))
    expect(decoded.map(normalize)).toEqual(SAMPLES.map(normalize))
  })

  it('DataRow columns are byte slices of the received buffer; NULL is -1', () => {
    const [m] = decodeAll(encodeBackend(dataRow(['ab', null, '', Buffer.from([0xff])])))
    if (m?.type !== 'DataRow') throw new Error('expected a DataRow')
    expect(Array.from(m.offsets.subarray(2, 4))).toEqual([-1, -1])
    expect(m.offsets[4]).toBe(m.offsets[5]) // '' is empty, not NULL
    expect(dataRowValues(m)).toEqual([Buffer.from('ab'), null, Buffer.alloc(0), Buffer.from([0xff])])
    expect(dataRowText(m).slice(0, 3)).toEqual(['ab', null, ''])
  })

  it('copied fields outlive the received buffer (CopyData, BackendKeyData, SASL data)', () => {
    const msgs: BackendMessage[] = [
      { type: 'CopyData', data: Buffer.from('row') },
      { type: 'BackendKeyData', processId: 7, secretKey: Buffer.from([1, 2, 3, 4]) },
      { type: 'AuthenticationSASLContinue', data: Buffer.from('r=x') },
    ]
    const bytes = encodeBackendAll(msgs)
    const decoded = decodeAll(bytes)
    bytes.fill(0) // the driver reuses or drops receive buffers
    expect(decoded.map(normalize)).toEqual(msgs.map(normalize))
  })
})
