// node-postgres's type parsing (its `types` export, pg-types): one global
// registry of text parsers by type OID, overridable per client (a
// TypeOverrides, or any object with getTypeParser) and per query. The
// facade asks the server for text and applies these parsers through a
// pgline TypeMap whose decoders call them, so values come out exactly as
// node-postgres makes them, whatever pgline's own defaults are.

import { defaultTypeMap, TypeMap } from '../types/type-map.js'
import type { Decoder, EncodedParam } from '../types/codec.js'
import { defaultTextParsers, parseArray, type TextParser } from './parsers.js'

export type Format = 'text' | 'binary'

/** What a client's or a query's `types` option must have. */
export interface TypeSource {
  getTypeParser(oid: number, format?: Format): (value: string) => unknown
}

const noParse: TextParser = (v) => v
const rawBinary = (v: unknown): unknown => v

/** Bumped on every setTypeParser, so decoders built from the old parsers are rebuilt. */
let version = 0
let parseInt8 = false
let textParsers = defaultTextParsers(false)
const userText = new Map<number, TextParser>()
const userBinary = new Map<number, (value: Buffer) => unknown>()

export function getTypeParser(oid: number, format: Format = 'text'): (value: string) => unknown {
  if (format === 'binary') return (userBinary.get(oid) as ((value: string) => unknown) | undefined) ?? rawBinary
  return userText.get(oid) ?? textParsers.get(oid) ?? noParse
}

export function setTypeParser(oid: number, format: Format | ((value: string) => unknown), parser?: (value: string) => unknown): void {
  const fn = typeof format === 'function' ? format : parser
  const fmt = typeof format === 'function' ? 'text' : format
  if (typeof fn !== 'function') throw new TypeError(`setTypeParser(${oid}): the parser must be a function`)
  if (fmt === 'binary') userBinary.set(oid, fn as unknown as (value: Buffer) => unknown)
  else userText.set(oid, fn)
  version++
}

/** `defaults.parseInt8 = true`: int8 (and int8[]) as numbers instead of strings. */
export function setParseInt8(on: boolean): void {
  parseInt8 = on
  textParsers = defaultTextParsers(on)
  version++
}

export function getParseInt8(): boolean {
  return parseInt8
}

export function arrayParser(text: string, element: (value: string) => unknown = noParse): unknown[] {
  return parseArray(text, element)
}

/** Type names to OIDs, as pg-types' `builtins`. */
export const builtins = Object.freeze({
  BOOL: 16, BYTEA: 17, CHAR: 18, INT8: 20, INT2: 21, INT4: 23, REGPROC: 24, TEXT: 25, OID: 26, TID: 27, XID: 28, CID: 29,
  JSON: 114, XML: 142, PG_NODE_TREE: 194, SMGR: 210, PATH: 602, POLYGON: 604, CIDR: 650, FLOAT4: 700, FLOAT8: 701,
  ABSTIME: 702, RELTIME: 703, TINTERVAL: 704, CIRCLE: 718, MACADDR8: 774, MONEY: 790, MACADDR: 829, INET: 869,
  ACLITEM: 1033, BPCHAR: 1042, VARCHAR: 1043, DATE: 1082, TIME: 1083, TIMESTAMP: 1114, TIMESTAMPTZ: 1184,
  INTERVAL: 1186, TIMETZ: 1266, BIT: 1560, VARBIT: 1562, NUMERIC: 1700, REFCURSOR: 1790, REGPROCEDURE: 2202,
  REGOPER: 2203, REGOPERATOR: 2204, REGCLASS: 2205, REGTYPE: 2206, UUID: 2950, TXID_SNAPSHOT: 2970, PG_LSN: 3220,
  PG_NDISTINCT: 3361, PG_DEPENDENCIES: 3402, TSVECTOR: 3614, TSQUERY: 3615, GTSVECTOR: 3642, REGCONFIG: 3734,
  REGDICTIONARY: 3769, JSONB: 3802, REGNAMESPACE: 4089, REGROLE: 4096,
})

/** The module-level registry as a TypeSource. */
export const globalTypes: TypeSource = { getTypeParser }

/** node-postgres's TypeOverrides: a client's own parsers, falling back to the global ones (or `parent`). */
export class TypeOverrides implements TypeSource {
  private readonly text = new Map<number, (value: string) => unknown>()
  private readonly binary = new Map<number, (value: string) => unknown>()
  /** Changes with every setTypeParser here (and globally), for the facade's decoders. */
  version = 0

  constructor(private readonly parent: TypeSource = globalTypes) {}

  setTypeParser(oid: number, format: Format | ((value: string) => unknown), parser?: (value: string) => unknown): void {
    const fn = typeof format === 'function' ? format : parser
    if (typeof fn !== 'function') throw new TypeError(`setTypeParser(${oid}): the parser must be a function`)
    ;(typeof format === 'function' || format === 'text' ? this.text : this.binary).set(oid, fn)
    this.version++
    version++
  }

  getTypeParser(oid: number, format: Format = 'text'): (value: string) => unknown {
    return (format === 'binary' ? this.binary : this.text).get(oid) ?? this.parent.getTypeParser(oid, format)
  }
}

const textFallback: Decoder = (buf, start, end) => buf.toString('utf8', start, end)

/**
 * Types whose node-postgres default parser gives exactly what pgline's own
 * text decoder gives (numbers, booleans, parsed JSON): while the parser in
 * force is that default, pgline's decoder (which reads the bytes without
 * making a string first, and parses JSON columns in batches) stands in for it.
 */
const SAME_AS_PGLINE = new Set([16, 21, 23, 26, 700, 701, 114, 3802, 1184, 1000, 1005, 1007, 1021, 1022])

function isDefaultParser(oid: number, parse: (value: string) => unknown): boolean {
  return !userText.has(oid) && textParsers.get(oid) === parse
}

/**
 * A pgline TypeMap whose text decoders are a TypeSource's parsers. It never
 * asks for binary results (hasBinary is false), so every column arrives as
 * text, as node-postgres asks for it; parameters are turned into text by the
 * facade before they reach it.
 */
export class ParserTypeMap extends TypeMap {
  private readonly resolved = new Map<number, Decoder>()
  private seen = version

  constructor(private readonly source: TypeSource) {
    super()
  }

  override decoder(oid: number, format: 0 | 1): Decoder {
    if (format === 1) return super.decoder(oid, format)
    if (this.seen !== version) {
      this.resolved.clear()
      this.seen = version
    }
    let d = this.resolved.get(oid)
    if (d === undefined) {
      const parse = this.source.getTypeParser(oid, 'text')
      if (parse === noParse) d = textFallback
      else if (SAME_AS_PGLINE.has(oid) && isDefaultParser(oid, parse)) d = defaultTypeMap.decoder(oid, 0)
      else d = (buf, start, end) => parse(buf.toString('utf8', start, end))
      this.resolved.set(oid, d)
    }
    return d
  }

  override hasBinary(): boolean {
    return false
  }

  /** As node-postgres: a Buffer goes in binary with no type named (the server reads it as whatever the statement needs). */
  override encode(value: unknown, index: number): EncodedParam {
    if (Buffer.isBuffer(value)) return { oid: 0, format: 1, value }
    return super.encode(value, index)
  }

  /** Moves with pgline's registrations and with every setTypeParser, so cached decode plans follow both. */
  override get version(): number {
    return super.version + 1_000_000 * version
  }
}

const maps = new WeakMap<object, ParserTypeMap>()

/** The TypeMap for a TypeSource, made once per source object. */
export function typeMapFor(source: TypeSource): ParserTypeMap {
  let m = maps.get(source)
  if (m === undefined) {
    m = new ParserTypeMap(source)
    maps.set(source, m)
  }
  return m
}
