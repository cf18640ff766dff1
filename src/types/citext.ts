// citext (an extension type: case-insensitive text) -> string. Its binary
// form is the text itself, as for text.
import type { TypeMap } from './type-map.js'
import { decodeUtf8, textEncoder } from './text.js'

/** Registers citext codecs under the OIDs the extension got in this database. */
export function registerCitext(map: TypeMap, oid: number, arrayOid?: number): void {
  map.registerDecoder(oid, 0, decodeUtf8)
  map.registerDecoder(oid, 1, decodeUtf8)
  map.registerEncoder(oid, textEncoder(oid, 'citext'))
  if (arrayOid !== undefined) map.registerArray(oid, arrayOid)
}
