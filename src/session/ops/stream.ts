// A streamed result: Parse, Bind and Describe of the unnamed portal, then
// Execute with a row limit and Flush (no Sync: the portal must live). The
// handle (client/stream.ts) asks for later batches and ends the cycle with
// Close and Sync; its request reads the replies. The connection is the
// stream's alone until that Sync's ReadyForQuery.

import * as fe from '../../protocol/frontend.js'
import type { Op, Pending } from '../pending.js'
import type { OpContext } from './context.js'
import { writeUnnamedPortal } from './query.js'

export function sendStream(ctx: OpContext, p: Pending<Extract<Op, { kind: 'stream' }>>): void {
  if (!writeUnnamedPortal(ctx, p)) return
  fe.execute(ctx.writer, '', p.op.batchSize)
  fe.flush(ctx.writer)
  ctx.holdForRequest(p, p.op.req, p.op.ended)
}
