// COPY, in either direction: the statement goes through the simple protocol
// and the server answers CopyInResponse or CopyOutResponse. The handles
// (client/copy.ts) write the data or read it through their request; the
// connection is the COPY's alone until its ReadyForQuery.

import * as fe from '../../protocol/frontend.js'
import type { Op, Pending } from '../pending.js'
import type { OpContext } from './context.js'

export function sendCopy(ctx: OpContext, p: Pending<Extract<Op, { kind: 'copy' }>>): void {
  ctx.closeEvicted()
  fe.query(ctx.writer, p.sql)
  ctx.holdForRequest(p, p.op.req, p.op.ended)
}
