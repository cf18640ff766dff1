// The extended-protocol query. Its reply reader, QueryRequest, collects the
// results of one Sync (or simple Query) cycle: one Result per statement, the
// first error, and the decode plan of the current result; simple queries and
// pipelined statements read their replies with it too.

import { ConnectionError, ProtocolError, ResultTooLarge } from '../../errors/base.js'
import { createDatabaseError } from '../../errors.js'
import type { DatabaseError } from '../../errors.js'
import type { BackendMessage, TransactionStatus } from '../../protocol/messages.js'
import type { Request } from '../session.js'
import type { TypeMap } from '../../types/type-map.js'
import { columnError, DecodeError, parseCommandTag, RowDecoder, type Field, type Result, type RowMode } from '../../types/result.js'
import * as fe from '../../protocol/frontend.js'
import { encodeTyped, encodeUntyped } from '../params.js'
import type { Op, Pending } from '../pending.js'
import type { ResultLimits } from '../query-options.js'
import { describeInto, fieldsFor, formatsOf, type CachedStatement } from '../statement-cache.js'
import type { OpContext } from './context.js'
import { DescribeRequest } from './describe.js'

export { DecodeError }

export interface QueryHooks {
  /** ParseComplete arrived for a statement being prepared under a name. */
  parsed?(): void
  /** The server refused the Parse (an error before ParseComplete). */
  parseFailed?(): void
  /** The statement's description (Describe 'S'): parameter types and result fields. */
  described?(paramOids: number[], fields: Field[] | null): void
  /** The server wants COPY data that this request cannot give: answer with CopyFail. */
  copyInRefused(): void
  /** Every CommandComplete tag, for commands that affect the connection's own state. */
  commandTag?(tag: string): void
}

export class QueryRequest implements Request {
  readonly results: Result<unknown>[] = []
  private rows: unknown[] = []
  private plan: RowDecoder | undefined
  private error: Error | undefined
  private paramOids: number[] | undefined
  private copyOut = false
  private sawParse = false
  private columnRows = 0
  /** Rows and DataRow bytes received so far against `limits` (every result of a simple query together). */
  private limitRows = 0
  private limitBytes = 0

  constructor(
    readonly sql: string,
    private readonly types: TypeMap,
    private readonly mode: RowMode,
    /** maxRows / maxResultBytes; undefined (no limit) costs the row path one check. */
    private readonly limits: ResultLimits | undefined,
    private readonly hooks: QueryHooks,
    private readonly resolve: (results: Result<unknown>[]) => void,
    private readonly reject: (err: Error) => void,
    /** Known fields (a prepared statement): no RowDescription will come. */
    knownFields?: Field[] | null,
    /** A decode plan already built for those fields. */
    knownPlan?: RowDecoder,
  ) {
    if (knownPlan) this.plan = knownPlan
    else if (knownFields) this.plan = new RowDecoder(knownFields, types, mode)
  }

  handle(msg: BackendMessage): void {
    switch (msg.type) {
      case 'DataRow': {
        const plan = this.plan
        if (plan === undefined) throw new ProtocolError('DataRow without a row description')
        if (msg.offsets.length !== plan.fields.length * 2) {
          throw new ProtocolError(`DataRow has ${msg.offsets.length / 2} columns, the description ${plan.fields.length}`)
        }
        if (this.error !== undefined) return
        if (this.limits !== undefined && this.overLimit(this.limits, msg.offsets)) return
        try {
          const row = plan.decode(msg.buf, msg.offsets)
          if (row !== undefined) this.rows.push(row)
          else this.columnRows++
        } catch (err) {
          // A DecodeError already names its column (a batch of JSON values failed).
          this.error = err instanceof DecodeError ? err : this.decodeError(plan, msg.buf, msg.offsets, err)
        }
        return
      }
      case 'RowDescription':
        if (this.paramOids !== undefined) this.hooks.described?.(this.paramOids, msg.fields)
        this.plan = new RowDecoder(msg.fields, this.types, this.mode)
        return
      case 'CommandComplete': {
        this.hooks.commandTag?.(msg.tag)
        const { command, rowCount } = parseCommandTag(msg.tag)
        this.finish(command, rowCount)
        return
      }
      case 'EmptyQueryResponse':
        this.finish('', null)
        return
      case 'PortalSuspended':
        this.finish('SELECT', this.rows.length + this.columnRows)
        return
      case 'ErrorResponse':
        this.plan?.discard()
        if (!this.sawParse) this.hooks.parseFailed?.()
        // The first error wins; the server skips to Sync after it. A client-side
        // one (a row that would not decode, a result past its limit) gives way:
        // the server's says what became of the statement and the transaction.
        if (this.error === undefined || this.error instanceof DecodeError || this.error instanceof ResultTooLarge) {
          this.error = createDatabaseError(msg.fields, this.sql)
        }
        return
      case 'ParseComplete':
        this.sawParse = true
        this.hooks.parsed?.()
        return
      case 'ParameterDescription':
        this.paramOids = msg.typeOids
        return
      case 'NoData':
        if (this.paramOids !== undefined) this.hooks.described?.(this.paramOids, null)
        this.plan = undefined
        return
      case 'BindComplete':
      case 'CloseComplete':
        return
      case 'CopyInResponse':
        this.hooks.copyInRefused()
        return
      case 'CopyOutResponse':
        this.copyOut = true
        return
      case 'CopyData':
      case 'CopyDone':
        if (!this.copyOut) throw new ProtocolError(`${msg.type} outside COPY`)
        return
      default:
        throw new ProtocolError(`unexpected ${msg.type} in a query cycle`)
    }
  }

  /**
   * Counts a row against the limits; past one, records ResultTooLarge and
   * drops what was gathered, so this and every later row of the cycle is
   * skipped before decoding (the `error` check above).
   */
  private overLimit(limits: ResultLimits, offsets: Int32Array): boolean {
    let kind: 'rows' | 'bytes'
    if (++this.limitRows > limits.maxRows) kind = 'rows'
    else if (limits.maxBytes === Infinity || (this.limitBytes += dataRowBytes(offsets)) <= limits.maxBytes) return false
    else kind = 'bytes'
    this.error = new ResultTooLarge(kind, kind === 'rows' ? limits.maxRows : limits.maxBytes)
    this.rows = []
    this.columnRows = 0
    this.results.length = 0
    this.plan?.discard()
    return true
  }

  /** The error recorded so far (for a pipeline that must say what aborted it). */
  get failure(): Error | undefined {
    return this.error
  }

  /** The statement will never run (its pipeline group aborted first): nothing was prepared. */
  abandoned(): void {
    if (!this.sawParse) this.hooks.parseFailed?.()
  }

  private finish(command: string, rowCount: number | null): void {
    let columns: ReturnType<RowDecoder['takeColumns']>
    try {
      this.plan?.flush()
      columns = this.plan?.takeColumns()
    } catch (err) {
      this.error ??= err instanceof DecodeError ? err : new DecodeError(`cannot decode row: ${String(err)}`, '', 0, { cause: err })
    }
    const returned = this.rows.length + this.columnRows
    const result: Result<unknown> = {
      command,
      rowCount: command === 'SELECT' && rowCount === null ? returned : rowCount,
      rows: this.rows,
      fields: this.plan?.fields ?? [],
    }
    // A statement without a row description still answers with (empty) columns, so callers need no check.
    if (columns === undefined && this.mode === 'columns') columns = { names: [], values: [], nulls: [], length: 0 }
    if (columns !== undefined) result.columns = columns
    this.results.push(result)
    this.rows = []
    this.columnRows = 0
    this.copyOut = false
    // The next statement of a multi-statement query brings its own description (or none).
    this.plan = undefined
  }

  private decodeError(plan: RowDecoder, buf: Buffer, offsets: Int32Array, cause: unknown): DecodeError {
    // Find the column that fails, for a message that names it.
    for (let i = 0; i < plan.fields.length; i++) {
      const f = plan.fields[i]!
      const start = offsets[2 * i]!
      if (start === -1) continue
      try {
        this.types.decoder(f.typeOid, f.format)(buf, start, offsets[2 * i + 1]!)
      } catch (err) {
        return columnError(f, err)
      }
    }
    return new DecodeError(`cannot decode row: ${String(cause)}`, '', 0, { cause })
  }

  complete(_status: TransactionStatus): void {
    if (this.error !== undefined) this.reject(this.error)
    else this.resolve(this.results)
  }

  fail(err: Error): void {
    this.plan?.discard()
    // A FATAL ErrorResponse that preceded the close explains it better.
    const recorded = this.error as DatabaseError | undefined
    if (recorded !== undefined && 'severity' in recorded && (recorded.severity === 'FATAL' || recorded.severity === 'PANIC')) {
      this.reject(new ConnectionError(`connection closed by the server: ${recorded.message}`, { retrySafe: false, cause: recorded }))
    } else this.reject(err)
  }
}

/** A DataRow's size on the wire: type byte, length and column count, then each column's length word and bytes. */
function dataRowBytes(offsets: Int32Array): number {
  let n = 7
  for (let i = 0; i < offsets.length; i += 2) {
    const start = offsets[i]!
    n += start === -1 ? 4 : 4 + offsets[i + 1]! - start
  }
  return n
}

// --- The extended-protocol query: Parse (unless prepared), Bind, Execute, Sync.

const NONE: number[] = []

/** Writes one statement: prepared when cached, described first when new, unnamed when it may not be prepared. */
export function sendQuery(ctx: OpContext, p: Pending<Extract<Op, { kind: 'extended' }>>): void {
  if (p.op.statement !== undefined) return sendPrepared(ctx, p, p.op.statement)
  if (!p.prepare) return sendUnnamed(ctx, p)
  const stmt = ctx.cache.get(p.sql)
  if (stmt === undefined) return describeThenSend(ctx, p)
  if (stmt.ready) return sendPrepared(ctx, p, stmt)
  sendUnnamed(ctx, p) // being prepared elsewhere (a pipeline): go unnamed this once
}

/** Parse, Bind and Describe of the unnamed portal, parameters typed by their JS values; false when they cannot be encoded. */
export function writeUnnamedPortal(ctx: OpContext, p: Pending): boolean {
  let bind
  try {
    bind = encodeUntyped(p.types, p.params)
  } catch (err) {
    ctx.finish(p, err as Error)
    return false
  }
  const w = ctx.writer
  ctx.closeEvicted()
  fe.parse(w, '', p.sql, bind.oids)
  fe.bind(w, '', '', bind.formats, bind.values, NONE)
  fe.describe(w, 'P', '')
  return true
}

function sendUnnamed(ctx: OpContext, p: Pending): void {
  if (!writeUnnamedPortal(ctx, p)) return
  fe.execute(ctx.writer, '', 0)
  fe.sync(ctx.writer)
  ctx.sent(p, new QueryRequest(p.sql, p.types, p.mode, p.limits, ctx.plainHooks, ...ctx.settle(p, undefined)))
}

function sendPrepared(ctx: OpContext, p: Pending<Extract<Op, { kind: 'extended' }>>, stmt: CachedStatement): void {
  let bind
  try {
    bind = encodeTyped(p.types, stmt.paramOids, p.params)
  } catch (err) {
    return ctx.finish(p, err as Error)
  }
  const w = ctx.writer
  ctx.closeEvicted()
  const fields = fieldsFor(stmt, p.types, ctx.types, p.format)
  fe.bind(w, '', stmt.name, bind.formats, bind.values, fields === stmt.fields ? stmt.resultFormats : formatsOf(fields))
  fe.execute(w, '', 0)
  fe.sync(w)
  // An explicitly prepared statement is the caller's: no silent re-prepare.
  const cached = p.op.statement === undefined ? stmt : undefined
  const plan = fields === stmt.fields ? ctx.planFor(stmt, p) : undefined
  ctx.sent(p, new QueryRequest(p.sql, p.types, p.mode, p.limits, ctx.plainHooks, ...ctx.settle(p, cached), fields, plan))
}

/** Prepares and describes a new statement, holding later operations until its description is back; then runs `p` first. */
function describeThenSend(ctx: OpContext, p: Pending): void {
  const stmt = ctx.cache.add(p.sql)
  ctx.closeEvicted()
  fe.parse(ctx.writer, stmt.name, p.sql, [])
  fe.describe(ctx.writer, 'S', stmt.name)
  fe.sync(ctx.writer)
  p.state = 'describing'
  const gate = ctx.hold('describe')
  const req = new DescribeRequest(p.sql, (err, d) => {
    ctx.releaseGate(gate)
    if (err !== undefined || d === undefined) {
      ctx.cache.forget(stmt, false)
      ctx.finish(p, err ?? new ProtocolError('no description'))
    } else {
      describeInto(stmt, d.paramOids, d.fields, ctx.types)
      // This query goes first: it was called before everything now waiting.
      ctx.dispatch(p)
    }
    ctx.drain()
  })
  p.describe = req
  ctx.expect(req)
  ctx.wrote()
}
