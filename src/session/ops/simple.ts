// The simple-protocol query: one Query message, any number of statements,
// one Result per statement (read by QueryRequest), one ReadyForQuery.

import * as fe from '../../protocol/frontend.js'
import type { Pending } from '../pending.js'
import type { OpContext } from './context.js'
import { QueryRequest } from './query.js'

export function sendSimple(ctx: OpContext, p: Pending): void {
  ctx.closeEvicted()
  fe.query(ctx.writer, p.sql)
  ctx.sent(p, new QueryRequest(p.sql, p.types, p.mode, p.limits, ctx.plainHooks, ...ctx.settle(p, undefined)))
}
