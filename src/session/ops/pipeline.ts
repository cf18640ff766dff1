// A statement of an explicit pipeline: written back to back with the others
// of its Sync group, with no Sync and no describe round trip (the pipeline
// must not stall), and the group's Sync. The server runs a group as one
// implicit transaction (unless a block is open) and after an error skips the
// rest of it: GroupRequest hands each statement its own replies and fails
// the skipped ones with PipelineAborted. The handle is client/pipeline.ts.

import { PipelineAborted, ProtocolError } from '../../errors/base.js'
import * as fe from '../../protocol/frontend.js'
import type { BackendMessage, TransactionStatus } from '../../protocol/messages.js'
import type { RowDecoder } from '../../types/result.js'
import { encodeTyped, encodeUntyped } from '../params.js'
import type { Op, Pending } from '../pending.js'
import type { Request } from '../session.js'
import { describeInto, fieldsFor, formatsOf, type CachedStatement } from '../statement-cache.js'
import type { OpContext } from './context.js'
import { QueryRequest, type QueryHooks } from './query.js'

/** The Sync group a pipelined statement belongs to; its request exists once the first statement is written. */
export interface PipelineGroupState {
  request: GroupRequest | undefined
}

/** The messages of one Sync group, handed statement by statement to their requests. */
export class GroupRequest implements Request {
  private readonly statements: QueryRequest[] = []
  private index = 0
  private abortedBy: Error | undefined
  /** Called when the group's ReadyForQuery arrives (no error) or the connection fails (its error). */
  private ended: ((err: Error | undefined) => void) | undefined

  /** Statements refused before sending, stood in for by a Bind the server refuses: the error to report. */
  private refusals: Map<QueryRequest, Error> | undefined

  /** A statement the client refused: `q` fails on the server, so the group aborts as for a server error, with `err` as the cause. */
  addRefused(q: QueryRequest, err: Error): void {
    ;(this.refusals ??= new Map()).set(q, err)
    this.add(q)
  }

  add(q: QueryRequest): void {
    this.statements.push(q)
    // After an error the server skips everything up to the Sync: say so now,
    // since a caller awaiting it before sync() would otherwise wait forever.
    if (this.abortedBy !== undefined) this.abortRest()
  }

  /** The statement the server is answering now. */
  get running(): QueryRequest | undefined {
    return this.statements[this.index]
  }

  get size(): number {
    return this.statements.length
  }

  /** Its Sync was written: `ended` runs when its ReadyForQuery arrives, or with the error if the connection fails first. */
  synced(ended: (err: Error | undefined) => void): void {
    this.ended = ended
  }

  get isSynced(): boolean {
    return this.ended !== undefined
  }

  handle(msg: BackendMessage): void {
    const q = this.statements[this.index]
    if (q === undefined) {
      if (msg.type === 'CloseComplete') return
      throw new ProtocolError(`unexpected ${msg.type} after the last pipelined statement`, msg.type)
    }
    q.handle(msg)
    switch (msg.type) {
      case 'CommandComplete':
      case 'EmptyQueryResponse':
      case 'PortalSuspended':
        this.index++
        q.complete('T')
        return
      case 'ErrorResponse':
        this.index++
        this.abortedBy = this.refusals?.get(q) ?? q.failure
        q.complete('E')
        this.abortRest()
        return
    }
  }

  /** Fails the statements the server will skip (or, at ReadyForQuery, never answered). */
  private abortRest(): void {
    const rest = this.statements.slice(this.index)
    this.index = this.statements.length
    for (const q of rest) {
      q.abandoned()
      q.fail(
        this.abortedBy
          ? new PipelineAborted(`not run: an earlier statement in the pipeline failed (${this.abortedBy.message})`, { cause: this.abortedBy })
          : new ProtocolError('the pipeline ended before this statement was answered'),
      )
    }
  }

  complete(_status: TransactionStatus): void {
    this.abortRest()
    this.ended?.(undefined)
  }

  fail(err: Error): void {
    const rest = this.statements.slice(this.index)
    this.index = this.statements.length
    for (const q of rest) q.fail(err)
    this.ended?.(err)
  }
}


const NONE: number[] = []
/** A prepared statement name nothing ever prepares (see refuseInGroup). */
const REFUSED_STATEMENT = 'pgline refused'

function noop(): void {}

export function sendPipelined(ctx: OpContext, p: Pending<Extract<Op, { kind: 'pipelined' }>>): void {
  const g = p.group!
  if (g.request === undefined) {
    g.request = new GroupRequest()
    ctx.expect(g.request)
    ctx.groupOpened(1)
  }
  const w = ctx.writer
  ctx.closeEvicted()
  let stmt = p.prepare ? ctx.cache.get(p.sql) : undefined
  let bind
  try {
    bind = stmt?.ready ? encodeTyped(p.types, stmt.paramOids, p.params) : encodeUntyped(p.types, p.params)
  } catch (err) {
    ctx.finish(p, err as Error)
    return refuseInGroup(ctx, p, g.request, err as Error)
  }
  let hooks = ctx.plainHooks
  let fields: CachedStatement['fields'] | undefined
  let plan: RowDecoder | undefined
  if (stmt?.ready) {
    fields = fieldsFor(stmt, p.types, ctx.types, p.format)
    fe.bind(w, '', stmt.name, bind.formats, bind.values, fields === stmt.fields ? stmt.resultFormats : formatsOf(fields))
    if (fields === stmt.fields) plan = ctx.planFor(stmt, p)
  } else if (p.prepare && stmt === undefined) {
    stmt = ctx.cache.add(p.sql)
    hooks = preparingHooks(ctx, stmt)
    fe.parse(w, stmt.name, p.sql, bind.oids)
    fe.describe(w, 'S', stmt.name)
    fe.bind(w, '', stmt.name, bind.formats, bind.values, NONE)
  } else {
    fe.parse(w, '', p.sql, bind.oids)
    fe.bind(w, '', '', bind.formats, bind.values, NONE)
    fe.describe(w, 'P', '')
  }
  fe.execute(w, '', 0)
  const req = new QueryRequest(p.sql, p.types, p.mode, p.limits, hooks, ...ctx.settle(p, undefined), fields, plan)
  p.state = 'sent'
  p.request = req
  g.request.add(req)
  ctx.wrote()
}

/**
 * A pipelined statement that cannot be encoded: the statements around it in
 * its Sync group must not commit without it, so a Bind of a statement that
 * does not exist stands in for it; the server refuses that, which aborts the
 * group as any error would.
 */
function refuseInGroup(ctx: OpContext, p: Pending, group: GroupRequest, err: Error): void {
  fe.bind(ctx.writer, '', REFUSED_STATEMENT, NONE, [], NONE)
  const stand = new QueryRequest(p.sql, p.types, p.mode, undefined, ctx.plainHooks, noop, noop)
  group.addRefused(stand, err)
  ctx.wrote()
}

/** The group's Sync; resolves once its ReadyForQuery is in (every statement of it has settled by then). */
export function sendPipelineSync(ctx: OpContext, p: Pending): void {
  const req = p.group!.request
  if (req === undefined) return ctx.finish(p, undefined)
  fe.sync(ctx.writer)
  ctx.groupOpened(-1)
  p.state = 'sent'
  req.synced((err) => ctx.finish(p, err))
  ctx.wrote()
}

/** Hooks of a pipelined statement that prepares a named statement on the way. */
function preparingHooks(ctx: OpContext, stmt: CachedStatement): QueryHooks {
  let parsed = false
  return {
    ...ctx.plainHooks,
    parsed: () => {
      parsed = true
    },
    described: (paramOids, fields) => {
      if (!parsed) return
      describeInto(stmt, paramOids, fields, ctx.types)
    },
    parseFailed: () => {
      if (!stmt.ready) ctx.cache.forget(stmt, false)
    },
  }
}
