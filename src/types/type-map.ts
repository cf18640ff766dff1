// Decoders keyed by (type OID, format), resolved once per result column.
// Maps chain: a child sees its parent's registrations until it overrides
// them, so a connection can customise types without touching the defaults.
import type { Decoder, EncodedParam } from './codec.js'
import { makeBinaryArrayDecoder, makeTextArrayDecoder } from './array.js'
import { encodeParam } from './encode.js'
import { registerDefaults } from './defaults.js'

interface ArrayType {
  elementOid: number
  delimiter: number
}

/** Unknown text types still read naturally as strings. */
const textFallback: Decoder = (buf, start, end) => buf.toString('utf8', start, end)
/** Unknown binary types: the raw bytes, copied because the row buffer is reused. */
const binaryFallback: Decoder = (buf, start, end) => Buffer.copyBytesFrom(buf, start, end - start)

// Bumped by every registration in any map. Resolved decoders are cached per
// map; a child's cache also depends on its ancestors, so any change anywhere
// invalidates all caches (registrations are rare, lookups are per query).
let generation = 0

export class TypeMap {
  readonly #parent: TypeMap | undefined
  readonly #decoders: [Map<number, Decoder>, Map<number, Decoder>] = [new Map(), new Map()]
  readonly #arrays = new Map<number, ArrayType>()
  #cache: [Map<number, Decoder>, Map<number, Decoder>] = [new Map(), new Map()]
  #cacheGeneration = generation

  /** A map without a parent starts empty; pass `defaultTypeMap` to inherit the built-in codecs. */
  constructor(parent?: TypeMap) {
    this.#parent = parent
  }

  /** The decoder for a column; unknown OIDs get a UTF-8 string (text) or a Buffer copy (binary). */
  decoder(oid: number, format: 0 | 1): Decoder {
    if (this.#cacheGeneration !== generation) {
      this.#cache = [new Map(), new Map()]
      this.#cacheGeneration = generation
    }
    const cache = this.#cache[format]
    let d = cache.get(oid)
    if (d === undefined) {
      d = this.#resolve(oid, format) ?? (format === 1 ? binaryFallback : textFallback)
      cache.set(oid, d)
    }
    return d
  }

  /**
   * Whether results of this type should be requested in binary. The nearest
   * map that registers anything for the OID decides, so a child overriding
   * only the text decoder of a type gets text, and with it its own decoder.
   */
  hasBinary(oid: number): boolean {
    for (let m: TypeMap | undefined = this; m !== undefined; m = m.#parent) {
      if (m.#decoders[1].has(oid)) return true
      if (m.#decoders[0].has(oid)) return false
      const array = m.#arrays.get(oid)
      if (array !== undefined) return this.hasBinary(array.elementOid)
    }
    return false
  }

  registerDecoder(oid: number, format: 0 | 1, d: Decoder): void {
    this.#decoders[format].set(oid, d)
    generation++
  }

  /**
   * Declares `arrayOid` as an array of `elementOid`. Its decoders are built
   * from whatever element decoder this map (or a child) resolves, so later
   * element overrides apply to arrays too. `delimiter` is the type's
   * typdelim: ',' for all but box (';').
   */
  registerArray(elementOid: number, arrayOid: number, delimiter = ','): void {
    if (delimiter.length !== 1) throw new TypeError(`array delimiter must be one character, got ${JSON.stringify(delimiter)}`)
    this.#arrays.set(arrayOid, { elementOid, delimiter: delimiter.charCodeAt(0) })
    generation++
  }

  /** Encodes a JS value as a parameter of not-yet-known type (Parse with OID 0); `index` is 0-based. */
  encode(value: unknown, index: number): EncodedParam {
    return encodeParam(value, index)
  }

  #resolve(oid: number, format: 0 | 1): Decoder | undefined {
    for (let m: TypeMap | undefined = this; m !== undefined; m = m.#parent) {
      const d = m.#decoders[format].get(oid)
      if (d !== undefined) return d
      const array = m.#arrays.get(oid)
      if (array !== undefined) {
        // The element decoder comes from `this`, the map asking, not from `m`.
        const element = this.decoder(array.elementOid, format)
        return format === 1 ? makeBinaryArrayDecoder(element) : makeTextArrayDecoder(element, array.delimiter)
      }
    }
    return undefined
  }
}

/** The built-in codecs. Connections use children of it; register on it only to change every connection. */
export const defaultTypeMap = new TypeMap()
registerDefaults(defaultTypeMap)
