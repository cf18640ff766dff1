// The operations that have the connection to themselves until their
// ReadyForQuery: a stream (its portal lives until Sync) and COPY in either
// direction. Each claims the connection for its handle, is watched by its own
// signal and timeout, and is released when the engine sees it end. Shared by
// the connection and the transaction handles (on a token's behalf).

import { copyChannel, queryChannel, traceStarted, transactionOf, type CopyTraceContext, type QueryTraceContext } from './diagnostics.js'
import { InterfaceError } from '../errors/base.js'
import * as fe from '../protocol/frontend.js'
import type { Stopper } from '../session/engine.js'
import type { Description } from '../session/ops/describe.js'
import type { Request } from '../session/session.js'
import type { Wire } from '../session/wire.js'
import { copyBinaryEncoder } from '../types/copy-binary.js'
import type { Result, Row } from '../types/result.js'
import type { TypeMap } from '../types/type-map.js'
import { CopyIn, CopyInRequest, CopyInWire, CopyOut, textRowEncoder, type CopyOutHost } from './copy.js'
import { formatOf } from './copy-format.js'
import { binaryColumns, copyTarget, isIterable, type CopyOptions } from './copy-setup.js'
import { PortalControl, RowStream, StreamRequest, type StreamOptions } from './stream.js'
import type { Runner } from './runner.js'
import { checkTimeout, type AbortOptions, type Watchdog } from './watchdog.js'

/** What these operations need of the connection. */
export interface HeldHost extends Runner {
  readonly types: TypeMap
  readonly wire: Wire
  readonly watchdog: Watchdog
  /** Stops reading the socket (a slow COPY TO consumer), or starts again. */
  pause(): void
  resume(): void
}

const EMPTY: readonly unknown[] = []

function runQuery<R = Row>(host: HeldHost, token: object | undefined, sql: string, params: readonly unknown[]): Promise<Result<R>> {
  return host.run(token, { kind: 'extended', sql, params, options: {}, statement: undefined }) as Promise<Result<R>>
}

/** stream() on behalf of `parent` (a transaction handle's token, or undefined). */
export function openStream<R = Row>(host: HeldHost, parent: object | undefined, sql: string, params: readonly unknown[] = EMPTY, options: StreamOptions = {}): RowStream<R> {
  const batchSize = options.batchSize ?? 1000
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InterfaceError(`batchSize must be a positive integer, got ${batchSize}`)
  const types = options.types ?? host.types
  const timeout = checkTimeout(options.timeout)
  return new RowStream<R>(
    {
      openStream: (req, ps, batch) => {
        // Traced as a query of kind 'stream', from its start to the end of its cycle.
        const traced = queryChannel.hasSubscribers
          ? traceStarted(queryChannel, { kind: 'stream', sql, statementName: undefined, paramCount: ps.length, connection: host.traceInfo(), transaction: transactionOf(parent) } as QueryTraceContext)
          : undefined
        const run = runHeld(
          host,
          parent,
          req,
          sql,
          { signal: options.signal, timeout },
          (token, ended) =>
            host.run(token, {
              kind: 'stream',
              sql,
              params: ps,
              types,
              req,
              batchSize: batch,
              ended:
                traced === undefined
                  ? ended
                  : () => {
                      ended()
                      traced(req.failure)
                    },
            }),
          {
            // Close and Sync follow a running batch; the cancel cuts it short.
            stop: (err) => req.abort(err),
            cancel: () => host.engine.cancelRunning(req),
          },
        )
        if (traced === undefined) return run
        return run.catch((err: unknown) => {
          traced(err)
          throw err
        })
      },
    },
    () => new StreamRequest(sql, types, options.rowMode ?? 'object', new PortalControl(host.wire)),
    params,
    batchSize,
  )
}

/** copyFrom() on behalf of `parent`. */
export async function copyFrom(
  host: HeldHost,
  parent: object | undefined,
  sql: string,
  a?: CopyOptions | AsyncIterable<unknown> | Iterable<unknown>,
  b?: CopyOptions,
): Promise<CopyIn | number> {
  const source = isIterable(a) ? a : undefined
  const options = (source === undefined ? a : b) as CopyOptions | undefined
  if (!copyChannel.hasSubscribers) return copyFromNow(host, parent, sql, source, options)
  const ctx: CopyTraceContext = { direction: 'in', sql, connection: host.traceInfo(), transaction: transactionOf(parent) }
  const ended = traceStarted(copyChannel, ctx)
  try {
    const out = await copyFromNow(host, parent, sql, source, options, (err, count) => {
      ctx.rowCount = count
      ended(err)
    })
    if (typeof out === 'number') {
      ctx.rowCount = out
      ended(undefined)
    }
    return out
  } catch (err) {
    ended(err)
    throw err
  }
}

async function copyFromNow(
  host: HeldHost,
  parent: object | undefined,
  sql: string,
  source: AsyncIterable<unknown> | Iterable<unknown> | undefined,
  options: CopyOptions | undefined,
  traced?: (err: unknown, count?: number) => void,
): Promise<CopyIn | number> {
  // Checked before anything is claimed or sent.
  const abort = { signal: options?.signal, timeout: checkTimeout(options?.timeout) }
  const format = formatOf(sql)
  let binary: ((value: unknown, column: number) => Buffer) | undefined
  // Column types let typed rows use each type's own encoder (text forms of
  // geometry, ranges... as the server reads them); raw data needs none.
  const oids = source !== undefined || options?.columnTypes !== undefined || format.format === 'binary' ? await columnTypes(host, sql, options?.columnTypes, parent) : undefined
  if (format.format === 'binary' && oids !== undefined) {
    const elements = await runQuery<{ oid: number; elem: number }>(
      host,
      parent,
      'select oid::int8::float8 as oid, typelem::int8::float8 as elem from pg_type where oid = any($1::int8[]::oid[])',
      [oids],
    )
    const elementOf = new Map(elements.rows.map((r) => [r.oid, r.elem]))
    binary = binaryColumns(oids, oids.map((oid) => copyBinaryEncoder(host.types, oid, elementOf)))
  }
  const encoder = textRowEncoder(host.types, binary, oids)
  const req = new CopyInRequest(sql)
  await runHeld(host, parent, req, sql, abort, (token, ended) => host.run(token, { kind: 'copy', sql, req, ended }), {
    // CopyFail ends a COPY the server is reading (not once CopyDone is sent:
    // then the server's answer decides); the cancel, one it is busy with.
    stop: (err) => {
      if (req.doneSent) return
      req.abort(err)
      fe.copyFail(host.wire.writer, err.message)
    },
    cancel: () => host.engine.cancelRunning(req),
  })
  let info
  try {
    info = await req.ready()
  } catch (err) {
    await req.done().catch(() => undefined)
    throw err
  }
  const w = new CopyIn(new CopyInWire(host.wire, req), req, info, format, encoder)
  // A writer handed out: the COPY ends when its caller ends it.
  if (traced !== undefined && source === undefined) req.done().then((n) => traced(undefined, n), traced)
  return source === undefined ? w : w.from(source)
}

/** copyTo() on behalf of `parent`. */
export function copyTo(host: HeldHost, parent: object | undefined, sql: string, options: CopyOptions = {}): CopyOut {
  const format = formatOf(sql)
  const abort = { signal: options.signal, timeout: checkTimeout(options.timeout) }
  const out: CopyOutHost = {
    pause: () => host.pause(),
    resume: () => host.resume(),
    cancel: (req) => {
      if (host.engine.life === 'open' || host.engine.life === 'closing') host.engine.cancelRunning(req)
    },
    refuseCopyIn: () => {
      fe.copyFail(host.wire.writer, 'COPY FROM STDIN is not supported through copyTo(); use copyFrom()')
      host.wire.scheduleFlush()
    },
  }
  return new CopyOut(
    sql,
    {
      start: (req) => {
        const run = runHeld(host, parent, req, sql, abort, (token, ended) => host.run(token, { kind: 'copy', sql, req, ended }), {
          stop: (err) => req.abort(err),
          cancel: () => host.engine.cancelRunning(req),
        })
        if (!copyChannel.hasSubscribers) return run
        const ctx: CopyTraceContext = { direction: 'out', sql, connection: host.traceInfo(), transaction: transactionOf(parent) }
        const ended = traceStarted(copyChannel, ctx)
        void req.whenEnded().then(() => {
          ctx.rowCount = req.count
          ended(req.failure)
        })
        // Refused before it was queued (closed, or the connection is held): the request never ends.
        return run.catch((err: unknown) => {
          ended(err)
          throw err
        })
      },
      decoders: async (fmt) => {
        const oids = await columnTypes(host, sql, options.columnTypes, parent)
        return oids?.map((oid) => host.types.decoder(oid, fmt))
      },
    },
    out,
    format,
  )
}

/** Reading the socket, for a request whose consumer is slow (a replication stream). */
export interface Flow {
  pause(): void
  resume(): void
}

/**
 * A request that writes its own messages (pgline/pg's submittables, the
 * replication stream), holding the connection until its ReadyForQuery.
 */
export function exchange(host: HeldHost, sql: string, req: Request, start: (wire: Wire, flow: Flow) => void): Promise<void> {
  const flow: Flow = { pause: () => host.pause(), resume: () => host.resume() }
  return runHeld(host, undefined, req, sql, { signal: undefined, timeout: 0 }, (token, ended) => host.run(token, { kind: 'exchange', sql, req, write: () => start(host.wire, flow), ended }), {
    stop: () => undefined,
    cancel: () => host.engine.cancelRunning(req),
  })
}

/** Column type OIDs of a COPY: the ones given (OIDs or type names), or described from its table or query. */
async function columnTypes(host: HeldHost, sql: string, given: readonly (number | string)[] | undefined, parent: object | undefined): Promise<number[] | undefined> {
  if (given !== undefined) {
    return Promise.all(
      given.map(async (t) => {
        if (typeof t === 'number') return t
        const r = await runQuery<{ oid: number }>(host, parent, 'select $1::regtype::oid::int8::float8 as oid', [t])
        return r.rows[0]!.oid
      }),
    )
  }
  const target = copyTarget(sql)
  if (target === undefined) return undefined
  try {
    const d = (await host.run(parent, { kind: 'describe', sql: target, statement: undefined })) as Description
    return d.fields?.map((f) => f.typeOid)
  } catch {
    return undefined
  }
}

/**
 * Runs a stream's or COPY's request: claims the connection for a new token
 * (released when the request ends, or at once if it is refused), submits it,
 * and watches its signal and timeout for as long.
 */
async function runHeld(
  host: HeldHost,
  parent: object | undefined,
  req: Request,
  sql: string,
  abort: AbortOptions,
  submit: (token: object, ended: () => void) => Promise<unknown>,
  stopper: Stopper,
): Promise<void> {
  host.checkOpen()
  const token = {}
  host.engine.claim(token, parent, 'transaction()')
  const disarm = host.watchdog.guard(req, sql, abort, stopper)
  const ended = (): void => {
    disarm()
    host.engine.release(token, parent)
  }
  try {
    await submit(token, ended)
  } catch (err) {
    ended()
    throw err
  }
}
