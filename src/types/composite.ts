// Composite (row) types, enums and domains, registered once their catalog
// entries are known (the client loads them by name). A composite decodes to
// an object keyed by attribute name, each attribute by its own codec.

import { ParameterError } from '../errors/base.js'
import type { Decoder } from './codec.js'
import type { TypeMap } from './type-map.js'

export interface CompositeAttribute {
  name: string
  typeOid: number
}

/** Splits a record literal `(a,"b c",)` into raw field texts; null for an empty (NULL) field. */
export function parseRecord(text: string): (string | null)[] {
  if (text[0] !== '(' || text[text.length - 1] !== ')') throw new RangeError(`malformed record literal: ${text.slice(0, 40)}`)
  const out: (string | null)[] = []
  let i = 1
  const end = text.length - 1
  for (;;) {
    let field = ''
    let any = false
    while (i < end && text[i] !== ',') {
      const ch = text[i]!
      any = true
      if (ch === '"') {
        i++
        while (i < end) {
          const c = text[i]!
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"'
              i += 2
              continue
            }
            i++
            break
          }
          if (c === '\\') {
            field += text[i + 1] ?? ''
            i += 2
            continue
          }
          field += c
          i++
        }
      } else if (ch === '\\') {
        field += text[i + 1] ?? ''
        i += 2
      } else {
        field += ch
        i++
      }
    }
    out.push(any ? field : null)
    if (i >= end) break
    i++ // the comma
  }
  return out
}

function quoteField(s: string): string {
  return '"' + s.replace(/["\\]/g, (c) => c + c) + '"'
}

/** Registers text and binary decoders, a text encoder and the array type of a composite. */
export function registerComposite(map: TypeMap, oid: number, arrayOid: number, attributes: CompositeAttribute[]): void {
  const textDecode: Decoder = (buf, start, end) => {
    const raw = parseRecord(buf.toString('utf8', start, end))
    const out: Record<string, unknown> = {}
    for (let i = 0; i < attributes.length; i++) {
      const a = attributes[i]!
      const v = raw[i]
      if (v === null || v === undefined) {
        out[a.name] = null
        continue
      }
      const b = Buffer.from(v)
      out[a.name] = map.decoder(a.typeOid, 0)(b, 0, b.length)
    }
    return out
  }
  const binaryDecode: Decoder = (buf, start) => {
    const n = buf.readInt32BE(start)
    let pos = start + 4
    const out: Record<string, unknown> = {}
    for (let i = 0; i < n; i++) {
      const fieldOid = buf.readUInt32BE(pos)
      const len = buf.readInt32BE(pos + 4)
      pos += 8
      const name = attributes[i]?.name ?? `f${i + 1}`
      if (len === -1) {
        out[name] = null
        continue
      }
      out[name] = map.decoder(fieldOid, 1)(buf, pos, pos + len)
      pos += len
    }
    return out
  }
  map.registerDecoder(oid, 0, textDecode)
  map.registerDecoder(oid, 1, binaryDecode)
  map.registerEncoder(oid, {
    format: 0,
    encode(value, index) {
      const get = Array.isArray(value)
        ? (i: number) => (value as unknown[])[i]
        : typeof value === 'object' && value !== null
          ? (i: number) => (value as Record<string, unknown>)[attributes[i]!.name]
          : undefined
      if (get === undefined) {
        throw new ParameterError(`parameter $${index + 1}: a composite value must be an object or an array, got ${typeof value}`, {
          index,
          valueType: typeof value,
          typeOid: oid,
        })
      }
      const parts = attributes.map((a, i) => {
        const v = get(i)
        if (v === null || v === undefined) return ''
        const enc = map.encoder(a.typeOid)
        const text = enc !== undefined && enc.format === 0 ? (enc.encode(v, index) as string) : (map.encode(v, index).value as string | Buffer)
        return quoteField(typeof text === 'string' ? text : '\\x' + text.toString('hex'))
      })
      return '(' + parts.join(',') + ')'
    },
  })
  if (arrayOid !== 0) map.registerArray(oid, arrayOid)
}

/** An enum: its labels are strings both ways, and its array type is an array of strings. */
export function registerEnum(map: TypeMap, oid: number, arrayOid: number, labels: readonly string[]): void {
  const known = new Set(labels)
  const decode: Decoder = (buf, start, end) => buf.toString('utf8', start, end)
  map.registerDecoder(oid, 0, decode)
  map.registerDecoder(oid, 1, decode)
  map.registerEncoder(oid, {
    format: 0,
    encode(value, index) {
      if (typeof value !== 'string' || !known.has(value)) {
        throw new ParameterError(
          `parameter $${index + 1}: ${JSON.stringify(value)} is not a label of this enum (${labels.join(', ')})`,
          { index, valueType: typeof value, typeOid: oid },
        )
      }
      return value
    },
  })
  if (arrayOid !== 0) map.registerArray(oid, arrayOid)
}

/** A domain reads and writes as its base type. */
export function registerDomain(map: TypeMap, oid: number, arrayOid: number, baseOid: number): void {
  map.registerDecoder(oid, 0, (buf, s, e) => map.decoder(baseOid, 0)(buf, s, e))
  // Ask for binary only when the base type can be read in binary.
  if (map.hasBinary(baseOid)) map.registerDecoder(oid, 1, (buf, s, e) => map.decoder(baseOid, 1)(buf, s, e))
  const base = map.encoder(baseOid)
  if (base !== undefined) map.registerEncoder(oid, base)
  if (arrayOid !== 0) map.registerArray(oid, arrayOid)
}
