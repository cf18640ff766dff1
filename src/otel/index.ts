// pgline/otel: OpenTelemetry spans from pgline's diagnostics channels.
// `instrument()` subscribes to the channels and turns each traced operation
// into a CLIENT span following the database semantic conventions
// (db.system.name, db.namespace, db.query.text, db.operation.name,
// db.response.status_code, server.address, server.port). A span's parent is
// the caller's active context when the operation starts, or, for what runs
// inside a pgline transaction, that transaction's span. Parameter values are
// never recorded. @opentelemetry/api is an optional peer dependency of this
// subpath only; the core never loads it.
import dc from 'node:diagnostics_channel'
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type TracerProvider } from '@opentelemetry/api'
import {
  CHANNELS,
  type ConnectionTraceInfo,
  type ConnectTraceContext,
  type CopyTraceContext,
  type PipelineSyncTraceContext,
  type PoolAcquireTraceContext,
  type QueryTraceContext,
  type TransactionTraceContext,
} from '../client/diagnostics.js'

export interface InstrumentOptions {
  /** Where spans go; default: the global tracer provider. */
  tracerProvider?: TracerProvider
  /** Record `db.query.text` (default true). The text has placeholders, never values; turn it off if your SQL embeds literals you must not export. */
  recordQueryText?: boolean
  /**
   * Record errors' messages (the span status message and an exception event;
   * default false). A server's message may quote the value it refused, such
   * as a parameter that was not a valid integer; off, a failed span carries
   * the SQLSTATE and the error's class only.
   */
  recordErrorMessages?: boolean
  /** Spans for pool checkouts, connects, pipeline Syncs, COPY and transactions, besides queries (default true). */
  allOperations?: boolean
}

export interface Instrumentation {
  /** Unsubscribes: no more spans from pgline. */
  disable(): void
}

const SCOPE = 'pgline'
const VERSION = '0.1.0'

type Handlers<C> = { start(ctx: C): void; end(ctx: C): void; asyncStart(ctx: C): void; asyncEnd(ctx: C): void; error(ctx: C): void }

/** Subscribes to pgline's channels and makes OpenTelemetry spans of what they publish. */
export function instrument(options: InstrumentOptions = {}): Instrumentation {
  const provider = options.tracerProvider ?? trace.getTracerProvider()
  const tracer = provider.getTracer(SCOPE, VERSION)
  const recordText = options.recordQueryText ?? true
  const recordMessages = options.recordErrorMessages ?? false
  const spans = new WeakMap<object, Span>()
  const subscriptions: (() => void)[] = []

  const subscribe = <C extends { error?: unknown }>(name: string, begin: (ctx: C) => { name: string; attributes: Attributes; parent?: object }, finish?: (ctx: C, span: Span) => void): void => {
    const channel = dc.tracingChannel<unknown, C & object>(name)
    const handlers: Handlers<C & object> = {
      start(ctx) {
        const { name: spanName, attributes, parent } = begin(ctx)
        const parentSpan = parent === undefined ? undefined : spans.get(parent)
        const parentContext: Context = parentSpan !== undefined ? trace.setSpan(context.active(), parentSpan) : context.active()
        spans.set(ctx, tracer.startSpan(spanName, { kind: SpanKind.CLIENT, attributes }, parentContext))
      },
      end() {},
      asyncStart() {},
      error(ctx) {
        const span = spans.get(ctx)
        if (span === undefined) return
        const err = ctx.error
        const code = sqlState(err)
        if (code !== undefined) span.setAttribute('db.response.status_code', code)
        span.setAttribute('error.type', code ?? errorName(err))
        // An error's message may quote the value the server refused (a
        // parameter): recorded only when asked for.
        if (recordMessages && err instanceof Error) span.recordException(err)
        span.setStatus({ code: SpanStatusCode.ERROR, message: recordMessages && err instanceof Error ? err.message : (code ?? errorName(err)) })
      },
      asyncEnd(ctx) {
        const span = spans.get(ctx)
        if (span === undefined) return
        spans.delete(ctx)
        if (ctx.error === undefined) finish?.(ctx, span)
        span.end()
      },
    }
    channel.subscribe(handlers)
    subscriptions.push(() => channel.unsubscribe(handlers))
  }

  subscribe<QueryTraceContext>(
    CHANNELS.query,
    (ctx) => {
      const operation = operationOf(ctx.sql)
      const attributes = connectionAttributes(ctx.connection)
      if (recordText) attributes['db.query.text'] = ctx.sql
      if (operation !== undefined) attributes['db.operation.name'] = operation
      if (ctx.statementName !== undefined) attributes['db.postgresql.statement_name'] = ctx.statementName
      return { name: spanName(operation, ctx.connection), attributes, parent: ctx.transaction }
    },
    (ctx, span) => {
      if (typeof ctx.rowCount === 'number') span.setAttribute('db.response.returned_rows', ctx.rowCount)
      if (ctx.command) span.setAttribute('db.operation.name', ctx.command)
    },
  )

  if (options.allOperations ?? true) {
    subscribe<ConnectTraceContext>(
      CHANNELS.connect,
      (ctx) => ({ name: 'connect', attributes: { 'db.system.name': 'postgresql', 'db.namespace': ctx.database, 'server.address': ctx.host, 'server.port': ctx.port } }),
      (ctx, span) => {
        span.setAttributes({ 'server.address': ctx.host, 'server.port': ctx.port })
        if (ctx.authMethod !== undefined) span.setAttribute('db.postgresql.auth_method', ctx.authMethod)
        if (ctx.processId !== undefined) span.setAttribute('db.postgresql.process_id', ctx.processId)
      },
    )
    subscribe<PoolAcquireTraceContext>(
      CHANNELS.poolAcquire,
      (ctx) => ({ name: 'pool acquire', attributes: { 'db.system.name': 'postgresql', 'db.namespace': ctx.pool.database, 'server.address': ctx.pool.host, 'server.port': ctx.pool.port } }),
      (ctx, span) => {
        if (ctx.waitedMs !== undefined) span.setAttribute('db.client.connection.wait_time_ms', ctx.waitedMs)
        if (ctx.connection !== undefined) span.setAttribute('db.postgresql.process_id', ctx.connection.processId)
      },
    )
    subscribe<PipelineSyncTraceContext>(CHANNELS.pipelineSync, (ctx) => ({
      name: 'pipeline sync',
      attributes: { ...connectionAttributes(ctx.connection), 'db.operation.batch.size': ctx.statements },
      parent: ctx.transaction,
    }))
    subscribe<CopyTraceContext>(
      CHANNELS.copy,
      (ctx) => {
        const attributes = connectionAttributes(ctx.connection)
        attributes['db.operation.name'] = 'COPY'
        if (recordText) attributes['db.query.text'] = ctx.sql
        return { name: spanName('COPY', ctx.connection), attributes, parent: ctx.transaction }
      },
      (ctx, span) => {
        if (ctx.rowCount !== undefined) span.setAttribute('db.response.returned_rows', ctx.rowCount)
      },
    )
    subscribe<TransactionTraceContext>(
      CHANNELS.transaction,
      (ctx) => ({ name: ctx.savepoint ? 'savepoint' : 'transaction', attributes: { ...connectionAttributes(ctx.connection), 'db.postgresql.begin': ctx.begin }, parent: ctx.transaction }),
      (ctx, span) => {
        if (ctx.outcome !== undefined) span.setAttribute('db.postgresql.transaction.outcome', ctx.outcome)
      },
    )
  }

  let enabled = true
  return {
    disable() {
      if (!enabled) return
      enabled = false
      for (const u of subscriptions.splice(0)) u()
    },
  }
}

function connectionAttributes(c: ConnectionTraceInfo): Attributes {
  return { 'db.system.name': 'postgresql', 'db.namespace': c.database, 'server.address': c.host, 'server.port': c.port }
}

/** The span name the conventions ask for when there is no query summary: the operation and the namespace. */
function spanName(operation: string | undefined, c: ConnectionTraceInfo): string {
  return operation !== undefined ? `${operation} ${c.database}` : c.database || 'postgresql'
}

/**
 * The statement's first keyword ('SELECT', 'INSERT' ...), after any leading
 * comments. A CTE starts as 'WITH'; the command tag corrects it at the end.
 */
export function operationOf(sql: string): string | undefined {
  let i = 0
  const n = sql.length
  for (;;) {
    while (i < n && /\s/.test(sql[i]!)) i++
    if (sql.startsWith('--', i)) {
      const nl = sql.indexOf('\n', i)
      if (nl === -1) return undefined
      i = nl + 1
      continue
    }
    if (sql.startsWith('/*', i)) {
      const close = sql.indexOf('*/', i + 2)
      if (close === -1) return undefined
      i = close + 2
      continue
    }
    break
  }
  let j = i
  while (j < n && /[A-Za-z_]/.test(sql[j]!)) j++
  return j > i ? sql.slice(i, j).toUpperCase() : undefined
}

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err
}

