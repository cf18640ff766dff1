// pgline/otel with the real OpenTelemetry SDK (an in-memory exporter) and
// the real server: spans for a query, a failed query, a pipeline, a pool
// checkout and a transaction, each with the database conventions'
// attributes and under the right parent.
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Pool, type Connection } from '../../src/index.js'
import { instrument, operationOf, type Instrumentation } from '../../src/otel/index.js'
import { connectAs, optionsFor } from './_util.js'

const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const manager = new AsyncLocalStorageContextManager()
let inst: Instrumentation
let conn: Connection
const tracer = provider.getTracer('app')
const SECRET = 'do-not-export-me'

beforeAll(async () => {
  context.setGlobalContextManager(manager.enable())
  inst = instrument({ tracerProvider: provider })
  conn = await connectAs('scram')
})

afterAll(async () => {
  inst?.disable()
  await conn?.close()
  context.disable()
  await provider.shutdown()
})

afterEach(() => exporter.reset())

const spans = (): ReadableSpan[] => exporter.getFinishedSpans()
const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId
const idOf = (s: ReadableSpan): string => s.spanContext().spanId

/** Runs fn under an application span and returns it once ended. */
async function underAppSpan(fn: () => Promise<unknown>): Promise<ReadableSpan> {
  await tracer.startActiveSpan('request', async (span) => {
    try {
      await fn()
    } finally {
      span.end()
    }
  })
  return spans().find((s) => s.name === 'request')!
}

describe('pgline/otel', () => {
  it("a query: a CLIENT span under the caller's active span, with the conventions' attributes and no values", async () => {
    const app = await underAppSpan(() => conn.query('select $1::text as v, generate_series(1, 2) as n', [SECRET]))
    const q = spans().find((s) => s.name.startsWith('SELECT'))!
    expect(q.name).toBe(`SELECT ${optionsFor('scram').database}`)
    expect(q.kind).toBe(2) // SpanKind.CLIENT
    expect(parentOf(q)).toBe(idOf(app))
    expect(q.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'db.namespace': optionsFor('scram').database,
      'db.query.text': 'select $1::text as v, generate_series(1, 2) as n',
      'db.operation.name': 'SELECT',
      'db.response.returned_rows': 2,
      'server.address': optionsFor('scram').host,
      'server.port': Number(optionsFor('scram').port),
    })
    expect(JSON.stringify(spans().map((s) => s.attributes))).not.toContain(SECRET)
  })

  it("a failed query: status ERROR, db.response.status_code the SQLSTATE; the server's message (which may quote a value) only when asked for", async () => {
    await underAppSpan(() => conn.query('select $1::text::int', [SECRET]).catch(() => undefined))
    const q = spans().find((s) => s.name.startsWith('SELECT'))!
    expect(q.status).toEqual({ code: 2, message: '22P02' }) // SpanStatusCode.ERROR
    expect(q.attributes).toMatchObject({ 'db.response.status_code': '22P02', 'error.type': '22P02' })
    expect(q.events).toEqual([])
    expect(JSON.stringify([q.attributes, q.status, q.events])).not.toContain(SECRET)
    exporter.reset()
    const verbose = instrument({ tracerProvider: provider, recordErrorMessages: true, allOperations: false })
    try {
      await conn.query('select 1/0').catch(() => undefined)
    } finally {
      verbose.disable()
    }
    const withMessage = spans().filter((s) => s.status.message === 'division by zero')
    expect(withMessage).toHaveLength(1)
    expect(withMessage[0]!.events.map((e) => e.name)).toEqual(['exception'])
  })

  it('a pipeline: one span per statement and one for the Sync, all under the caller', async () => {
    const app = await underAppSpan(() =>
      conn.pipeline(async (p) => {
        const a = p.query('select 1 as a')
        const b = p.query('select 2 as b')
        await p.sync()
        await Promise.all([a, b])
      }),
    )
    const statements = spans().filter((s) => s.name.startsWith('SELECT'))
    const sync = spans().find((s) => s.name === 'pipeline sync')!
    expect(statements).toHaveLength(2)
    expect(sync.attributes['db.operation.batch.size']).toBe(2)
    for (const s of [...statements, sync]) expect(parentOf(s)).toBe(idOf(app))
  })

  it("a pool checkout: 'pool acquire' and the query, siblings under the caller; the first connect under the checkout's caller too", async () => {
    const pool = new Pool(optionsFor('scram'), { max: 1 })
    try {
      const app = await underAppSpan(() => pool.query('select 1'))
      const acquire = spans().find((s) => s.name === 'pool acquire')!
      const q = spans().find((s) => s.name.startsWith('SELECT'))!
      expect(parentOf(acquire)).toBe(idOf(app))
      expect(parentOf(q)).toBe(idOf(app))
      expect(acquire.attributes['db.client.connection.wait_time_ms']).toEqual(expect.any(Number))
      const connectSpan = spans().find((s) => s.name === 'connect')
      expect(connectSpan?.attributes).toMatchObject({ 'db.postgresql.auth_method': 'scram-sha-256' })
    } finally {
      await pool.close()
    }
  })

  it("a transaction: its queries and a savepoint under the transaction's span, itself under the caller; a rollback says so", async () => {
    const app = await underAppSpan(() =>
      conn.transaction(async (tx) => {
        await tx.query('select 1')
        await tx.transaction(async (inner) => {
          await inner.query('select 2')
        })
      }),
    )
    const txSpan = spans().find((s) => s.name === 'transaction')!
    const sp = spans().find((s) => s.name === 'savepoint')!
    const selects = spans().filter((s) => s.name.startsWith('SELECT'))
    expect(parentOf(txSpan)).toBe(idOf(app))
    expect(parentOf(sp)).toBe(idOf(txSpan))
    expect(selects.map(parentOf).sort()).toEqual([idOf(txSpan), idOf(sp)].sort())
    expect(txSpan.attributes['db.postgresql.transaction.outcome']).toBe('commit')
    exporter.reset()
    await conn.transaction(async () => {
      throw new Error('changed my mind')
    }).catch(() => undefined)
    const rolled = spans().find((s) => s.name === 'transaction')!
    expect(rolled.status.code).toBe(2)
    expect(rolled.attributes['error.type']).toBe('Error')
  })

  it('disable() stops the spans', async () => {
    const other = instrument({ tracerProvider: provider })
    other.disable()
    other.disable()
    inst.disable()
    await conn.query('select 1')
    expect(spans()).toEqual([])
    inst = instrument({ tracerProvider: provider })
    await conn.query('select 1')
    expect(spans()).toHaveLength(1)
  })

  it('operationOf reads the first keyword after comments', () => {
    expect(operationOf('  -- hi\n/* x */ insert into t values (1)')).toBe('INSERT')
    expect(operationOf('with a as (select 1) select * from a')).toBe('WITH')
    expect(operationOf('')).toBeUndefined()
    expect(operationOf('/* unterminated')).toBeUndefined()
  })
})
