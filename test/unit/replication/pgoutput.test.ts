// pgoutput messages outside stream blocks: every kind from bytes to event,
// and change rows decoded through the TypeMap like query rows.
import { describe, expect, it } from 'vitest'
import { DecodeError } from '../../../src/types/result.js'
import { TypeMap, defaultTypeMap } from '../../../src/types/type-map.js'
import {
  PgOutputDecoder,
  UNCHANGED_TOAST,
  pgMicrosToDate,
  type PgOutputEvent,
} from '../../../src/replication/index.js'
import { encodePgOutput } from '../../support/pgoutput-encoder.js'
import { BOOL, BYTEA, INT4, ORDERS, TEXT, USERS, decoderWith, relation } from './_fixtures.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const ascii = (s: string): string => Buffer.from(s).toString('hex')
const T0 = 786_627_153_123_456n // some time in 2024, in µs since 2000

/** Encodes `event`, decodes it with `d` and expects the same event back. */
function roundTrip(d: PgOutputDecoder, event: PgOutputEvent): PgOutputEvent {
  const out = d.decode(encodePgOutput(event), event.lsn)
  expect(out).toEqual(event)
  return out
}

describe('hand-written bytes', () => {
  it('Begin', () => {
    const d = new PgOutputDecoder({ protoVersion: 1 })
    const payload = hex(`42  00000000 016B3748  0002CB6E 4D3E4E80  000002E6`)
    expect(d.decode(payload, 0x16b3700n)).toEqual({
      kind: 'begin',
      lsn: 0x16b3700n,
      finalLsn: 0x16b3748n,
      commitTimeMicros: 0x0002cb6e4d3e4e80n,
      commitTime: pgMicrosToDate(0x0002cb6e4d3e4e80n),
      xid: 742,
    })
  })

  it('Relation then Insert', () => {
    const d = new PgOutputDecoder({ protoVersion: 1 })
    const rel = hex(`52 00004000 ${ascii('public')}00 ${ascii('t')}00 64 0002
      01 ${ascii('id')}00 00000017 ffffffff
      00 ${ascii('v')}00 00000019 ffffffff`)
    const r = d.decode(rel, 1n)
    expect(r).toEqual({
      kind: 'relation',
      lsn: 1n,
      xid: undefined,
      relation: relation(0x4000, 't', [['id', INT4, true], ['v', TEXT]]),
    })
    const ins = hex(`49 00004000 4e 0002 74 00000002 ${ascii('42')} 74 00000003 ${ascii('abc')}`)
    expect(d.decode(ins, 2n)).toMatchObject({ kind: 'insert', lsn: 2n, new: { id: 42, v: 'abc' } })
  })
})

describe('every message kind', () => {
  const times = (prefix: string) => ({ [`${prefix}Time`]: pgMicrosToDate(T0), [`${prefix}TimeMicros`]: T0 })

  it('transaction control', () => {
    const d = new PgOutputDecoder({ protoVersion: 1 })
    roundTrip(d, { kind: 'begin', lsn: 10n, finalLsn: 99n, commitTime: pgMicrosToDate(T0), commitTimeMicros: T0, xid: 0xfffffffe })
    roundTrip(d, { kind: 'origin', lsn: 11n, originLsn: 1234n, name: 'node_b' })
    roundTrip(d, { kind: 'commit', lsn: 12n, flags: 0, commitLsn: 98n, endLsn: 99n, commitTime: pgMicrosToDate(T0), commitTimeMicros: T0 })
  })

  it('Relation and Type (pg_catalog is sent as the empty string)', () => {
    const d = new PgOutputDecoder({ protoVersion: 1 })
    roundTrip(d, { kind: 'relation', lsn: 1n, xid: undefined, relation: ORDERS })
    roundTrip(d, { kind: 'type', lsn: 2n, xid: undefined, oid: 70000, namespace: 'public', name: 'mood' })
    const t = d.decode(hex(`59 00011171 00 ${ascii('mood')}00`), 3n)
    expect(t).toMatchObject({ kind: 'type', oid: 70001, namespace: 'pg_catalog', name: 'mood' })
    const r = d.decode(hex(`52 00004000 00 ${ascii('x')}00 6e 0000`), 4n)
    expect(r).toMatchObject({ relation: { namespace: 'pg_catalog', name: 'x', replicaIdentity: 'n', columns: [] } })
  })

  it('Insert, Update (no old, key, full) and Delete (key, full)', () => {
    const d = decoderWith([USERS, ORDERS])
    const row = { id: '1', name: 'ann', bio: null, avatar: Buffer.from([0, 1]) }
    const decoded = { id: 1, name: 'ann', bio: null, avatar: Buffer.from([0, 1]) }
    expect(d.decode(encodePgOutput({ kind: 'insert', lsn: 5n, relation: USERS, new: row }), 5n)).toEqual({
      kind: 'insert',
      lsn: 5n,
      xid: undefined,
      relation: USERS,
      new: decoded,
    })
    const plainUpdate = d.decode(encodePgOutput({ kind: 'update', lsn: 6n, relation: USERS, new: row }), 6n)
    expect(plainUpdate).toEqual({ kind: 'update', lsn: 6n, relation: USERS, new: decoded })
    expect(plainUpdate.kind === 'update' && [plainUpdate.old, plainUpdate.oldKind]).toEqual([undefined, undefined])
    const keyUpdate = d.decode(encodePgOutput({ kind: 'update', lsn: 7n, relation: USERS, old: { id: '2' }, oldKind: 'key', new: row }), 7n)
    expect(keyUpdate).toMatchObject({ kind: 'update', oldKind: 'key', old: { id: 2 }, new: decoded })
    // Only the key: the NULLs the server sends for the other columns are not values.
    expect(keyUpdate.kind === 'update' && Object.keys(keyUpdate.old!)).toEqual(['id'])
    roundTrip(d, { kind: 'update', lsn: 8n, relation: ORDERS, old: { id: 'a', note: null }, oldKind: 'full', new: { id: 'b', note: 'n' } })
    const del = d.decode(encodePgOutput({ kind: 'delete', lsn: 9n, relation: USERS, old: { id: '3' }, oldKind: 'key' }), 9n)
    expect(del).toEqual({ kind: 'delete', lsn: 9n, xid: undefined, relation: USERS, old: { id: 3 }, oldKind: 'key' })
    roundTrip(d, { kind: 'delete', lsn: 10n, relation: ORDERS, old: { id: 'x', note: 'y' }, oldKind: 'full' })
  })

  it('Truncate', () => {
    const d = decoderWith([USERS, ORDERS])
    roundTrip(d, { kind: 'truncate', lsn: 1n, relations: [USERS, ORDERS], cascade: true, restartIdentity: false })
    roundTrip(d, { kind: 'truncate', lsn: 2n, relations: [ORDERS], cascade: false, restartIdentity: true })
    roundTrip(d, { kind: 'truncate', lsn: 3n, relations: [], cascade: false, restartIdentity: false })
  })

  it('Message: transactional flag, prefix, binary content copied out', () => {
    const d = new PgOutputDecoder({ protoVersion: 1 })
    const content = Buffer.from([0, 255, 10, 0])
    const payload = encodePgOutput({ kind: 'message', lsn: 1n, transactional: true, messageLsn: 77n, prefix: 'app/é', content })
    const ev = d.decode(payload, 1n)
    expect(ev).toEqual({ kind: 'message', lsn: 1n, xid: undefined, transactional: true, messageLsn: 77n, prefix: 'app/é', content })
    payload.fill(0)
    expect(ev.kind === 'message' && ev.content).toEqual(content)
    roundTrip(d, { kind: 'message', lsn: 2n, transactional: false, messageLsn: 78n, prefix: '', content: Buffer.alloc(0) })
  })

  it('two-phase messages (protocol 3)', () => {
    const d = new PgOutputDecoder({ protoVersion: 3 })
    roundTrip(d, { kind: 'beginPrepare', lsn: 1n, prepareLsn: 10n, endLsn: 11n, ...times('prepare'), xid: 5, gid: 'tx-1' } as PgOutputEvent)
    roundTrip(d, { kind: 'prepare', lsn: 2n, flags: 0, prepareLsn: 10n, endLsn: 11n, ...times('prepare'), xid: 5, gid: 'tx-1' } as PgOutputEvent)
    roundTrip(d, { kind: 'commitPrepared', lsn: 3n, flags: 0, commitLsn: 20n, endLsn: 21n, ...times('commit'), xid: 5, gid: 'tx-1' } as PgOutputEvent)
    roundTrip(d, {
      kind: 'rollbackPrepared',
      lsn: 4n,
      flags: 0,
      prepareEndLsn: 11n,
      rollbackEndLsn: 31n,
      prepareTime: pgMicrosToDate(T0),
      prepareTimeMicros: T0,
      rollbackTime: pgMicrosToDate(T0 + 5_000_000n),
      rollbackTimeMicros: T0 + 5_000_000n,
      xid: 6,
      gid: 'tx-2',
    })
    roundTrip(d, { kind: 'streamPrepare', lsn: 5n, flags: 0, prepareLsn: 40n, endLsn: 41n, ...times('prepare'), xid: 7, gid: '' } as PgOutputEvent)
  })
})

describe('change rows', () => {
  const TYPED = relation(1, 'typed', [
    ['i_text', INT4],
    ['i_bin', INT4],
    ['b', BOOL],
    ['t_empty', TEXT],
    ['t_null', TEXT],
    ['bytes', BYTEA],
    ['big', TEXT],
    ['unknown_t', 999_999],
    ['unknown_b', 999_999],
  ])
  const int4 = (n: number): Buffer => {
    const b = Buffer.alloc(4)
    b.writeInt32BE(n)
    return b
  }

  it('values go through the TypeMap by format; NULL, empty string and unchanged TOAST stay distinct', () => {
    const d = decoderWith([TYPED])
    const payload = encodePgOutput({
      kind: 'insert',
      lsn: 1n,
      relation: TYPED,
      new: {
        i_text: '-17',
        i_bin: int4(-17),
        b: 't',
        t_empty: '',
        t_null: null,
        bytes: Buffer.from([0xde, 0xad]),
        big: UNCHANGED_TOAST,
        unknown_t: 'as text',
        unknown_b: Buffer.from([1, 2, 3]),
      },
    })
    const ev = d.decode(payload, 1n)
    expect(ev.kind === 'insert' && ev.new).toEqual({
      i_text: -17,
      i_bin: -17,
      b: true,
      t_empty: '',
      t_null: null,
      bytes: Buffer.from([0xde, 0xad]),
      big: UNCHANGED_TOAST,
      unknown_t: 'as text',
      unknown_b: Buffer.from([1, 2, 3]),
    })
    const row = ev.kind === 'insert' ? ev.new : {}
    expect(row.big).toBe(UNCHANGED_TOAST)
    expect(row.big).not.toBeNull()
    expect(row.t_empty).toBe('')
    expect(row.t_null).toBeNull()
    // Buffers are copies: nothing refers to the payload after decode().
    payload.fill(0)
    expect(row.bytes).toEqual(Buffer.from([0xde, 0xad]))
    expect(row.unknown_b).toEqual(Buffer.from([1, 2, 3]))
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype)
    expect(Object.keys(row)).toEqual(TYPED.columns.map((c) => c.name))
  })

  it('UNCHANGED_TOAST is one registered symbol', () => {
    expect(typeof UNCHANGED_TOAST).toBe('symbol')
    expect(UNCHANGED_TOAST).toBe(Symbol.for('pgline.unchangedToast'))
  })

  it('a column named __proto__ is an own key, not the prototype', () => {
    const rel = relation(2, 'odd', [['__proto__', TEXT], ['constructor', TEXT]])
    const d = decoderWith([rel])
    const ev = d.decode(encodePgOutput({ kind: 'insert', lsn: 1n, relation: rel, new: { ['__proto__']: 'x', constructor: 'y' } }), 1n)
    const row = ev.kind === 'insert' ? ev.new : {}
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(row, '__proto__')?.value).toBe('x')
    expect(row.constructor).toBe('y')
  })

  it("uses the given TypeMap, and notices registrations made after the relation's first use", () => {
    const types = new TypeMap(defaultTypeMap)
    const d = new PgOutputDecoder({ protoVersion: 1, typeMap: types })
    d.decode(encodePgOutput({ kind: 'relation', lsn: 0n, relation: USERS }), 0n)
    const insert = encodePgOutput({ kind: 'insert', lsn: 1n, relation: USERS, new: { id: '7', name: 'bo', bio: null, avatar: null } })
    expect(d.decode(insert, 1n)).toMatchObject({ new: { id: 7, name: 'bo' } })
    types.registerDecoder(TEXT, 0, (buf, start, end) => buf.toString('utf8', start, end).toUpperCase())
    expect(d.decode(insert, 1n)).toMatchObject({ new: { id: 7, name: 'BO' } })
  })

  it('a value its codec refuses is a DecodeError naming column, relation and type', () => {
    const types = new TypeMap(defaultTypeMap)
    types.registerDecoder(TEXT, 0, () => {
      throw new Error('nope')
    })
    const d = new PgOutputDecoder({ protoVersion: 1, typeMap: types })
    d.decode(encodePgOutput({ kind: 'relation', lsn: 0n, relation: USERS }), 0n)
    const insert = encodePgOutput({ kind: 'insert', lsn: 1n, relation: USERS, new: { id: '7', name: 'bo', bio: null, avatar: null } })
    let err: unknown
    try {
      d.decode(insert, 1n)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(DecodeError)
    expect(err).toMatchObject({ column: 'name', typeOid: TEXT })
    expect((err as Error).message).toMatch(/"name" of "public"."users" \(type oid 25, text\): nope/)
  })
})

describe('the relation cache', () => {
  it('relations are frozen and shared by the events that use them', () => {
    const d = decoderWith([USERS])
    const a = d.decode(encodePgOutput({ kind: 'delete', lsn: 1n, relation: USERS, old: { id: '1' }, oldKind: 'key' }), 1n)
    const b = d.decode(encodePgOutput({ kind: 'delete', lsn: 2n, relation: USERS, old: { id: '2' }, oldKind: 'key' }), 2n)
    expect(a.kind === 'delete' && b.kind === 'delete' && a.relation === b.relation).toBe(true)
    expect(Object.isFrozen(d.relation(USERS.id))).toBe(true)
    expect(Object.isFrozen(d.relation(USERS.id)!.columns)).toBe(true)
    expect(Object.isFrozen(d.relation(USERS.id)!.columns[0])).toBe(true)
  })

  it('a later Relation message with the same id replaces the description', () => {
    const d = decoderWith([USERS])
    const altered = relation(USERS.id, 'users', [['id', INT4, true], ['email', TEXT]])
    d.decode(encodePgOutput({ kind: 'relation', lsn: 3n, relation: altered }), 3n)
    expect(d.relation(USERS.id)).toEqual(altered)
    const ev = d.decode(encodePgOutput({ kind: 'insert', lsn: 4n, relation: altered, new: { id: '1', email: 'a@b' } }), 4n)
    expect(ev).toMatchObject({ relation: altered, new: { id: 1, email: 'a@b' } })
  })

  it('relation() is undefined for an id never described', () => {
    expect(new PgOutputDecoder({ protoVersion: 1 }).relation(1)).toBeUndefined()
  })
})

describe('options', () => {
  it.each([0, 5, 1.5, Number.NaN, '2'])('protoVersion %j is a RangeError', (v) => {
    expect(() => new PgOutputDecoder({ protoVersion: v as number })).toThrow(RangeError)
  })

  it('keeps the protocol version', () => {
    expect(new PgOutputDecoder({ protoVersion: 2 }).protoVersion).toBe(2)
  })
})
