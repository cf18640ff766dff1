// The pgoutput plugin's messages (the payload of each XLogData), protocol
// versions 1 to 4, decoded into PgOutputEvents. Stateful, because two things
// depend on what came before: the Relation messages (a change names its
// table by id only) and whether we are inside a stream block (where the
// changes of an in-progress transaction carry its xid, protocol 2+).
//
// A Relation sent inside a stream block describes the table as that
// streamed transaction sees it, which may include its own uncommitted DDL.
// So it is kept apart, for the blocks of that transaction only, and becomes
// the table's description when the transaction commits (or is prepared);
// an abort drops it. This follows what the server assumes the client has.
import { ProtocolError } from '../errors/base.js'
import { defaultTypeMap, type TypeMap } from '../types/type-map.js'
import type {
  ChangeRow,
  PgOutputEvent,
  PgOutputEventKind,
  Relation,
  RelationColumn,
  ReplicaIdentity,
  TruncateEvent,
} from './pgoutput-events.js'
import { Reader, printable } from './reader.js'
import { pgMicrosToDate } from './time.js'
import { builtinOid } from './builtin-names.js'
import { RelationEntry, readTuple } from './tuple.js'

export type { PgOutputEvent } from './pgoutput-events.js'

export interface PgOutputDecoderOptions {
  /** The proto_version passed to START_REPLICATION: 1, 2 (streaming), 3 (two-phase) or 4 (parallel streaming). */
  protoVersion: number
  /** Decodes column values; defaults to the built-in codecs. Pass the connection's map to share its registrations. */
  typeMap?: TypeMap
}

/** Where a message may appear relative to a stream block. */
type Placement = 'outside' | 'inside' | 'either'

interface MessageSpec {
  kind: PgOutputEventKind
  name: string
  minVersion: number
  placement: Placement
}

const spec = (kind: PgOutputEventKind, name: string, minVersion: number, placement: Placement): MessageSpec => ({
  kind,
  name,
  minVersion,
  placement,
})

const MESSAGES = new Map<number, MessageSpec>([
  [0x42 /* B */, spec('begin', 'Begin', 1, 'outside')],
  [0x43 /* C */, spec('commit', 'Commit', 1, 'outside')],
  // The server repeats the origin at the start of each stream block.
  [0x4f /* O */, spec('origin', 'Origin', 1, 'either')],
  [0x52 /* R */, spec('relation', 'Relation', 1, 'either')],
  [0x59 /* Y */, spec('type', 'Type', 1, 'either')],
  [0x49 /* I */, spec('insert', 'Insert', 1, 'either')],
  [0x55 /* U */, spec('update', 'Update', 1, 'either')],
  [0x44 /* D */, spec('delete', 'Delete', 1, 'either')],
  [0x54 /* T */, spec('truncate', 'Truncate', 1, 'either')],
  [0x4d /* M */, spec('message', 'Message', 1, 'either')],
  [0x53 /* S */, spec('streamStart', 'Stream Start', 2, 'outside')],
  [0x45 /* E */, spec('streamStop', 'Stream Stop', 2, 'inside')],
  [0x63 /* c */, spec('streamCommit', 'Stream Commit', 2, 'outside')],
  [0x41 /* A */, spec('streamAbort', 'Stream Abort', 2, 'outside')],
  [0x62 /* b */, spec('beginPrepare', 'Begin Prepare', 3, 'outside')],
  [0x50 /* P */, spec('prepare', 'Prepare', 3, 'outside')],
  [0x4b /* K */, spec('commitPrepared', 'Commit Prepared', 3, 'outside')],
  [0x72 /* r */, spec('rollbackPrepared', 'Rollback Prepared', 3, 'outside')],
  [0x70 /* p */, spec('streamPrepare', 'Stream Prepare', 3, 'outside')],
])

const NEW_TUPLE = 0x4e // 'N'
const KEY_TUPLE = 0x4b // 'K'
const OLD_TUPLE = 0x4f // 'O'
const TRUNCATE_CASCADE = 1
const TRUNCATE_RESTART_IDENTITY = 2
/** Protocol 4 with streaming 'parallel' adds the abort LSN and time to Stream Abort. */
const ABORT_INFO_SIZE = 16

export class PgOutputDecoder {
  readonly protoVersion: 1 | 2 | 3 | 4
  readonly #types: TypeMap
  /** Relations as committed work sees them. */
  readonly #relations = new Map<number, RelationEntry>()
  /** Domain OIDs and the built-in type each is decoded as (from Type messages). */
  readonly #aliases = new Map<number, number>()
  /** Relations sent inside the stream blocks of a transaction, by its top-level xid. */
  readonly #streamed = new Map<number, Map<number, RelationEntry>>()
  #streamXid: number | undefined = undefined

  constructor(options: PgOutputDecoderOptions) {
    const v = options.protoVersion
    if (v !== 1 && v !== 2 && v !== 3 && v !== 4) throw new RangeError(`pgoutput protoVersion must be 1, 2, 3 or 4, got ${String(v)}`)
    this.protoVersion = v
    this.#types = options.typeMap ?? defaultTypeMap
  }

  /** The xid of the transaction whose stream block is open, else undefined. */
  get streamXid(): number | undefined {
    return this.#streamXid
  }

  /** The relation as the last Relation message outside a stream block (or a committed stream) described it. */
  relation(id: number): Relation | undefined {
    return this.#relations.get(id)?.relation
  }

  /**
   * Decodes one pgoutput message; `lsn` is the start of the XLogData that
   * carried it. Malformed or unexpected messages throw a ProtocolError, a
   * value its codec refuses a DecodeError; either way the decoder's state is
   * as before the call.
   */
  decode(payload: Buffer, lsn: bigint): PgOutputEvent {
    if (payload.length === 0) throw new ProtocolError('empty pgoutput message')
    const type = payload[0]!
    const spec = MESSAGES.get(type)
    if (spec === undefined) throw new ProtocolError(`unknown pgoutput message type '${printable(type)}'`, printable(type))
    const r = new Reader(payload, 1, payload.length, `pgoutput '${printable(type)}' (${spec.name}) message`, printable(type))
    if (this.protoVersion < spec.minVersion) r.fail(`needs protocol version ${spec.minVersion}, this stream uses ${this.protoVersion}`)
    const inside = this.#streamXid !== undefined
    if (spec.placement === 'outside' && inside) r.fail(`not allowed inside the stream block of transaction ${this.#streamXid}`)
    if (spec.placement === 'inside' && !inside) r.fail('no stream block is open')
    const event = this.#parse(spec.kind, r, lsn)
    r.done()
    this.#apply(event)
    return event
  }

  #parse(kind: PgOutputEventKind, r: Reader, lsn: bigint): PgOutputEvent {
    switch (kind) {
      case 'begin': {
        const finalLsn = r.u64()
        const micros = r.i64()
        return { kind, lsn, finalLsn, commitTime: pgMicrosToDate(micros), commitTimeMicros: micros, xid: r.u32() }
      }
      case 'commit': {
        const flags = r.u8()
        const commitLsn = r.u64()
        const endLsn = r.u64()
        const micros = r.i64()
        return { kind, lsn, flags, commitLsn, endLsn, commitTime: pgMicrosToDate(micros), commitTimeMicros: micros }
      }
      case 'origin': {
        const originLsn = r.u64()
        return { kind, lsn, originLsn, name: r.cstr() }
      }
      case 'relation': {
        const xid = this.#xid(r)
        return { kind, lsn, xid, relation: readRelation(r) }
      }
      case 'type': {
        const xid = this.#xid(r)
        const oid = r.u32()
        const namespace = readNamespace(r)
        return { kind, lsn, xid, oid, namespace, name: r.cstr() }
      }
      case 'insert': {
        const xid = this.#xid(r)
        const entry = this.#entry(r, r.u32())
        expectTag(r, r.u8(), NEW_TUPLE)
        return { kind, lsn, xid, relation: entry.relation, new: readTuple(r, entry, this.#types, false) }
      }
      case 'update': {
        const xid = this.#xid(r)
        const entry = this.#entry(r, r.u32())
        let tag = r.u8()
        let old: ChangeRow | undefined
        let oldKind: 'key' | 'full' | undefined
        if (tag === KEY_TUPLE || tag === OLD_TUPLE) {
          oldKind = tag === KEY_TUPLE ? 'key' : 'full'
          old = readTuple(r, entry, this.#types, tag === KEY_TUPLE)
          tag = r.u8()
        }
        expectTag(r, tag, NEW_TUPLE)
        return { kind, lsn, xid, relation: entry.relation, old, oldKind, new: readTuple(r, entry, this.#types, false) }
      }
      case 'delete': {
        const xid = this.#xid(r)
        const entry = this.#entry(r, r.u32())
        const tag = r.u8()
        if (tag !== KEY_TUPLE && tag !== OLD_TUPLE) r.fail(`expected 'K' or 'O' before the old tuple, got ${tagName(tag)}`)
        const old = readTuple(r, entry, this.#types, tag === KEY_TUPLE)
        return { kind, lsn, xid, relation: entry.relation, old, oldKind: tag === KEY_TUPLE ? 'key' : 'full' }
      }
      case 'truncate':
        return this.#truncate(r, lsn)
      case 'message': {
        const xid = this.#xid(r)
        const flags = r.u8()
        const messageLsn = r.u64()
        const prefix = r.cstr()
        const length = r.i32()
        if (length < 0) r.fail(`content length ${length}`)
        const start = r.skip(length)
        // A copy: a view would keep the whole received chunk alive for as long as the caller keeps the content.
        const content = Buffer.copyBytesFrom(r.buf, start, length)
        return { kind, lsn, xid, transactional: (flags & 1) !== 0, messageLsn, prefix, content }
      }
      case 'streamStart': {
        const xid = r.u32()
        return { kind, lsn, xid, firstSegment: r.bool('first segment flag') }
      }
      case 'streamStop':
        return { kind, lsn }
      case 'streamCommit': {
        const xid = r.u32()
        const flags = r.u8()
        const commitLsn = r.u64()
        const endLsn = r.u64()
        const micros = r.i64()
        return { kind, lsn, xid, flags, commitLsn, endLsn, commitTime: pgMicrosToDate(micros), commitTimeMicros: micros }
      }
      case 'streamAbort': {
        const xid = r.u32()
        const subxid = r.u32()
        // Present only with streaming 'parallel', which the decoder is not told
        // about; the message ends after subxid otherwise.
        if (this.protoVersion >= 4 && r.end - r.pos === ABORT_INFO_SIZE) {
          const abortLsn = r.u64()
          const micros = r.i64()
          return { kind, lsn, xid, subxid, abortLsn, abortTime: pgMicrosToDate(micros), abortTimeMicros: micros }
        }
        return { kind, lsn, xid, subxid }
      }
      case 'beginPrepare': {
        const prepareLsn = r.u64()
        const endLsn = r.u64()
        const micros = r.i64()
        const xid = r.u32()
        return { kind, lsn, prepareLsn, endLsn, prepareTime: pgMicrosToDate(micros), prepareTimeMicros: micros, xid, gid: r.cstr() }
      }
      case 'prepare':
      case 'streamPrepare': {
        const flags = r.u8()
        const prepareLsn = r.u64()
        const endLsn = r.u64()
        const micros = r.i64()
        const xid = r.u32()
        return { kind, lsn, flags, prepareLsn, endLsn, prepareTime: pgMicrosToDate(micros), prepareTimeMicros: micros, xid, gid: r.cstr() }
      }
      case 'commitPrepared': {
        const flags = r.u8()
        const commitLsn = r.u64()
        const endLsn = r.u64()
        const micros = r.i64()
        const xid = r.u32()
        return { kind, lsn, flags, commitLsn, endLsn, commitTime: pgMicrosToDate(micros), commitTimeMicros: micros, xid, gid: r.cstr() }
      }
      case 'rollbackPrepared': {
        const flags = r.u8()
        const prepareEndLsn = r.u64()
        const rollbackEndLsn = r.u64()
        const prepareMicros = r.i64()
        const rollbackMicros = r.i64()
        const xid = r.u32()
        return {
          kind,
          lsn,
          flags,
          prepareEndLsn,
          rollbackEndLsn,
          prepareTime: pgMicrosToDate(prepareMicros),
          prepareTimeMicros: prepareMicros,
          rollbackTime: pgMicrosToDate(rollbackMicros),
          rollbackTimeMicros: rollbackMicros,
          xid,
          gid: r.cstr(),
        }
      }
      default: {
        const unreachable: never = kind
        throw new Error(`pgoutput: unhandled message kind ${String(unreachable)}`)
      }
    }
  }

  #truncate(r: Reader, lsn: bigint): TruncateEvent {
    const xid = this.#xid(r)
    const count = r.i32()
    if (count < 0) r.fail(`relation count ${count}`)
    const options = r.u8()
    // Checked up front so a corrupt count cannot make us loop or allocate for nothing.
    r.need(count * 4)
    const relations: Relation[] = []
    for (let i = 0; i < count; i++) relations.push(this.#entry(r, r.u32()).relation)
    return {
      kind: 'truncate',
      lsn,
      xid,
      relations,
      cascade: (options & TRUNCATE_CASCADE) !== 0,
      restartIdentity: (options & TRUNCATE_RESTART_IDENTITY) !== 0,
    }
  }

  /** Inside a stream block, changes start with the xid of their (sub)transaction. */
  #xid(r: Reader): number | undefined {
    return this.#streamXid === undefined ? undefined : r.u32()
  }

  #entry(r: Reader, id: number): RelationEntry {
    const entry =
      (this.#streamXid === undefined ? undefined : this.#streamed.get(this.#streamXid)?.get(id)) ?? this.#relations.get(id)
    if (entry === undefined) r.fail(`unknown relation id ${id} (no Relation message for it came first)`)
    return entry
  }

  /** State changes, made only once the whole message has been read. */
  #apply(event: PgOutputEvent): void {
    switch (event.kind) {
      case 'relation': {
        const xid = this.#streamXid
        let target = this.#relations
        if (xid !== undefined) {
          target = this.#streamed.get(xid) ?? new Map<number, RelationEntry>()
          this.#streamed.set(xid, target)
        }
        target.set(event.relation.id, new RelationEntry(event.relation, event.relation.columns.map((c) => this.#aliases.get(c.typeOid) ?? c.typeOid)))
        break
      }
      case 'type': {
        // pgoutput names a domain by its base type: a domain over a built-in
        // type is decoded as that type, as a query's result would be.
        const base = event.namespace === 'pg_catalog' ? builtinOid(event.name) : undefined
        if (base !== undefined && base !== event.oid) this.#aliases.set(event.oid, base)
        break
      }
      case 'streamStart':
        this.#streamXid = event.xid
        break
      case 'streamStop':
        this.#streamXid = undefined
        break
      case 'streamCommit':
      case 'streamPrepare':
        this.#promote(event.xid)
        break
      case 'streamAbort':
        // A subtransaction's abort leaves the transaction, and what it was sent, in place.
        if (event.subxid === event.xid) this.#streamed.delete(event.xid)
        break
      default:
        break
    }
  }

  #promote(xid: number): void {
    const streamed = this.#streamed.get(xid)
    if (streamed === undefined) return
    for (const [id, entry] of streamed) this.#relations.set(id, entry)
    this.#streamed.delete(xid)
  }
}

function readNamespace(r: Reader): string {
  const namespace = r.cstr()
  // The server writes pg_catalog as '', to save bytes; no schema is really named ''.
  return namespace === '' ? 'pg_catalog' : namespace
}

const REPLICA_IDENTITIES = new Set<string>(['d', 'n', 'f', 'i'])

function readRelation(r: Reader): Relation {
  const id = r.u32()
  const namespace = readNamespace(r)
  const name = r.cstr()
  const identity = String.fromCharCode(r.u8())
  if (!REPLICA_IDENTITIES.has(identity)) r.fail(`unknown replica identity ${JSON.stringify(identity)}`)
  const count = r.i16()
  if (count < 0) r.fail(`column count ${count}`)
  const columns: RelationColumn[] = []
  for (let i = 0; i < count; i++) {
    const flags = r.u8()
    const columnName = r.cstr()
    const typeOid = r.u32()
    const typeMod = r.i32()
    columns.push(Object.freeze({ name: columnName, typeOid, typeMod, isKey: (flags & 1) !== 0 }))
  }
  return Object.freeze({ id, namespace, name, replicaIdentity: identity as ReplicaIdentity, columns: Object.freeze(columns) })
}

function expectTag(r: Reader, tag: number, expected: number): void {
  if (tag !== expected) r.fail(`expected '${String.fromCharCode(expected)}' before the tuple, got ${tagName(tag)}`)
}

function tagName(tag: number): string {
  return `'${printable(tag)}'`
}
