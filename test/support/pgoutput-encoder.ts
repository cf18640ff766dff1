// Test support: the server side of logical replication. encodePgOutput() is
// the inverse of PgOutputDecoder for every event kind (the xid prefix is
// written when the event has one, as the server does inside stream blocks);
// row values are given in their wire form: a string is sent as text ('t'), a
// Buffer as binary ('b'), null as 'n' and UNCHANGED_TOAST as 'u'. Also the
// CopyBoth payloads the server sends (XLogData, keepalive).
import { Writer } from '../../src/protocol/writer.js'
import {
  UNCHANGED_TOAST,
  type ChangeRow,
  type PgOutputEvent,
  type Relation,
} from '../../src/replication/index.js'

/** Writer plus the 64-bit fields the replication messages use. */
export class Bytes extends Writer {
  constructor() {
    super(256)
  }

  u64(v: bigint): this {
    const b = Buffer.alloc(8)
    b.writeBigUInt64BE(v)
    return this.bytes(b)
  }

  i64(v: bigint): this {
    const b = Buffer.alloc(8)
    b.writeBigInt64BE(v)
    return this.bytes(b)
  }

  char(c: string): this {
    return this.u8(c.charCodeAt(0))
  }

  /** A copy of everything written (flush() hands out a view of a buffer the Writer reuses). */
  done(): Buffer {
    return Buffer.from(this.flush())
  }
}

const namespaceOnWire = (ns: string): string => (ns === 'pg_catalog' ? '' : ns)

/** The TupleData of `row`; with keyOnly, non-key columns go out as the NULLs the server sends. */
export function writeTuple(w: Bytes, relation: Relation, row: ChangeRow, keyOnly: boolean): void {
  w.i16(relation.columns.length)
  for (const column of relation.columns) {
    const present = Object.hasOwn(row, column.name)
    if (keyOnly && !column.isKey) {
      if (present) throw new Error(`encoder: key tuple has non-key column ${column.name}`)
      w.char('n')
      continue
    }
    if (!present) throw new Error(`encoder: row has no column ${column.name}`)
    const value = row[column.name]
    if (value === null) w.char('n')
    else if (value === UNCHANGED_TOAST) w.char('u')
    else if (typeof value === 'string') {
      const b = Buffer.from(value, 'utf8')
      w.char('t').i32(b.length).bytes(b)
    } else if (Buffer.isBuffer(value)) w.char('b').i32(value.length).bytes(value)
    else throw new Error(`encoder: column ${column.name} has a value of type ${typeof value}`)
  }
}

function writeRelation(w: Bytes, r: Relation): void {
  w.u32(r.id).cstr(namespaceOnWire(r.namespace)).cstr(r.name).char(r.replicaIdentity).i16(r.columns.length)
  for (const c of r.columns) w.u8(c.isKey ? 1 : 0).cstr(c.name).u32(c.typeOid).i32(c.typeMod)
}

function xid(w: Bytes, event: { xid?: number }): void {
  if (event.xid !== undefined) w.u32(event.xid)
}

/** The pgoutput message that decodes to `event`. */
export function encodePgOutput(event: PgOutputEvent): Buffer {
  const w = new Bytes()
  switch (event.kind) {
    case 'begin':
      w.char('B').u64(event.finalLsn).i64(event.commitTimeMicros).u32(event.xid)
      break
    case 'commit':
      w.char('C').u8(event.flags).u64(event.commitLsn).u64(event.endLsn).i64(event.commitTimeMicros)
      break
    case 'origin':
      w.char('O').u64(event.originLsn).cstr(event.name)
      break
    case 'relation':
      w.char('R')
      xid(w, event)
      writeRelation(w, event.relation)
      break
    case 'type':
      w.char('Y')
      xid(w, event)
      w.u32(event.oid).cstr(namespaceOnWire(event.namespace)).cstr(event.name)
      break
    case 'insert':
      w.char('I')
      xid(w, event)
      w.u32(event.relation.id).char('N')
      writeTuple(w, event.relation, event.new, false)
      break
    case 'update':
      w.char('U')
      xid(w, event)
      w.u32(event.relation.id)
      if (event.old !== undefined) {
        w.char(event.oldKind === 'key' ? 'K' : 'O')
        writeTuple(w, event.relation, event.old, event.oldKind === 'key')
      }
      w.char('N')
      writeTuple(w, event.relation, event.new, false)
      break
    case 'delete':
      w.char('D')
      xid(w, event)
      w.u32(event.relation.id).char(event.oldKind === 'key' ? 'K' : 'O')
      writeTuple(w, event.relation, event.old, event.oldKind === 'key')
      break
    case 'truncate':
      w.char('T')
      xid(w, event)
      w.i32(event.relations.length).u8((event.cascade ? 1 : 0) | (event.restartIdentity ? 2 : 0))
      for (const r of event.relations) w.u32(r.id)
      break
    case 'message':
      w.char('M')
      xid(w, event)
      w.u8(event.transactional ? 1 : 0).u64(event.messageLsn).cstr(event.prefix).i32(event.content.length).bytes(event.content)
      break
    case 'streamStart':
      w.char('S').u32(event.xid).u8(event.firstSegment ? 1 : 0)
      break
    case 'streamStop':
      w.char('E')
      break
    case 'streamCommit':
      w.char('c').u32(event.xid).u8(event.flags).u64(event.commitLsn).u64(event.endLsn).i64(event.commitTimeMicros)
      break
    case 'streamAbort':
      w.char('A').u32(event.xid).u32(event.subxid)
      if (event.abortLsn !== undefined) w.u64(event.abortLsn).i64(event.abortTimeMicros!)
      break
    case 'beginPrepare':
      w.char('b').u64(event.prepareLsn).u64(event.endLsn).i64(event.prepareTimeMicros).u32(event.xid).cstr(event.gid)
      break
    case 'prepare':
    case 'streamPrepare':
      w.char(event.kind === 'prepare' ? 'P' : 'p')
      w.u8(event.flags).u64(event.prepareLsn).u64(event.endLsn).i64(event.prepareTimeMicros).u32(event.xid).cstr(event.gid)
      break
    case 'commitPrepared':
      w.char('K').u8(event.flags).u64(event.commitLsn).u64(event.endLsn).i64(event.commitTimeMicros).u32(event.xid).cstr(event.gid)
      break
    case 'rollbackPrepared':
      w.char('r').u8(event.flags).u64(event.prepareEndLsn).u64(event.rollbackEndLsn)
      w.i64(event.prepareTimeMicros).i64(event.rollbackTimeMicros).u32(event.xid).cstr(event.gid)
      break
    default: {
      const unreachable: never = event
      throw new Error(`encoder: unknown event ${JSON.stringify(unreachable)}`)
    }
  }
  return w.done()
}

/** The CopyData payload of an XLogData ('w') carrying `data`. */
export function xlogData(start: bigint, end: bigint, sendTime: bigint, data: Buffer): Buffer {
  return new Bytes().char('w').u64(start).u64(end).i64(sendTime).bytes(data).done()
}

/** The CopyData payload of a primary keepalive ('k'). */
export function keepalive(walEnd: bigint, sendTime: bigint, replyRequested: boolean): Buffer {
  return new Bytes().char('k').u64(walEnd).i64(sendTime).u8(replyRequested ? 1 : 0).done()
}
