// What PgOutputDecoder hands out: one event per pgoutput message, a union
// discriminated by `kind`. LSNs are bigints (see lsn.ts); every timestamp
// comes twice, as a Date and as the exact microseconds since 2000-01-01 the
// server sent (a Date drops the last three digits).

/**
 * A TOASTed value the change did not touch: the server does not send it
 * again, so the row cannot say what it is. Distinct from null (a NULL value)
 * and from a missing key. Symbol.for, so that two copies of pgline loaded in
 * one process agree on it.
 */
export const UNCHANGED_TOAST: unique symbol = Symbol.for('pgline.unchangedToast')
export type UnchangedToast = typeof UNCHANGED_TOAST

/** A changed row keyed by column name, values decoded like query results; UNCHANGED_TOAST may appear. */
export type ChangeRow = Record<string, unknown>

/** pg_class.relreplident: default (primary key), nothing, full, index. */
export type ReplicaIdentity = 'd' | 'n' | 'f' | 'i'

export interface RelationColumn {
  readonly name: string
  readonly typeOid: number
  readonly typeMod: number
  /** Part of the replica identity; with REPLICA IDENTITY FULL every column is. */
  readonly isKey: boolean
}

/** A published table as the last Relation message described it. Frozen: one object is shared by every event. */
export interface Relation {
  readonly id: number
  /** The schema; the server sends '' for pg_catalog, which is given here as 'pg_catalog'. */
  readonly namespace: string
  readonly name: string
  readonly replicaIdentity: ReplicaIdentity
  /** The published columns in tuple order (generated columns and those outside a column list are absent). */
  readonly columns: readonly RelationColumn[]
}

interface Base {
  /** The WAL start of the XLogData message that carried this event. */
  lsn: bigint
}

/**
 * Inside a stream block (protocol 2+), the changes of an in-progress
 * transaction carry its xid: the top-level one or, for some changes, a
 * subtransaction's. Outside a stream block it is undefined.
 */
interface Streamable extends Base {
  xid?: number
}

export interface BeginEvent extends Base {
  kind: 'begin'
  finalLsn: bigint
  commitTime: Date
  commitTimeMicros: bigint
  xid: number
}

export interface CommitEvent extends Base {
  kind: 'commit'
  flags: number
  commitLsn: bigint
  /** Acknowledge this once the transaction is stored: the slot may then move past it. */
  endLsn: bigint
  commitTime: Date
  commitTimeMicros: bigint
}

/** The transaction came from another node (replication origin); may repeat within a transaction. */
export interface OriginEvent extends Base {
  kind: 'origin'
  /** The commit LSN on the origin server. */
  originLsn: bigint
  name: string
}

export interface RelationEvent extends Streamable {
  kind: 'relation'
  relation: Relation
}

/** A non-built-in type a following Relation uses. */
export interface TypeEvent extends Streamable {
  kind: 'type'
  oid: number
  namespace: string
  name: string
}

export interface InsertEvent extends Streamable {
  kind: 'insert'
  relation: Relation
  new: ChangeRow
}

/**
 * `old` is there when the replica identity changed (oldKind 'key': only the
 * identity columns) or the table has REPLICA IDENTITY FULL (oldKind 'full':
 * the whole old row).
 */
export interface UpdateEvent extends Streamable {
  kind: 'update'
  relation: Relation
  old?: ChangeRow
  oldKind?: 'key' | 'full'
  new: ChangeRow
}

export interface DeleteEvent extends Streamable {
  kind: 'delete'
  relation: Relation
  /** The identity columns (oldKind 'key') or, with REPLICA IDENTITY FULL, the whole row ('full'). */
  old: ChangeRow
  oldKind: 'key' | 'full'
}

export interface TruncateEvent extends Streamable {
  kind: 'truncate'
  relations: Relation[]
  cascade: boolean
  restartIdentity: boolean
}

/** pg_logical_emit_message() output (needs the `messages` option). */
export interface MessageEvent extends Streamable {
  kind: 'message'
  /** Part of the surrounding transaction, rather than sent at once whatever the transaction does. */
  transactional: boolean
  messageLsn: bigint
  prefix: string
  /** A copy: it does not pin the received bytes. */
  content: Buffer
}

/** Changes of an in-progress transaction follow, until 'streamStop'. */
export interface StreamStartEvent extends Base {
  kind: 'streamStart'
  xid: number
  firstSegment: boolean
}

export interface StreamStopEvent extends Base {
  kind: 'streamStop'
}

export interface StreamCommitEvent extends Base {
  kind: 'streamCommit'
  xid: number
  flags: number
  commitLsn: bigint
  endLsn: bigint
  commitTime: Date
  commitTimeMicros: bigint
}

/**
 * A streamed transaction (subxid === xid) or one of its subtransactions
 * aborted. abortLsn and abortTime come only with protocol 4 and
 * streaming 'parallel'.
 */
export interface StreamAbortEvent extends Base {
  kind: 'streamAbort'
  xid: number
  subxid: number
  abortLsn?: bigint
  abortTime?: Date
  abortTimeMicros?: bigint
}

/** Two-phase (protocol 3+): the start of a transaction that will be prepared. */
export interface BeginPrepareEvent extends Base {
  kind: 'beginPrepare'
  prepareLsn: bigint
  endLsn: bigint
  prepareTime: Date
  prepareTimeMicros: bigint
  xid: number
  gid: string
}

export interface PrepareEvent extends Base {
  kind: 'prepare'
  flags: number
  prepareLsn: bigint
  endLsn: bigint
  prepareTime: Date
  prepareTimeMicros: bigint
  xid: number
  gid: string
}

export interface CommitPreparedEvent extends Base {
  kind: 'commitPrepared'
  flags: number
  commitLsn: bigint
  endLsn: bigint
  commitTime: Date
  commitTimeMicros: bigint
  xid: number
  gid: string
}

export interface RollbackPreparedEvent extends Base {
  kind: 'rollbackPrepared'
  flags: number
  prepareEndLsn: bigint
  rollbackEndLsn: bigint
  prepareTime: Date
  prepareTimeMicros: bigint
  rollbackTime: Date
  rollbackTimeMicros: bigint
  xid: number
  gid: string
}

/** A streamed transaction was prepared (protocol 3+, after its stream blocks). */
export interface StreamPrepareEvent extends Base {
  kind: 'streamPrepare'
  flags: number
  prepareLsn: bigint
  endLsn: bigint
  prepareTime: Date
  prepareTimeMicros: bigint
  xid: number
  gid: string
}

export type PgOutputEvent =
  | BeginEvent
  | CommitEvent
  | OriginEvent
  | RelationEvent
  | TypeEvent
  | InsertEvent
  | UpdateEvent
  | DeleteEvent
  | TruncateEvent
  | MessageEvent
  | StreamStartEvent
  | StreamStopEvent
  | StreamCommitEvent
  | StreamAbortEvent
  | BeginPrepareEvent
  | PrepareEvent
  | CommitPreparedEvent
  | RollbackPreparedEvent
  | StreamPrepareEvent

export type PgOutputEventKind = PgOutputEvent['kind']
