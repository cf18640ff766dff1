// Relations and decoders shared by the pgoutput tests.
import { PgOutputDecoder, type Relation, type ReplicaIdentity } from '../../../src/replication/index.js'
import { encodePgOutput } from '../../support/pgoutput-encoder.js'

export const INT4 = 23
export const TEXT = 25
export const BYTEA = 17
export const BOOL = 16

/** columns: [name, type oid, part of the key?, typmod?] */
export function relation(
  id: number,
  name: string,
  columns: Array<[string, number, boolean?, number?]>,
  opts: { namespace?: string; replicaIdentity?: ReplicaIdentity } = {},
): Relation {
  return {
    id,
    namespace: opts.namespace ?? 'public',
    name,
    replicaIdentity: opts.replicaIdentity ?? 'd',
    columns: columns.map(([n, typeOid, isKey, typeMod]) => ({ name: n, typeOid, typeMod: typeMod ?? -1, isKey: isKey === true })),
  }
}

export const USERS = relation(16384, 'users', [
  ['id', INT4, true],
  ['name', TEXT],
  ['bio', TEXT],
  ['avatar', BYTEA],
])

export const ORDERS = relation(16390, 'orders', [['id', TEXT, true], ['note', TEXT]], { namespace: 'shop', replicaIdentity: 'f' })

/** A decoder that already knows `relations`. */
export function decoderWith(relations: Relation[], protoVersion = 4): PgOutputDecoder {
  const d = new PgOutputDecoder({ protoVersion })
  for (const relation of relations) d.decode(encodePgOutput({ kind: 'relation', lsn: 0n, relation }), 0n)
  return d
}
