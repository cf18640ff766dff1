// One query from call to result: what it needs to be (re)sent, where it is in
// its life, and how to end it. Kept apart from the wire requests so a query
// can wait in the client's queue, be described first, be retried once, or be
// aborted at any of those points.

import { DatabaseError } from '../errors/base.js'
import { createDatabaseError } from '../errors.js'
import type { TypeMap } from '../types/type-map.js'
import type { QueryRequest } from './ops/query.js'
import type { Result, RowMode } from '../types/result.js'

export type PendingState = 'queued' | 'describing' | 'sent' | 'done'

export interface Pending {
  readonly sql: string
  readonly params: readonly unknown[]
  readonly mode: RowMode
  /** The result format asked for: 'auto', 'text' or 'binary'. */
  readonly format: import('./query-options.js').ResultFormat
  readonly types: TypeMap
  readonly prepare: boolean
  /**
   * extended: Parse/Bind/Execute/Sync; simple: one Query message; pipelined:
   * a statement of an explicit pipeline (no Sync); sync: a pipeline's Sync.
   */
  readonly kind: 'extended' | 'simple' | 'pipelined' | 'sync' | 'describe' | 'stream' | 'copy'
  /** For 'copy': the request that handles the COPY exchange. */
  copy?: import('./session.js').Request & { onComplete: (() => void) | undefined }
  /** For 'stream': the request that reads the portal batch by batch. */
  stream?: { req: import('../client/stream.js').StreamRequest; batchSize: number }
  /** An explicitly prepared statement to execute (bypasses the cache), or to create for 'describe'. */
  statement?: import('./statement-cache.js').CachedStatement
  /** For pipelined statements and syncs: the group they belong to. */
  readonly group: import('../client/pipeline.js').PipelineGroupState | undefined
  state: PendingState
  /** Set once a stale prepared statement made us re-prepare and run it again. */
  retried: boolean
  /** Why it was aborted (an AbortSignal's reason or a TimeoutError), once it was. */
  abortReason: unknown
  request: QueryRequest | undefined
  /** The Parse/Describe round trip a new statement waits for ('describing'). */
  describe?: import('./session.js').Request
  cleanup: (() => void) | undefined
  /** With the request's own result (see Connection.run), or a rejecting promise. */
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

/** Statements whose named prepared statement went stale on the server: re-prepare and retry once. */
export function isStaleStatement(err: Error): 'changed' | 'missing' | undefined {
  if (!(err instanceof DatabaseError)) return undefined
  if (err.code === '26000') return 'missing'
  if (err.code === '0A000' && /cached plan must not change result type/.test(err.message)) return 'changed'
  return undefined
}
