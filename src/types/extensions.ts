// Codecs for extension types, keyed by type name: their OIDs are assigned
// when the extension is created, so the client looks a name up in pg_type
// (oid, typarray) and calls the registrar with what it found.
import type { TypeMap } from './type-map.js'
import { registerCitext } from './citext.js'
import { registerHstore } from './hstore.js'

export type ExtensionRegistrar = (map: TypeMap, oid: number, arrayOid?: number) => void

export const extensionTypes: ReadonlyMap<string, ExtensionRegistrar> = new Map<string, ExtensionRegistrar>([
  ['hstore', registerHstore],
  ['citext', registerCitext],
])
