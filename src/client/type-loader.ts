// Loads user-defined and extension types from the catalog by name and
// registers their codecs on a type map: enums, composites (nested ones
// too), domains, ranges, and known extension types (hstore, citext).

import { InterfaceError } from '../errors/base.js'
import { registerComposite, registerDomain, registerEnum } from '../types/composite.js'
import type { Decoder, ParamEncoder } from '../types/codec.js'
import { extensionTypes } from '../types/extensions.js'
import type { TypeMap } from '../types/type-map.js'
import type { Result, Row } from '../types/result.js'
import type { QueryOptions } from '../session/query-options.js'

interface Querier {
  query<R = Row>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<Result<R>>
}

/** The catalog reads are the driver's own: the connection's maxRows / maxResultBytes are for the caller's queries. */
const UNLIMITED: QueryOptions = { maxRows: 0, maxResultBytes: 0 }

interface TypeRow {
  oid: number
  typarray: number
  typtype: string
  typbasetype: number
  typrelid: number
  typname: string
  rngsubtype: number | null
  rngmultitypid: number | null
}

export interface LoadedType {
  oid: number
  arrayOid: number
  /** 'enum', 'composite', 'domain', 'range', 'extension' or 'base' (already known). */
  kind: string
}

export interface CustomCodec {
  decodeText?: Decoder
  decodeBinary?: Decoder
  encode?: ParamEncoder
}

async function lookup(q: Querier, name: string): Promise<TypeRow> {
  const r = await q.query<TypeRow>(
    `select t.oid::int8::float8 as oid, t.typarray::int8::float8 as typarray, t.typtype::text as typtype,
            t.typbasetype::int8::float8 as typbasetype, t.typrelid::int8::float8 as typrelid, t.typname::text as typname,
            r.rngsubtype::int8::float8 as rngsubtype, r.rngmultitypid::int8::float8 as rngmultitypid
       from pg_type t left join pg_range r on r.rngtypid = t.oid
      where t.oid = to_regtype($1)`,
    [name],
    UNLIMITED,
  )
  const row = r.rows[0]
  if (row === undefined) throw new InterfaceError(`type ${JSON.stringify(name)} does not exist (or is not visible on the search_path)`)
  return row
}

async function lookupOid(q: Querier, oid: number): Promise<string> {
  const r = await q.query<{ name: string }>('select $1::int8::oid::regtype::text as name', [oid], UNLIMITED)
  return r.rows[0]!.name
}

/** Looks the type up and registers whatever codecs it needs; nested composites are loaded first. */
export async function loadType(q: Querier, map: TypeMap, name: string, seen = new Set<number>()): Promise<LoadedType> {
  const t = await lookup(q, name)
  const oid = t.oid
  const arrayOid = t.typarray
  if (seen.has(oid)) return { oid, arrayOid, kind: 'composite' }
  seen.add(oid)
  switch (t.typtype) {
    case 'e': {
      const labels = await q.query<{ l: string }>('select enumlabel::text as l from pg_enum where enumtypid = $1::int8::oid order by enumsortorder', [oid], UNLIMITED)
      registerEnum(map, oid, arrayOid, labels.rows.map((r) => r.l))
      return { oid, arrayOid, kind: 'enum' }
    }
    case 'c': {
      const attrs = await q.query<{ name: string; typeOid: number; typtype: string }>(
        `select a.attname::text as name, a.atttypid::int8::float8 as "typeOid", t.typtype::text as typtype
           from pg_attribute a join pg_type t on t.oid = a.atttypid
          where a.attrelid = $1::int8::oid and a.attnum > 0 and not a.attisdropped order by a.attnum`,
        [t.typrelid],
        UNLIMITED,
      )
      for (const a of attrs.rows) {
        // Nested composites, enums and domains need their own codecs first.
        if (a.typtype === 'c' || a.typtype === 'e' || a.typtype === 'd') await loadType(q, map, await lookupOid(q, a.typeOid), seen)
      }
      registerComposite(map, oid, arrayOid, attrs.rows.map((a) => ({ name: a.name, typeOid: a.typeOid })))
      return { oid, arrayOid, kind: 'composite' }
    }
    case 'd': {
      const base = await lookup(q, await lookupOid(q, t.typbasetype))
      if (base.typtype !== 'b') await loadType(q, map, await lookupOid(q, base.oid), seen)
      registerDomain(map, oid, arrayOid, base.oid)
      return { oid, arrayOid, kind: 'domain' }
    }
    case 'r':
      if (t.rngsubtype !== null) map.registerRange(t.rngsubtype, oid, t.typname, t.rngmultitypid ?? undefined)
      return { oid, arrayOid, kind: 'range' }
    default: {
      const ext = extensionTypes.get(t.typname)
      if (ext !== undefined) {
        ext(map, oid, arrayOid)
        return { oid, arrayOid, kind: 'extension' }
      }
      return { oid, arrayOid, kind: 'base' }
    }
  }
}

/** Registers user codecs for a type given by name (looked up once) or OID. */
export async function registerCustom(q: Querier, map: TypeMap, type: string | number, codec: CustomCodec): Promise<LoadedType> {
  const t = typeof type === 'number' ? { oid: type, typarray: 0 } : await lookup(q, type)
  if (codec.decodeText) map.registerDecoder(t.oid, 0, codec.decodeText)
  if (codec.decodeBinary) map.registerDecoder(t.oid, 1, codec.decodeBinary)
  if (codec.encode) map.registerEncoder(t.oid, codec.encode)
  if (t.typarray !== 0) map.registerArray(t.oid, t.typarray)
  return { oid: t.oid, arrayOid: t.typarray, kind: 'custom' }
}
