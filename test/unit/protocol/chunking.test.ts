// Decoding must not depend on how the byte stream is cut into chunks: every
// message (and a stream of several) split at every byte boundary, or fed one
// byte at a time, decodes to the same messages, and a strict prefix of a
// message gives null (more bytes needed) rather than an error.

import { describe, expect, it } from 'vitest'
import { Decoder } from '../../../src/protocol/decoder.js'
import type { BackendMessage } from '../../../src/protocol/messages.js'
import { encodeBackend, encodeBackendAll } from '../../support/backend-encoder.js'
import { fingerprint, SAMPLES } from './_samples.js'

function drain(d: Decoder, out: string[]): void {
  for (let m = d.next(); m !== null; m = d.next()) out.push(fingerprint(m))
}

/** Feeds `chunks` in order, draining after each, and returns the messages' fingerprints. */
function decodeChunks(chunks: Buffer[]): string[] {
  const d = new Decoder()
  const out: string[] = []
  for (const c of chunks) {
    d.push(c)
    drain(d, out)
  }
  expect(d.buffered).toBe(0)
  return out
}

function oneByteChunks(b: Buffer): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < b.length; i++) out.push(b.subarray(i, i + 1))
  return out
}

/** Every cut point for small inputs; for big ones the edges plus a stride through the middle. */
function cutPoints(len: number): number[] {
  if (len <= 4096) return Array.from({ length: len + 1 }, (_, i) => i)
  const s = new Set<number>()
  for (let i = 0; i <= 64; i++) {
    s.add(i)
    s.add(len - i)
  }
  for (let i = 0; i < len; i += 997) s.add(i)
  return [...s].sort((a, b) => a - b)
}

const small = SAMPLES.filter((m) => encodeBackend(m).length <= 4096)

describe('chunking', () => {
  it.each(SAMPLES.map((m, i) => [`${i} ${m.type}`, m] as const))('%s: split at every byte boundary', (_n, msg) => {
    const bytes = encodeBackend(msg)
    const want = [fingerprint(msg)]
    for (const cut of cutPoints(bytes.length)) {
      expect(decodeChunks([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(want)
    }
  })

  it.each(SAMPLES.map((m, i) => [`${i} ${m.type}`, m] as const))('%s: one byte at a time', (_n, msg) => {
    const bytes = encodeBackend(msg)
    expect(decodeChunks(oneByteChunks(bytes))).toEqual([fingerprint(msg)])
  })

  it.each(SAMPLES.map((m, i) => [`${i} ${m.type}`, m] as const))('%s: every strict prefix gives null', (_n, msg) => {
    const bytes = encodeBackend(msg)
    for (const cut of cutPoints(bytes.length)) {
      if (cut === bytes.length) continue
      const d = new Decoder()
      d.push(bytes.subarray(0, cut))
      expect(d.next()).toBeNull()
      expect(d.next()).toBeNull() // and stays null, without consuming anything
      expect(d.buffered).toBe(cut)
      // The rest completes it.
      d.push(bytes.subarray(cut))
      expect(fingerprint(d.next()!)).toEqual(fingerprint(msg))
      expect(d.next()).toBeNull()
    }
  })

  const stream = encodeBackendAll(small)
  const want = small.map(fingerprint)

  it(`a stream of ${small.length} messages (${stream.length} bytes) split at every byte boundary`, () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(decodeChunks([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(want)
    }
  })

  it('the stream split in three at many pairs of points', () => {
    const step = 7
    for (let a = 0; a <= stream.length; a += step) {
      for (let b = a; b <= stream.length; b += 13 * step) {
        expect(decodeChunks([stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)])).toEqual(want)
      }
    }
  })

  it('the stream one byte at a time', () => {
    expect(decodeChunks(oneByteChunks(stream))).toEqual(want)
  })

  it('the whole sample stream, big messages included, one byte at a time and in odd sizes', () => {
    const all = encodeBackendAll(SAMPLES)
    expect(decodeChunks(oneByteChunks(all))).toEqual(SAMPLES.map(fingerprint))
    for (const size of [2, 3, 5, 7, 4096, 65536]) {
      const chunks: Buffer[] = []
      for (let i = 0; i < all.length; i += size) chunks.push(all.subarray(i, i + size))
      expect(decodeChunks(chunks)).toEqual(SAMPLES.map(fingerprint))
    }
  })

  it('a prefix of the stream yields exactly the complete messages in it, then null', () => {
    const ends: number[] = []
    let pos = 0
    for (const m of small) {
      pos += encodeBackend(m).length
      ends.push(pos)
    }
    for (let cut = 0; cut < stream.length; cut++) {
      const d = new Decoder()
      d.push(stream.subarray(0, cut))
      const got: string[] = []
      drain(d, got)
      const complete = ends.filter((e) => e <= cut).length
      expect(got).toEqual(want.slice(0, complete))
      expect(d.buffered).toBe(cut - (complete === 0 ? 0 : ends[complete - 1]!))
    }
  })

  it('empty chunks are harmless', () => {
    const msg: BackendMessage = { type: 'CommandComplete', tag: 'SELECT 1' }
    const b = encodeBackend(msg)
    expect(decodeChunks([Buffer.alloc(0), b.subarray(0, 3), Buffer.alloc(0), b.subarray(3), Buffer.alloc(0)])).toEqual([
      fingerprint(msg),
    ])
  })
})

describe('chunking cost', () => {
  it('a 512 KiB message arriving in 1-byte chunks decodes in linear time', () => {
    // Regression: consumed chunks were dropped with Array#shift(), O(n) each,
    // so n tiny chunks cost O(n^2) (160 KB took ~16 s).
    const msg: BackendMessage = { type: 'CopyData', data: Buffer.alloc(512 * 1024, 0x2a) }
    const bytes = encodeBackend(msg)
    const d = new Decoder()
    const t0 = performance.now()
    let got: BackendMessage | null = null
    let early = 0
    for (let i = 0; i < bytes.length; i++) {
      d.push(bytes.subarray(i, i + 1))
      got = d.next()
      if (got !== null && i < bytes.length - 1) early++
    }
    expect(early).toBe(0)
    const ms = performance.now() - t0
    expect(got?.type).toBe('CopyData')
    expect(got?.type === 'CopyData' && got.data.equals(msg.data)).toBe(true)
    expect(ms).toBeLessThan(5000)
  })

  it('many small messages pushed as separate chunks before draining', () => {
    const one = encodeBackend({ type: 'CommandComplete', tag: 'X' })
    const d = new Decoder()
    const n = 200_000
    for (let i = 0; i < n; i++) d.push(one)
    const t0 = performance.now()
    let count = 0
    while (d.next() !== null) count++
    expect(count).toBe(n)
    expect(d.buffered).toBe(0)
    expect(performance.now() - t0).toBeLessThan(5000)
  })
})
