// Decoders keyed by (type OID, format) and parameter encoders keyed by type
// OID, resolved once per column or parameter and cached. Maps chain: a child
// sees its parent's registrations until it overrides them, so a connection
// can customise types without touching the defaults. Arrays, ranges and
// multiranges are derived from their element's codecs in the map that asks,
// so overriding an element type changes its arrays and ranges too.
import type { Decoder, EncodedParam, ParamEncoder, TypeOptions } from './codec.js'
import { makeBinaryArrayDecoder, makeTextArrayDecoder } from './array.js'
import { makeArrayEncoder } from './array-encode.js'
import { makeBinaryRangeDecoder, makeRangeEncoder, makeTextRangeDecoder } from './range.js'
import { makeBinaryMultirangeDecoder, makeMultirangeEncoder, makeTextMultirangeDecoder } from './multirange.js'
import { encodeParam } from './encode.js'
import { registerDefaults } from './defaults.js'
import { applyOptions } from './options.js'
import type { TypedEncoder } from './param.js'

type Derived =
  | { kind: 'array'; elementOid: number; delimiter: string }
  | { kind: 'range'; elementOid: number; name: string | undefined }
  | { kind: 'multirange'; elementOid: number; name: string | undefined }

/** Unknown text types still read naturally as strings. */
const textFallback: Decoder = (buf, start, end) => buf.toString('utf8', start, end)
/** Unknown binary types: the raw bytes, copied because the row buffer is reused. */
const binaryFallback: Decoder = (buf, start, end) => Buffer.copyBytesFrom(buf, start, end - start)

// Bumped by every registration in any map. Resolved codecs are cached per
// map; a child's cache also depends on its ancestors, so any change anywhere
// invalidates all caches (registrations are rare, lookups are per query).
let generation = 0

const TEXT_PREFERRED = new Set([2950 /* uuid */, 1700 /* numeric */])

export class TypeMap {
  readonly #parent: TypeMap | undefined
  readonly #decoders: [Map<number, Decoder>, Map<number, Decoder>] = [new Map(), new Map()]
  readonly #encoders = new Map<number, ParamEncoder>()
  readonly #derived = new Map<number, Derived>()
  #cache: [Map<number, Decoder>, Map<number, Decoder>] = [new Map(), new Map()]
  #encoderCache = new Map<number, ParamEncoder | null>()
  #cacheGeneration = generation

  /**
   * A map without a parent starts empty; pass `defaultTypeMap` to inherit the
   * built-in codecs. `options` picks alternative JS mappings in this map (and
   * its children) only, as configure() does.
   */
  constructor(parent?: TypeMap, options?: TypeOptions) {
    this.#parent = parent
    if (options !== undefined) this.configure(options)
  }

  /** Registers the decoders `options` asks for in this map; the parent is untouched. */
  configure(options: TypeOptions): this {
    applyOptions(this, options)
    return this
  }

  /** Changes whenever any map registers something: callers caching resolved codecs compare it. */
  get version(): number {
    return generation
  }

  /** The decoder for a column; unknown OIDs get a UTF-8 string (text) or a Buffer copy (binary). */
  decoder(oid: number, format: 0 | 1): Decoder {
    this.#checkCache()
    const cache = this.#cache[format]
    let d = cache.get(oid)
    if (d === undefined) {
      d = this.#resolveDecoder(oid, format) ?? (format === 1 ? binaryFallback : textFallback)
      cache.set(oid, d)
    }
    return d
  }

  /**
   * Whether results of this type should be requested in binary. The nearest
   * map that registers anything for the OID decides, so a child overriding
   * only the text decoder of a type gets text, and with it its own decoder.
   */
  hasBinary(oid: number, preferText = true): boolean {
    for (let m: TypeMap | undefined = this; m !== undefined; m = m.#parent) {
      const binary = m.#decoders[1].has(oid)
      const text = m.#decoders[0].has(oid)
      // Types whose text form is the cheaper one to turn into the JS value
      // (uuid, numeric: one latin1 slice instead of formatting digits) take
      // text when the deciding map has both; their binary decoders still
      // serve binary COPY. A map giving only a binary decoder gets binary.
      if (binary) return !(preferText && text && TEXT_PREFERRED.has(oid))
      if (text) return false
      const derived = m.#derived.get(oid)
      if (derived !== undefined) return this.hasBinary(derived.elementOid, preferText)
    }
    return false
  }

  /**
   * The encoder for a parameter the server described as type `oid`, or
   * undefined when this map has none (encode() then decides from the value).
   */
  encoder(oid: number): ParamEncoder | undefined {
    this.#checkCache()
    let e = this.#encoderCache.get(oid)
    if (e === undefined) {
      e = this.#resolveEncoder(oid) ?? null
      this.#encoderCache.set(oid, e)
    }
    return e ?? undefined
  }

  registerDecoder(oid: number, format: 0 | 1, d: Decoder): void {
    this.#decoders[format].set(oid, d)
    generation++
  }

  registerEncoder(oid: number, e: ParamEncoder): void {
    this.#encoders.set(oid, e)
    generation++
  }

  /**
   * Declares `arrayOid` as an array of `elementOid`. Its codecs are built
   * from whatever element codecs this map (or a child) resolves, so later
   * element overrides apply to arrays too. `delimiter` is the type's
   * typdelim: ',' for all but box (';').
   */
  registerArray(elementOid: number, arrayOid: number, delimiter = ','): void {
    if (delimiter.length !== 1) throw new TypeError(`array delimiter must be one character, got ${JSON.stringify(delimiter)}`)
    this.#derived.set(arrayOid, { kind: 'array', elementOid, delimiter })
    generation++
  }

  /**
   * Declares `rangeOid` as a range over `subtypeOid` (and `multirangeOid`, if
   * given, as its multirange); values are PgRange with bounds from the
   * subtype's codecs. `name` is the range type's name, for error messages.
   */
  registerRange(subtypeOid: number, rangeOid: number, name?: string, multirangeOid?: number): void {
    this.#derived.set(rangeOid, { kind: 'range', elementOid: subtypeOid, name })
    if (multirangeOid !== undefined) {
      const multiName = name === undefined ? undefined : name.replace(/range$/, 'multirange')
      this.#derived.set(multirangeOid, { kind: 'multirange', elementOid: rangeOid, name: multiName })
    }
    generation++
  }

  /** Encodes a JS value as a parameter of not-yet-known type (Parse with OID 0); `index` is 0-based. */
  encode(value: unknown, index: number): EncodedParam {
    return encodeParam(value, index)
  }

  #checkCache(): void {
    if (this.#cacheGeneration !== generation) {
      this.#cache = [new Map(), new Map()]
      this.#encoderCache = new Map()
      this.#cacheGeneration = generation
    }
  }

  #derivedOf(oid: number): Derived | undefined {
    for (let m: TypeMap | undefined = this; m !== undefined; m = m.#parent) {
      if (m.#decoders[0].has(oid) || m.#decoders[1].has(oid) || m.#encoders.has(oid)) return undefined
      const derived = m.#derived.get(oid)
      if (derived !== undefined) return derived
    }
    return undefined
  }

  #resolveDecoder(oid: number, format: 0 | 1): Decoder | undefined {
    for (let m: TypeMap | undefined = this; m !== undefined; m = m.#parent) {
      const d = m.#decoders[format].get(oid)
      if (d !== undefined) return d
      const derived = m.#derived.get(oid)
      if (derived === undefined) continue
      // The element decoder comes from `this`, the map asking, not from `m`.
      const element = this.decoder(derived.elementOid, format)
      switch (derived.kind) {
        case 'array':
          return format === 1 ? makeBinaryArrayDecoder(element) : makeTextArrayDecoder(element, derived.delimiter.charCodeAt(0))
        case 'range':
          return format === 1 ? makeBinaryRangeDecoder(element) : makeTextRangeDecoder(element)
        case 'multirange':
          return format === 1 ? makeBinaryMultirangeDecoder(element) : makeTextMultirangeDecoder(element)
      }
    }
    return undefined
  }

  #resolveEncoder(oid: number): ParamEncoder | undefined {
    for (let m: TypeMap | undefined = this; m !== undefined; m = m.#parent) {
      const e = m.#encoders.get(oid)
      if (e !== undefined) return e
      const derived = m.#derived.get(oid)
      if (derived === undefined) continue
      const element = this.encoder(derived.elementOid)
      if (element === undefined) return undefined
      const elementName = (element as Partial<TypedEncoder>).type ?? `type ${derived.elementOid}`
      // String input to a binary encoder is parsed with text decoders that keep elements as strings.
      switch (derived.kind) {
        case 'array':
          return makeArrayEncoder(element, {
            arrayOid: oid,
            elementOid: derived.elementOid,
            type: `${elementName}[]`,
            delimiter: derived.delimiter,
            parseText: makeTextArrayDecoder(this.#stringDecoder(derived.elementOid), derived.delimiter.charCodeAt(0)),
          })
        case 'range':
          return makeRangeEncoder(element, oid, derived.name ?? `range of ${elementName}`, makeTextRangeDecoder(textFallback))
        case 'multirange':
          return makeMultirangeEncoder(
            element,
            oid,
            derived.name ?? `multirange of ${elementName}`,
            makeTextMultirangeDecoder(makeTextRangeDecoder(textFallback)),
          )
      }
    }
    return undefined
  }

  /** Text decoder giving each element as its literal string; a nested multirange element stays an array of ranges. */
  #stringDecoder(elementOid: number): Decoder {
    const derived = this.#derivedOf(elementOid)
    const plain: Decoder = textFallback
    if (derived?.kind === 'range') return makeTextRangeDecoder(plain)
    if (derived?.kind === 'multirange') return makeTextMultirangeDecoder(makeTextRangeDecoder(plain))
    return plain
  }
}

/** The built-in codecs. Connections use children of it; register on it only to change every connection. */
export const defaultTypeMap = new TypeMap()
registerDefaults(defaultTypeMap)
