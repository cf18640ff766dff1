// One valid pgoutput message of every kind, each with the decoder state it
// needs (inside a stream block or not), for the error and fuzz tests.
import { PgOutputDecoder, UNCHANGED_TOAST, pgMicrosToDate, type PgOutputEvent } from '../../../src/replication/index.js'
import { encodePgOutput } from '../../support/pgoutput-encoder.js'
import { BYTEA, ORDERS, TEXT, decoderWith, relation } from './_fixtures.js'

export const STREAM_XID = 900
/** Text and bytea only, so the rows decode to exactly what was encoded. */
export const PEOPLE = relation(16400, 'people', [['id', TEXT, true], ['name', TEXT], ['bio', TEXT], ['avatar', BYTEA]])
const time = pgMicrosToDate(1_000_000n)

export interface Sample {
  event: PgOutputEvent
  inStream: boolean
}

const row = { id: '1', name: 'ann', bio: UNCHANGED_TOAST, avatar: Buffer.from([1, 2]) }

const changes = (xid: number | undefined): PgOutputEvent[] => [
  { kind: 'relation', lsn: 1n, xid, relation: PEOPLE },
  { kind: 'type', lsn: 1n, xid, oid: 70000, namespace: 'public', name: 'mood' },
  { kind: 'insert', lsn: 1n, xid, relation: PEOPLE, new: row },
  { kind: 'update', lsn: 1n, xid, relation: PEOPLE, old: { id: '2' }, oldKind: 'key', new: row },
  { kind: 'update', lsn: 1n, xid, relation: ORDERS, old: { id: 'a', note: null }, oldKind: 'full', new: { id: 'a', note: 'n' } },
  { kind: 'delete', lsn: 1n, xid, relation: ORDERS, old: { id: 'a', note: '' }, oldKind: 'full' },
  { kind: 'truncate', lsn: 1n, xid, relations: [PEOPLE, ORDERS], cascade: true, restartIdentity: true },
  { kind: 'message', lsn: 1n, xid, transactional: true, messageLsn: 3n, prefix: 'p', content: Buffer.from('hi') },
  { kind: 'origin', lsn: 1n, originLsn: 4n, name: 'origin' },
]

export const SAMPLES: Sample[] = [
  ...changes(undefined).map((event) => ({ event, inStream: false })),
  ...changes(STREAM_XID).map((event) => ({ event, inStream: true })),
  { inStream: false, event: { kind: 'begin', lsn: 1n, finalLsn: 2n, commitTime: time, commitTimeMicros: 1_000_000n, xid: 5 } },
  { inStream: false, event: { kind: 'commit', lsn: 1n, flags: 0, commitLsn: 2n, endLsn: 3n, commitTime: time, commitTimeMicros: 1_000_000n } },
  { inStream: false, event: { kind: 'streamStart', lsn: 1n, xid: 5, firstSegment: true } },
  { inStream: true, event: { kind: 'streamStop', lsn: 1n } },
  { inStream: false, event: { kind: 'streamCommit', lsn: 1n, xid: 5, flags: 0, commitLsn: 2n, endLsn: 3n, commitTime: time, commitTimeMicros: 1_000_000n } },
  { inStream: false, event: { kind: 'streamAbort', lsn: 1n, xid: 5, subxid: 6 } },
  {
    inStream: false,
    event: { kind: 'beginPrepare', lsn: 1n, prepareLsn: 2n, endLsn: 3n, prepareTime: time, prepareTimeMicros: 1_000_000n, xid: 5, gid: 'g' },
  },
  {
    inStream: false,
    event: { kind: 'prepare', lsn: 1n, flags: 0, prepareLsn: 2n, endLsn: 3n, prepareTime: time, prepareTimeMicros: 1_000_000n, xid: 5, gid: 'g' },
  },
  {
    inStream: false,
    event: { kind: 'commitPrepared', lsn: 1n, flags: 0, commitLsn: 2n, endLsn: 3n, commitTime: time, commitTimeMicros: 1_000_000n, xid: 5, gid: 'g' },
  },
  {
    inStream: false,
    event: {
      kind: 'rollbackPrepared',
      lsn: 1n,
      flags: 0,
      prepareEndLsn: 2n,
      rollbackEndLsn: 3n,
      prepareTime: time,
      prepareTimeMicros: 1_000_000n,
      rollbackTime: time,
      rollbackTimeMicros: 1_000_000n,
      xid: 5,
      gid: 'g',
    },
  },
  {
    inStream: false,
    event: { kind: 'streamPrepare', lsn: 1n, flags: 0, prepareLsn: 2n, endLsn: 3n, prepareTime: time, prepareTimeMicros: 1_000_000n, xid: 5, gid: 'g' },
  },
]

/** A protocol-4 decoder that knows PEOPLE and ORDERS, inside the stream block of STREAM_XID when asked. */
export function decoderFor(inStream: boolean): PgOutputDecoder {
  const d = decoderWith([PEOPLE, ORDERS], 4)
  if (inStream) d.decode(encodePgOutput({ kind: 'streamStart', lsn: 0n, xid: STREAM_XID, firstSegment: true }), 0n)
  return d
}
