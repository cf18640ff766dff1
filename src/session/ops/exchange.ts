// A request that writes its own messages: node-postgres's submittables
// (pg-cursor, pg-query-stream) drive Parse/Bind/Execute/Sync themselves
// through pgline/pg. Like COPY, it has the connection to itself until its
// ReadyForQuery; what it writes meanwhile goes through the same Writer.

import type { Op, Pending } from '../pending.js'
import type { OpContext } from './context.js'

export function sendExchange(ctx: OpContext, p: Pending<Extract<Op, { kind: 'exchange' }>>): void {
  p.op.write()
  ctx.holdForRequest(p, p.op.req, p.op.ended)
}
