// Describing a statement (Parse, Describe 'S', Sync), named when it is being
// prepared: the server's parameter types choose the encoders of every later
// execution, its fields the decoders and result formats. describe() and
// prepare() run it on its own; a new cached statement runs it first (query.ts).

import { ProtocolError } from '../../errors/base.js'
import { createDatabaseError } from '../../errors.js'
import type { BackendMessage } from '../../protocol/messages.js'
import type { Request } from '../session.js'
import type { Field } from '../../types/result.js'
import * as fe from '../../protocol/frontend.js'
import { canceledError, type Op, type Pending } from '../pending.js'
import { describeInto } from '../statement-cache.js'
import type { OpContext } from './context.js'

export interface Description {
  paramOids: number[]
  /** null for a statement that returns no rows. */
  fields: Field[] | null
}

export class DescribeRequest implements Request {
  private paramOids: number[] = []
  private fields: Field[] | null | undefined
  private error: Error | undefined

  constructor(
    private readonly sql: string,
    private readonly done: (err: Error | undefined, d: Description | undefined) => void,
  ) {}

  handle(msg: BackendMessage): void {
    switch (msg.type) {
      case 'ParseComplete':
      case 'CloseComplete':
        return
      case 'ParameterDescription':
        this.paramOids = msg.typeOids
        return
      case 'RowDescription':
        this.fields = msg.fields
        return
      case 'NoData':
        this.fields = null
        return
      case 'ErrorResponse':
        this.error ??= createDatabaseError(msg.fields, this.sql)
        return
      default:
        throw new ProtocolError(`unexpected ${msg.type} while describing a statement`, msg.type)
    }
  }

  complete(): void {
    if (this.error !== undefined) return this.done(this.error, undefined)
    if (this.fields === undefined) return this.done(new ProtocolError('statement description incomplete'), undefined)
    this.done(undefined, { paramOids: this.paramOids, fields: this.fields })
  }

  fail(err: Error): void {
    this.done(err, undefined)
  }
}

/** Parse + Describe + Sync for describe() and prepare() (into the given statement's name): resolves with the description. */
export function sendDescribe(ctx: OpContext, p: Pending<Extract<Op, { kind: 'describe' }>>): void {
  const name = p.op.statement?.name ?? ''
  ctx.closeEvicted()
  fe.parse(ctx.writer, name, p.sql, [])
  fe.describe(ctx.writer, 'S', name)
  fe.sync(ctx.writer)
  p.state = 'sent'
  // p.describe: an abort watches it, so a silent server still ends the wait (cancelGrace).
  ctx.expect(
    (p.describe = new DescribeRequest(p.sql, (err, d) => {
      if (err !== undefined || d === undefined) return ctx.finish(p, err ?? new ProtocolError('no description'))
      // Its signal or timeout fired while the server described it.
      if (p.abortReason !== undefined) return ctx.finish(p, canceledError(p.sql, p.abortReason, true))
      // prepare(): the statement is the caller's from now on.
      if (p.op.statement !== undefined) describeInto(p.op.statement, d.paramOids, d.fields, ctx.types)
      ctx.finish(p, undefined, d)
    })),
  )
  ctx.wrote()
}
