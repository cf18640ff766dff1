// Shared helpers: decode a value placed in the middle of a larger buffer, so
// every test also checks that decoders honour [start, end) and never read
// outside it.
import { defaultTypeMap } from '../../../src/types/index.js'

const JUNK = Buffer.from('\x7f{"\\,9')

export function embed(bytes: Buffer | string): { buf: Buffer; start: number; end: number } {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes
  return { buf: Buffer.concat([JUNK, b, JUNK]), start: JUNK.length, end: JUNK.length + b.length }
}

/** Decodes `bytes` (a string means its UTF-8 text) with the default map. */
export function decode(oid: number, format: 0 | 1, bytes: Buffer | string): unknown {
  const { buf, start, end } = embed(bytes)
  return defaultTypeMap.decoder(oid, format)(buf, start, end)
}

export function int32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}

export function int16(n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeInt16BE(n)
  return b
}

/** Encodes with the typed encoder of `oid`, then decodes the result in the encoder's own format. */
export function roundTrip(oid: number, value: unknown): unknown {
  const e = defaultTypeMap.encoder(oid)
  if (e === undefined) throw new Error(`no encoder for ${oid}`)
  return decode(oid, e.format, e.encode(value, 0))
}

/** The ParameterError message (or the non-ParameterError thrown) of encoding `value` as `oid`. */
export function refusal(oid: number, value: unknown, index = 0): string {
  try {
    defaultTypeMap.encoder(oid)!.encode(value, index)
  } catch (err) {
    if (err instanceof Error && err.name === 'ParameterError') return err.message
    throw err
  }
  throw new Error(`expected ${String(value)} to be refused`)
}
