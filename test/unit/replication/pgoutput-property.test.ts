// Property tests: random sessions of pgoutput events (relations, plain and
// streamed transactions, two-phase, messages) survive encode -> decode, and
// random or damaged bytes give only the typed errors.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../../../src/errors/base.js'
import { DecodeError } from '../../../src/types/result.js'
import {
  LSN_MAX,
  PgOutputDecoder,
  UNCHANGED_TOAST,
  pgMicrosToDate,
  type ChangeRow,
  type PgOutputEvent,
  type Relation,
} from '../../../src/replication/index.js'
import { encodePgOutput } from '../../support/pgoutput-encoder.js'
import { SAMPLES, decoderFor } from './_samples.js'

// Type OIDs no codec is registered for: text comes back as the string, binary as a Buffer copy.
const UNKNOWN_OIDS = [900_001, 900_002, 900_003]

const u32 = fc.nat({ max: 0xffffffff })
const lsn = fc.bigInt({ min: 0n, max: LSN_MAX })
const micros = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })
const name = fc.string({ unit: 'grapheme', minLength: 0, maxLength: 12 }).filter((s) => !s.includes('\0'))
const columnName = fc.oneof({ weight: 1, arbitrary: fc.constant('__proto__') }, { weight: 9, arbitrary: name })
const value = fc.oneof(
  fc.constant(null),
  fc.constant(UNCHANGED_TOAST),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)),
)
const keyValue = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a)))

function relationArb(id: number): fc.Arbitrary<Relation> {
  return fc.record({
    id: fc.constant(id),
    namespace: name.filter((s) => s !== ''), // '' is how pg_catalog travels
    name,
    replicaIdentity: fc.constantFrom('d' as const, 'n' as const, 'f' as const, 'i' as const),
    columns: fc.uniqueArray(
      fc.record({ name: columnName, typeOid: fc.constantFrom(...UNKNOWN_OIDS), typeMod: fc.integer({ min: -1, max: 1000 }), isKey: fc.boolean() }),
      { selector: (c) => c.name, maxLength: 5 },
    ),
  })
}

/** Own properties via fromEntries, so a "__proto__" column is a key like any other. */
const rowOf = (r: Relation, keyOnly: boolean): fc.Arbitrary<ChangeRow> => {
  const columns = keyOnly ? r.columns.filter((c) => c.isKey) : r.columns
  return fc.tuple(...columns.map(() => (keyOnly ? keyValue : value))).map((vs) => Object.fromEntries(columns.map((c, i) => [c.name, vs[i]])))
}

const timeFields = (prefix: string) =>
  micros.map((m) => ({ [`${prefix}Time`]: pgMicrosToDate(m), [`${prefix}TimeMicros`]: m }))

/** One change to one of `relations`, with `xid` when inside a stream block. */
function change(relations: Relation[], xid: number | undefined): fc.Arbitrary<PgOutputEvent> {
  const rel = fc.constantFrom(...relations)
  return fc.oneof(
    fc.record({ lsn, r: rel }).chain(({ lsn, r }) => rowOf(r, false).map((row): PgOutputEvent => ({ kind: 'insert', lsn, xid, relation: r, new: row }))),
    fc
      .record({ lsn, r: rel, old: fc.constantFrom('none' as const, 'key' as const, 'full' as const) })
      .chain(({ lsn, r, old }) =>
        fc.tuple(old === 'none' ? fc.constant(undefined) : rowOf(r, old === 'key'), rowOf(r, false)).map(
          ([o, n]): PgOutputEvent =>
            old === 'none'
              ? { kind: 'update', lsn, xid, relation: r, new: n }
              : { kind: 'update', lsn, xid, relation: r, old: o, oldKind: old, new: n },
        ),
      ),
    fc
      .record({ lsn, r: rel, key: fc.boolean() })
      .chain(({ lsn, r, key }) =>
        rowOf(r, key).map((o): PgOutputEvent => ({ kind: 'delete', lsn, xid, relation: r, old: o, oldKind: key ? 'key' : 'full' })),
      ),
    fc.record({ lsn, rs: fc.subarray(relations), cascade: fc.boolean(), restartIdentity: fc.boolean() }).map(
      ({ lsn, rs, cascade, restartIdentity }): PgOutputEvent => ({ kind: 'truncate', lsn, xid, relations: rs, cascade, restartIdentity }),
    ),
    fc.record({ lsn, messageLsn: lsn, prefix: name, content: fc.uint8Array({ maxLength: 16 }) }).map(
      ({ lsn, messageLsn, prefix, content }): PgOutputEvent => ({
        kind: 'message',
        lsn,
        xid,
        transactional: true,
        messageLsn,
        prefix,
        content: Buffer.from(content),
      }),
    ),
    fc.record({ lsn, oid: u32, namespace: name.filter((s) => s !== ''), name }).map((t): PgOutputEvent => ({ kind: 'type', xid, ...t })),
    fc.record({ lsn, originLsn: lsn, name }).map((o): PgOutputEvent => ({ kind: 'origin', ...o })),
    // Described again, unchanged (inside a block it is kept for that transaction).
    fc.record({ lsn, relation: rel }).map((r): PgOutputEvent => ({ kind: 'relation', xid, ...r })),
  )
}

function transaction(relations: Relation[]): fc.Arbitrary<PgOutputEvent[]> {
  return fc
    .record({
      begin: fc.record({ lsn, finalLsn: lsn, t: timeFields('commit'), xid: u32 }),
      changes: fc.array(change(relations, undefined), { maxLength: 5 }),
      commit: fc.record({ lsn, flags: fc.nat({ max: 255 }), commitLsn: lsn, endLsn: lsn, t: timeFields('commit') }),
    })
    .map(({ begin, changes, commit }) => [
      { kind: 'begin', lsn: begin.lsn, finalLsn: begin.finalLsn, xid: begin.xid, ...begin.t } as PgOutputEvent,
      ...changes,
      { kind: 'commit', lsn: commit.lsn, flags: commit.flags, commitLsn: commit.commitLsn, endLsn: commit.endLsn, ...commit.t } as PgOutputEvent,
    ])
}

/** A streamed transaction: blocks whose changes carry its xid or a subtransaction's, then commit or abort. */
function streamed(relations: Relation[]): fc.Arbitrary<PgOutputEvent[]> {
  return u32.chain((xid) =>
    fc
      .record({
        blocks: fc.array(fc.array(fc.oneof(fc.constant(xid), u32).chain((x) => change(relations, x)), { maxLength: 4 }), { minLength: 1, maxLength: 3 }),
        end: fc.oneof(
          fc.record({ lsn, flags: fc.nat({ max: 255 }), commitLsn: lsn, endLsn: lsn, t: timeFields('commit') }).map(
            (c) => ({ kind: 'streamCommit', xid, lsn: c.lsn, flags: c.flags, commitLsn: c.commitLsn, endLsn: c.endLsn, ...c.t }) as PgOutputEvent,
          ),
          fc.record({ lsn, subxid: fc.oneof(fc.constant(xid), u32) }).map((a): PgOutputEvent => ({ kind: 'streamAbort', xid, ...a })),
          fc.record({ lsn, subxid: u32, abortLsn: lsn, m: micros }).map(
            (a): PgOutputEvent => ({
              kind: 'streamAbort',
              lsn: a.lsn,
              xid,
              subxid: a.subxid,
              abortLsn: a.abortLsn,
              abortTime: pgMicrosToDate(a.m),
              abortTimeMicros: a.m,
            }),
          ),
        ),
      })
      .map(({ blocks, end }) => [
        ...blocks.flatMap((changes, i): PgOutputEvent[] => [
          { kind: 'streamStart', lsn: 0n, xid, firstSegment: i === 0 },
          ...changes,
          { kind: 'streamStop', lsn: 0n },
        ]),
        end,
      ]),
  )
}

function twoPhase(): fc.Arbitrary<PgOutputEvent[]> {
  const common = fc.record({ lsn, flags: fc.nat({ max: 255 }), a: lsn, b: lsn, xid: u32, gid: name })
  return fc.tuple(common, timeFields('prepare'), timeFields('commit'), timeFields('rollback')).map(([c, prepare, commit, rollback]) => [
    { kind: 'beginPrepare', lsn: c.lsn, prepareLsn: c.a, endLsn: c.b, xid: c.xid, gid: c.gid, ...prepare } as PgOutputEvent,
    { kind: 'prepare', lsn: c.lsn, flags: c.flags, prepareLsn: c.a, endLsn: c.b, xid: c.xid, gid: c.gid, ...prepare } as PgOutputEvent,
    { kind: 'commitPrepared', lsn: c.lsn, flags: c.flags, commitLsn: c.a, endLsn: c.b, xid: c.xid, gid: c.gid, ...commit } as PgOutputEvent,
    {
      kind: 'rollbackPrepared',
      lsn: c.lsn,
      flags: c.flags,
      prepareEndLsn: c.a,
      rollbackEndLsn: c.b,
      xid: c.xid,
      gid: c.gid,
      ...prepare,
      ...rollback,
    } as PgOutputEvent,
    { kind: 'streamPrepare', lsn: c.lsn, flags: c.flags, prepareLsn: c.a, endLsn: c.b, xid: c.xid, gid: c.gid, ...prepare } as PgOutputEvent,
  ])
}

/** Relations described up front (and outside any stream), then a mix of transactions. */
const session = fc
  .uniqueArray(fc.nat({ max: 0xffffffff }), { minLength: 1, maxLength: 3 })
  .chain((ids) => fc.tuple(...ids.map(relationArb)))
  .chain((relations) =>
    fc
      .array(fc.oneof(transaction(relations), streamed(relations), twoPhase()), { maxLength: 6 })
      .map((units): PgOutputEvent[] => [...relations.map((relation): PgOutputEvent => ({ kind: 'relation', lsn: 0n, relation })), ...units.flat()]),
  )

describe('round trip', () => {
  it('random sessions decode to the events they were encoded from', () => {
    fc.assert(
      fc.property(session, (events) => {
        const d = new PgOutputDecoder({ protoVersion: 4 })
        for (const event of events) expect(d.decode(encodePgOutput(event), event.lsn)).toEqual(event)
        expect(d.streamXid).toBeUndefined()
      }),
      { numRuns: 300 },
    )
  })
})

describe('robustness', () => {
  const isTyped = (err: unknown): boolean => err instanceof ProtocolError || err instanceof DecodeError

  it('random bytes, with or without a known type byte, throw only ProtocolError or DecodeError', () => {
    const types = [...'BCORYIUDTMSEcAbPKrp'].map((c) => c.charCodeAt(0))
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.tuple(fc.constantFrom(...types), fc.uint8Array({ maxLength: 64 })).map(([t, rest]) => Uint8Array.from([t, ...rest])),
    )
    fc.assert(
      fc.property(payload, fc.boolean(), fc.constantFrom(1, 2, 3, 4), (bytes, inStream, version) => {
        const d = version === 4 ? decoderFor(inStream) : new PgOutputDecoder({ protoVersion: version })
        try {
          d.decode(Buffer.from(bytes), 0n)
        } catch (err) {
          if (!isTyped(err)) throw err
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('valid messages with bytes changed, cut or added throw only the typed errors', () => {
    const damage = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.nat({ max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('add' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    )
    fc.assert(
      fc.property(fc.constantFrom(...SAMPLES), fc.array(damage, { minLength: 1, maxLength: 3 }), (sample, damages) => {
        let bytes = Buffer.from(encodePgOutput(sample.event))
        for (const d of damages) {
          if (d.kind === 'flip' && bytes.length > 0) bytes[d.at % bytes.length] = d.byte
          else if (d.kind === 'cut') bytes = bytes.subarray(0, d.at % (bytes.length + 1))
          else if (d.kind === 'add') bytes = Buffer.concat([bytes, Buffer.from(d.extra)])
        }
        try {
          decoderFor(sample.inStream).decode(bytes, 0n)
        } catch (err) {
          if (!isTyped(err)) throw err
        }
      }),
      { numRuns: 3000 },
    )
  })
})
