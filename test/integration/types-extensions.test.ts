import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Connection } from '../../src/index.js'
import { ParameterError } from '../../src/errors.js'
import { extensionTypes, TypeMap, type EncodedParam } from '../../src/types/index.js'
import { connectAs } from './_util.js'
import { checkArray, checkType, lit, type Case } from './types-helpers.js'

let conn: Connection

// Extension types get their OIDs at CREATE EXTENSION; a schema of our own keeps them out of everyone's way.
beforeAll(async () => {
  conn = await connectAs('superuser')
  await conn.simpleQuery('create schema if not exists pgline_ext; create extension if not exists hstore schema pgline_ext; create extension if not exists citext schema pgline_ext')
  const r = await conn.query<{ typname: string; oid: number; typarray: number }>(
    `select typname, oid, typarray from pg_type where typname in ('hstore', 'citext') and typnamespace = 'pgline_ext'::regnamespace`,
  )
  for (const t of r.rows) extensionTypes.get(t.typname)!(conn.types, t.oid, t.typarray)
})
afterAll(async () => {
  await conn?.close()
})

const c = lit

async function oidOf(name: string): Promise<[number, number]> {
  const r = await conn.query<{ oid: number; typarray: number }>(`select oid, typarray from pg_type where typname = $1`, [name])
  return [r.rows[0]!.oid, r.rows[0]!.typarray]
}

describe('extension types against the server', () => {
  it('hstore', async () => {
    const [oid, arrayOid] = await oidOf('hstore')
    const cases = [
      c('a=>1, b=>NULL, "c d"=>"x\\"y\\\\z"', { a: '1', b: null, 'c d': 'x"y\\z' }),
      c('', {}),
      c('"é中"=>"😀", "NULL"=>"null", "__proto__"=>"p"'),
      c('k=>""'),
    ]
    await checkType(conn, 'pgline_ext.hstore', oid, cases)
    await checkArray(conn, 'pgline_ext.hstore', arrayOid, cases)
    const proto = (await conn.query(`select '"__proto__"=>"p"'::pgline_ext.hstore as h`)).rows[0]!.h as Record<string, string>
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype)
    expect(Object.keys(proto)).toEqual(['__proto__'])
    const map = await conn.query(`select $1::pgline_ext.hstore::text t`, [new Map([['k', 'v']])], { types: new TypedFor(oid) })
    expect(map.rows[0]).toEqual({ t: '"k"=>"v"' })
  })

  it('citext', async () => {
    const [oid, arrayOid] = await oidOf('citext')
    const cases = [c('MiXeD', 'MiXeD'), c('', '')]
    await checkType(conn, 'pgline_ext.citext', oid, cases)
    await checkArray(conn, 'pgline_ext.citext', arrayOid, cases)
  })

  it('an encoder refuses values that do not fit before anything is sent', async () => {
    const [oid] = await oidOf('hstore')
    const err = await conn.query('select $1::pgline_ext.hstore', [{ a: { nested: 1 } }], { types: new TypedFor(oid) }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ParameterError)
    expect((err as ParameterError).message).toBe('parameter $1: cannot encode an object as hstore: the value of "a" is not a string or null')
    // The connection is still usable.
    expect((await conn.query('select 1 as one')).rows).toEqual([{ one: 1 }])
  })
})

/** Sends parameters through the typed encoder of one OID (see types-helpers.ts). */
class TypedFor extends TypeMap {
  constructor(readonly oid: number) {
    super(conn.types)
  }
  override encode(value: unknown, index: number): EncodedParam {
    const e = this.encoder(this.oid)!
    return { oid: this.oid, format: e.format, value: e.encode(value, index) }
  }
}
