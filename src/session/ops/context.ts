// What an operation's file needs of the engine: the write buffer, the
// statement cache, and the few engine steps every operation shares. The
// engine implements it; ops never see the socket, timers or promises.

import type { Writer } from '../../protocol/writer.js'
import type { Result, RowDecoder } from '../../types/result.js'
import type { TypeMap } from '../../types/type-map.js'
import type { Gate } from '../gates.js'
import type { Pending } from '../pending.js'
import type { Request } from '../session.js'
import type { CachedStatement, StatementCache } from '../statement-cache.js'
import type { QueryHooks, QueryRequest } from './query.js'

export interface OpContext {
  readonly writer: Writer
  readonly cache: StatementCache
  /** The connection's own type map (decode plans are cached for it only). */
  readonly types: TypeMap
  /** Hooks of a statement that prepares nothing on the way. */
  readonly plainHooks: QueryHooks
  /** Writes Close for statements evicted from the cache; called before an operation's first message. */
  closeEvicted(): void
  /** Ends an operation, once: `err` rejects it, otherwise it resolves with `value`. */
  finish(p: Pending, err: Error | undefined, value?: unknown): void
  /** The resolve/reject of `p`'s wire request: one result or a list, the stale-statement retry, the abort's cause. */
  settle(p: Pending, stmt: CachedStatement | undefined): [(r: Result<unknown>[]) => void, (e: Error) => void]
  /** `p` is written as `req`: it joins the requests awaiting their ReadyForQuery, and goes out. */
  sent(p: Pending, req: QueryRequest): void
  /** A request (a describe, a pipeline group) joins the requests awaiting their ReadyForQuery. */
  expect(req: Request): void
  /** Runs `p` again from the top (a statement whose description just arrived). */
  dispatch(p: Pending): void
  /** Writes queued operations while nothing forbids it. */
  drain(): void
  /** What was written goes out by the end of this tick. */
  wrote(): void
  /** New operations wait to be written until releaseGate() (a statement being described). */
  hold(reason: 'describe'): Gate
  releaseGate(gate: Gate): void
  /** `req` has the connection to itself until its ReadyForQuery, when `ended` runs. */
  holdForRequest(p: Pending, req: Request, ended: () => void): void
  /** A pipeline group without its Sync yet opened (+1) or was synced (-1). */
  groupOpened(delta: 1 | -1): void
  /** The decode plan of `stmt` for `p`'s row mode, built once; undefined when it cannot be shared. */
  planFor(stmt: CachedStatement, p: Pending): RowDecoder | undefined
}
