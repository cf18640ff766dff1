// Built-in type names (pg_catalog's typname) to their OIDs, derived from the
// constants of types/oids.ts: INT4 is 'int4', JSON_TYPE 'json', and an
// <TYPE>_ARRAY is '_<type>', the name PostgreSQL gives array types.
import * as oids from '../types/oids.js'

let byName: Map<string, number> | undefined

export function builtinOid(name: string): number | undefined {
  if (byName === undefined) {
    byName = new Map()
    for (const [constant, oid] of Object.entries(oids)) {
      if (typeof oid !== 'number') continue
      const base = constant.replace(/_TYPE$/, '').toLowerCase()
      byName.set(base.endsWith('_array') ? '_' + base.slice(0, -'_array'.length) : base, oid)
    }
  }
  return byName.get(name)
}
