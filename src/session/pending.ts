// One operation from call to result: what it needs to be (re)sent, where it
// is in its life, and how to end it. Kept apart from the wire requests so an
// operation can wait in the client's queue, be described first, be retried
// once, or be aborted at any of those points.

import { DatabaseError } from '../errors/base.js'
import { createDatabaseError } from '../errors.js'
import type { TypeMap } from '../types/type-map.js'
import type { RowMode } from '../types/result.js'
import type { QueryRequest } from './ops/query.js'
import type { PipelineGroupState } from './ops/pipeline.js'
import type { QueryOptions, ResultFormat, ResultLimits } from './query-options.js'
import type { Request } from './session.js'
import type { CachedStatement } from './statement-cache.js'

/**
 * What a caller asks the engine to run, one shape per operation; each kind
 * is written by its own file in ops/.
 * - extended: Parse/Bind/Execute/Sync (a cached or given prepared statement skips Parse);
 * - simple: one Query message, one result per statement;
 * - pipelined: a statement of an explicit pipeline (no Sync); sync: that pipeline's Sync;
 * - describe: Parse/Describe/Sync (into `statement` for prepare());
 * - stream: a portal read batch by batch; copy: a COPY through the simple protocol.
 *   Both hold the connection until their ReadyForQuery; `req` reads their
 *   replies for their handle, and `ended` runs when that arrives.
 * - exchange: the same hold for a request that writes its own messages
 *   (node-postgres's submittables, through pgline/pg).
 */
export type Op =
  | { kind: 'extended'; sql: string; params: readonly unknown[]; options: QueryOptions; statement: CachedStatement | undefined }
  | { kind: 'simple'; sql: string; options: QueryOptions }
  | { kind: 'pipelined'; sql: string; params: readonly unknown[]; options: QueryOptions; group: () => PipelineGroupState }
  | { kind: 'sync'; group: () => PipelineGroupState }
  | { kind: 'describe'; sql: string; statement: CachedStatement | undefined }
  | { kind: 'stream'; sql: string; params: readonly unknown[]; types: TypeMap; req: Request; batchSize: number; ended: () => void }
  | { kind: 'copy'; sql: string; req: Request; ended: () => void }
  | { kind: 'exchange'; sql: string; req: Request; write: () => void; ended: () => void }

export type OpKind = Op['kind']

export type PendingState = 'queued' | 'describing' | 'sent' | 'done'

export interface Pending<O extends Op = Op> {
  readonly op: O
  /** The statement text ('' for a pipeline's Sync). */
  readonly sql: string
  readonly params: readonly unknown[]
  readonly mode: RowMode
  /** The result format asked for: 'auto', 'text' or 'binary'. */
  readonly format: ResultFormat
  readonly types: TypeMap
  /** Whether to go through the statement cache. */
  readonly prepare: boolean
  /** For pipelined statements and syncs: the group they belong to. */
  readonly group: PipelineGroupState | undefined
  /** The maxRows / maxResultBytes its result is held to (extended, simple, pipelined); undefined: none. */
  readonly limits: ResultLimits | undefined
  state: PendingState
  /** Set once a stale prepared statement made us re-prepare and run it again. */
  retried: boolean
  /** Why it was aborted (an AbortSignal's reason or a TimeoutError), once it was. */
  abortReason: unknown
  /** The wire request of a sent extended, simple or pipelined statement. */
  request: QueryRequest | undefined
  /** The Parse/Describe round trip a new statement waits for ('describing'). */
  describe: Request | undefined
  /** Stops the watches of its signal and timeout (set by the connection). */
  cleanup: (() => void) | undefined
  /** With the operation's own result, or a rejecting promise (see Engine.finish). */
  resolve(value: unknown): void
  reject(err: Error): void
}

/** The error of a query aborted before or while it ran: QueryCanceled, with the reason as its cause. */
export function canceledError(sql: string, reason: unknown, sent: boolean): DatabaseError {
  const err = createDatabaseError(
    {
      severity: 'ERROR',
      code: '57014',
      message: sent ? 'canceling statement due to user request' : 'query canceled before it was sent',
    },
    sql,
  )
  Object.defineProperty(err, 'cause', { value: reason, enumerable: false, writable: true, configurable: true })
  return err
}

/**
 * The error of a sent query whose signal or timeout fired while other
 * statements were pipelined behind it: QueryCanceled (57014) for the
 * caller, though the server was not asked to cancel it and may complete it.
 */
export function abandonedError(sql: string, reason: unknown): DatabaseError {
  const err = createDatabaseError(
    {
      severity: 'ERROR',
      code: '57014',
      message: 'query abandoned: it was not canceled on the server, since other statements were pipelined behind it (a cancel could have stopped one of those); it may still complete',
    },
    sql,
  )
  Object.defineProperty(err, 'cause', { value: reason, enumerable: false, writable: true, configurable: true })
  return err
}

/** Statements whose named prepared statement went stale on the server: re-prepare and retry once. */
export function isStaleStatement(err: Error): 'changed' | 'missing' | undefined {
  if (!(err instanceof DatabaseError)) return undefined
  if (err.code === '26000') return 'missing'
  if (err.code === '0A000' && /cached plan must not change result type/.test(err.message)) return 'changed'
  return undefined
}
