// The Engine on its own, free of I/O: operations go in through admit() and
// submit(), the server's messages through the Session, and the test reads
// back the bytes the engine wrote and the effects it asked for (send,
// cancel). No server, socket, timer or promise: every step is synchronous.
import { describe, expect, it } from 'vitest'
import { ConnectionError, DatabaseError, PipelineAborted, ProtocolError, QueryCanceled } from '../../../src/errors.js'
import type { PipelineGroupState } from '../../../src/session/ops/pipeline.js'
import { commandComplete, errorResponse, readyForQuery } from '../../support/backend-encoder.js'
import { describeReply, executeReply, RecordingRequest, SansIo, unnamed, unnamedReply } from './_sans-io.js'

const SQL = 'select a from t'

const canceled = () => errorResponse({ code: '57014', message: 'canceling statement due to user request' })

/** Runs SQL once with prepare: true so that it is cached as pgline_1. */
function prepareOnce(t: SansIo, status: 'I' | 'T' = 'I'): void {
  const q = t.query(SQL, { prepare: true })
  expect(t.written()).toEqual([`Parse pgline_1 ${SQL}`, 'Describe S pgline_1', 'Sync'])
  t.reply(...describeReply(['a'], status))
  expect(t.written()).toEqual(['Bind pgline_1', 'Execute', 'Sync'])
  t.reply(...executeReply([['1']], status))
  expect(q.value).toMatchObject({ rows: [{ a: '1' }] })
}

describe('sans-IO engine: a new prepared statement', () => {
  it('is described first (Parse/Describe/Sync); a query submitted meanwhile waits; then both run in call order', () => {
    const t = new SansIo()
    const a = t.query(SQL, { prepare: true })
    expect(t.written()).toEqual([`Parse pgline_1 ${SQL}`, 'Describe S pgline_1', 'Sync'])
    expect(t.engine.state).toBe('describing')

    const b = t.query('select 2 as n')
    expect(t.written()).toEqual([])
    expect(b.p.state).toBe('queued')

    t.reply(...describeReply(['a']))
    expect(t.engine.state).toBe('ready')
    expect(t.written()).toEqual(['Bind pgline_1', 'Execute', 'Sync', ...unnamed('select 2 as n')])

    t.reply(...executeReply([['1']]))
    expect(a.value).toMatchObject({ command: 'SELECT', rows: [{ a: '1' }] })
    expect(b.settled).toBe(false)
    t.reply(...unnamedReply(['n'], [['2']]))
    expect(b.value).toMatchObject({ rows: [{ n: '2' }] })
  })
})

describe('sans-IO engine: cancel gating', () => {
  it('aborting the running query sends one CancelRequest and holds writes until the cancel settled and the query ended', () => {
    const t = new SansIo()
    const a = t.query('select pg_sleep(10)')
    const b = t.query('select 2')
    expect(t.written()).toEqual([...unnamed('select pg_sleep(10)'), ...unnamed('select 2')])

    const reason = new Error('stop it')
    const watch = t.engine.abort(a.p, reason)
    expect(t.cancels).toHaveLength(1)
    expect(watch?.running()).toBe(true)
    expect(t.engine.state).toBe('canceling')

    const c = t.query('select 3')
    expect(t.written()).toEqual([])

    t.reply(canceled(), readyForQuery('I'))
    expect(a.error).toBeInstanceOf(QueryCanceled)
    expect(a.error.cause).toBe(reason)
    // The query ended, but the CancelRequest has not settled: it could still hit what comes next.
    expect(t.engine.state).toBe('canceling')
    t.reply(...unnamedReply(['n'], [['2']]))
    expect(b.value).toMatchObject({ rows: [{ n: '2' }] })
    expect(t.written()).toEqual([])
    expect(c.settled).toBe(false)

    t.cancels[0]!()
    expect(t.engine.state).toBe('ready')
    expect(t.written()).toEqual(unnamed('select 3'))
    expect(t.cancels).toHaveLength(1)
  })

  it('aborting a sent query that waits behind another, with more pipelined behind it, abandons it: no CancelRequest, writes not held', () => {
    const t = new SansIo()
    const a = t.query('select pg_sleep(1)')
    const b = t.query('select 2')
    const c = t.query('select 3')
    t.written()
    const watch = t.engine.abort(b.p, new Error('too slow'))
    expect(watch).toBeUndefined()
    expect(t.cancels).toHaveLength(0)
    expect(b.error).toBeInstanceOf(QueryCanceled)
    expect(b.error.message).toMatch(/abandoned/)
    // Nothing is held: a new query is written at once.
    const d = t.query('select 4')
    expect(t.written()).toEqual(unnamed('select 4'))
    // The server answers all four in order; b's answer is dropped, the others get theirs.
    t.reply(...unnamedReply(['n'], [['1']]))
    t.reply(...unnamedReply(['n'], [['2']]))
    t.reply(...unnamedReply(['n'], [['3']]))
    t.reply(...unnamedReply(['n'], [['4']]))
    expect(a.value).toMatchObject({ rows: [{ n: '1' }] })
    expect(c.value).toMatchObject({ rows: [{ n: '3' }] })
    expect(d.value).toMatchObject({ rows: [{ n: '4' }] })
    expect(t.engine.state).toBe('ready')
  })

  it('a cancel that settles before the query ended still holds writes until its ReadyForQuery', () => {
    const t = new SansIo()
    const a = t.query('select pg_sleep(10)')
    t.written()
    t.engine.abort(a.p, 'stop')
    t.cancels[0]!()
    expect(t.engine.state).toBe('canceling')

    t.query('select 3')
    expect(t.written()).toEqual([])
    t.reply(canceled(), readyForQuery('I'))
    expect(a.error).toMatchObject({ code: '57014' })
    expect(t.engine.state).toBe('ready')
    expect(t.written()).toEqual(unnamed('select 3'))
  })

  it('aborting the second query while the first runs sends no CancelRequest until the first completes', () => {
    const t = new SansIo()
    const a = t.query('select 1')
    const b = t.query('select pg_sleep(10)')
    t.written()

    const watch = t.engine.abort(b.p, 'stop')
    expect(t.cancels).toHaveLength(0)
    expect(watch?.running()).toBe(false)
    // Nothing new may go out meanwhile: the cancel is still to come.
    expect(t.engine.state).toBe('canceling')

    t.reply(...unnamedReply(['n'], [['1']]))
    expect(a.value).toMatchObject({ rows: [{ n: '1' }] })
    expect(t.cancels).toHaveLength(1)
    expect(watch?.running()).toBe(true)

    t.reply(canceled(), readyForQuery('I'))
    expect(b.error).toBeInstanceOf(QueryCanceled)
    t.cancels[0]!()
    expect(t.engine.state).toBe('ready')
  })

  it('a query aborted behind a describe() is canceled once the description is in (the end of every request is seen, not only of queries)', () => {
    const t = new SansIo()
    const d = t.run({ kind: 'describe', sql: 'select 1 as a', statement: undefined })
    const b = t.query('select pg_sleep(10)')
    t.written()
    t.engine.abort(b.p, 'stop')
    expect(t.cancels).toHaveLength(0)

    t.reply(...describeReply(['a']))
    expect(d.value).toMatchObject({ paramOids: [] })
    expect(t.cancels).toHaveLength(1)
    t.reply(canceled(), readyForQuery('I'))
    t.cancels[0]!()
    expect(b.error).toBeInstanceOf(QueryCanceled)
    // Before, the cancel was never sent and writes stayed held for good.
    expect(t.engine.state).toBe('ready')
    t.query('select 3')
    expect(t.written()).toEqual(unnamed('select 3'))
  })
})

describe('sans-IO engine: aborts before anything ran', () => {
  it('a queued query (maxInFlight 1) settles at once with QueryCanceled, its cause the reason, and is never written', () => {
    const t = new SansIo({ maxInFlight: 1 })
    const a = t.query('select 1')
    const b = t.query('select 2')
    expect(t.written()).toEqual(unnamed('select 1'))

    const reason = new Error('not needed any more')
    expect(t.engine.abort(b.p, reason)).toBeUndefined()
    expect(b.error).toBeInstanceOf(QueryCanceled)
    expect(b.error.code).toBe('57014')
    expect(b.error.cause).toBe(reason)
    expect(t.cancels).toHaveLength(0)
    expect(t.engine.state).toBe('ready')

    t.reply(...unnamedReply(['n'], [['1']]))
    expect(a.value).toMatchObject({ rows: [{ n: '1' }] })
    expect(t.written()).toEqual([])
  })

  it('a query whose statement is being described settles when the description arrives; its Bind is never written', () => {
    const t = new SansIo()
    const a = t.query(SQL, { prepare: true })
    t.written()
    expect(a.p.state).toBe('describing')

    const reason = new Error('stop')
    t.engine.abort(a.p, reason)
    expect(t.cancels).toHaveLength(0)
    expect(a.settled).toBe(false)

    t.reply(...describeReply(['a']))
    expect(a.error).toBeInstanceOf(QueryCanceled)
    expect(a.error.cause).toBe(reason)
    expect(t.written()).toEqual([])
    expect(t.engine.state).toBe('ready')
  })

  it('describe() aborted while the server describes: the watch sees it running, and it rejects with QueryCanceled, not the description', () => {
    const t = new SansIo()
    const d = t.run({ kind: 'describe', sql: 'select $1::int as a', statement: undefined })
    expect(t.written()).toEqual(['Parse "" select $1::int as a', 'Describe S ""', 'Sync'])
    const reason = new Error('too slow')
    const watch = t.engine.abort(d.p, reason)
    // A silent server is then given up on after cancelGrace (the watchdog's timer).
    expect(watch?.running()).toBe(true)
    t.reply(...describeReply(['a']))
    expect(d.error).toBeInstanceOf(QueryCanceled)
    expect(d.error.cause).toBe(reason)
    expect(watch?.running()).toBe(false)
  })
})

describe('sans-IO engine: stale prepared statements', () => {
  it('26000 outside a transaction block: re-prepared under a new name and run again, once, transparently', () => {
    const t = new SansIo()
    prepareOnce(t)

    const q = t.query(SQL, { prepare: true })
    expect(t.written()).toEqual(['Bind pgline_1', 'Execute', 'Sync'])
    t.reply(errorResponse({ code: '26000', message: 'prepared statement "pgline_1" does not exist' }), readyForQuery('I'))
    expect(q.settled).toBe(false)
    expect(t.written()).toEqual([`Parse pgline_2 ${SQL}`, 'Describe S pgline_2', 'Sync'])

    t.reply(...describeReply(['a']))
    expect(t.written()).toEqual(['Bind pgline_2', 'Execute', 'Sync'])
    t.reply(...executeReply([['2']]))
    expect(q.value).toMatchObject({ rows: [{ a: '2' }] })
  })

  it('26000 twice in a row: retried only once, the second error reaches the caller', () => {
    const t = new SansIo()
    prepareOnce(t)
    const q = t.query(SQL, { prepare: true })
    t.written()
    t.reply(errorResponse({ code: '26000' }), readyForQuery('I'))
    t.reply(...describeReply(['a']))
    expect(t.written()).toEqual([`Parse pgline_2 ${SQL}`, 'Describe S pgline_2', 'Sync', 'Bind pgline_2', 'Execute', 'Sync'])
    t.reply(errorResponse({ code: '26000' }), readyForQuery('I'))
    expect(q.error).toMatchObject({ code: '26000' })
    expect(t.written()).toEqual([])
  })

  it.each(['T', 'E'] as const)('26000 inside a transaction block (ReadyForQuery %s): not retried, the error reaches the caller', (status) => {
    const t = new SansIo()
    prepareOnce(t, 'T')

    const q = t.query(SQL, { prepare: true })
    expect(t.written()).toEqual(['Bind pgline_1', 'Execute', 'Sync'])
    t.reply(errorResponse({ code: '26000', message: 'prepared statement "pgline_1" does not exist' }), readyForQuery(status))
    expect(q.error).toBeInstanceOf(DatabaseError)
    expect(q.error.code).toBe('26000')
    expect(t.written()).toEqual([])

    // The statement is forgotten all the same: the next run prepares it again.
    t.query(SQL, { prepare: true })
    expect(t.written()).toEqual([`Parse pgline_2 ${SQL}`, 'Describe S pgline_2', 'Sync'])
  })
})

describe('sans-IO engine: maxInFlight', () => {
  it('maxInFlight 2 with three queries: two written, the third after the first ReadyForQuery', () => {
    const t = new SansIo({ maxInFlight: 2 })
    const a = t.query('select 1')
    const b = t.query('select 2')
    const c = t.query('select 3')
    expect(t.written()).toEqual([...unnamed('select 1'), ...unnamed('select 2')])
    expect(t.engine.inFlight).toBe(3)

    t.reply(...unnamedReply(['n'], [['1']]))
    expect(a.value).toMatchObject({ rows: [{ n: '1' }] })
    expect(t.written()).toEqual(unnamed('select 3'))

    t.reply(...unnamedReply(['n'], [['2']]), ...unnamedReply(['n'], [['3']]))
    expect(b.value).toMatchObject({ rows: [{ n: '2' }] })
    expect(c.value).toMatchObject({ rows: [{ n: '3' }] })
    expect(t.engine.busy).toBe(false)
  })
})

describe('sans-IO engine: pipelines', () => {
  it('an error aborts the rest of the Sync group (PipelineAborted); the sync resolves at ReadyForQuery; groupsOpen until the Sync is written', () => {
    const t = new SansIo()
    const g: PipelineGroupState = { request: undefined }
    const group = () => g
    const a = t.run({ kind: 'pipelined', sql: 'insert into t values (1)', params: [], options: {}, group })
    expect(t.engine.groupsOpen).toBe(true)
    const b = t.run({ kind: 'pipelined', sql: 'select 2', params: [], options: {}, group })
    // No Sync after either statement: the group stays open.
    expect(t.written()).toEqual([
      ...unnamed('insert into t values (1)').slice(0, -1),
      ...unnamed('select 2').slice(0, -1),
    ])
    expect(t.engine.groupsOpen).toBe(true)

    const s = t.run({ kind: 'sync', group })
    expect(t.written()).toEqual(['Sync'])
    expect(t.engine.groupsOpen).toBe(false)

    t.reply({ type: 'ParseComplete' }, { type: 'BindComplete' }, errorResponse({ code: '23505', message: 'duplicate key' }))
    expect(a.error).toBeInstanceOf(DatabaseError)
    expect(a.error.code).toBe('23505')
    expect(b.error).toBeInstanceOf(PipelineAborted)
    expect(b.error.cause).toBe(a.error)
    expect(s.settled).toBe(false)

    t.reply(readyForQuery('I'))
    expect(s.outcome).toEqual({ ok: undefined })
    expect(t.engine.busy).toBe(false)
  })
})

describe('sans-IO engine: the connection fails', () => {
  it('fail() settles queued, sent and describing operations with ConnectionError (queued ones retry-safe), and the state is dead', () => {
    const t = new SansIo()
    const sent = t.query('select 1')
    const describing = t.query(SQL, { prepare: true })
    const queued = t.query('select 3')
    expect(t.written()).toEqual([...unnamed('select 1'), `Parse pgline_1 ${SQL}`, 'Describe S pgline_1', 'Sync'])
    expect([sent.p.state, describing.p.state, queued.p.state]).toEqual(['sent', 'describing', 'queued'])

    const cause = new ProtocolError('garbage from the server')
    t.engine.fail(cause)
    expect(t.engine.state).toBe('dead')
    expect(t.fatals).toEqual([cause])

    for (const c of [sent, describing, queued]) expect(c.error).toBeInstanceOf(ConnectionError)
    expect(sent.error.retrySafe).toBe(false)
    expect(sent.error.cause).toBe(cause)
    expect(queued.error.retrySafe).toBe(true)
    expect(queued.error.cause).toBe(cause)
    expect(t.written()).toEqual([])
    expect(t.engine.busy).toBe(false)
  })

  it('the lifecycle only moves forward: to() a later state is true, the same false, an earlier one throws', () => {
    const t = new SansIo()
    expect(t.engine.to('closing')).toBe(true)
    expect(t.engine.to('closing')).toBe(false)
    expect(t.engine.to('closed')).toBe(true)
    expect(t.engine.state).toBe('closed')
    expect(() => t.engine.to('open')).toThrow(/cannot go back to open/)
    expect(() => t.engine.to('closing')).toThrow(/cannot go back to closing/)
    expect(t.engine.to('dead')).toBe(true)
    expect(() => t.engine.to('closed')).toThrow(/cannot go back/)
    expect(t.engine.state).toBe('dead')
  })
})

describe('sans-IO engine: held requests (COPY)', () => {
  it('a COPY resolves once written and has the connection to itself; a query waits for its ReadyForQuery, after `ended` ran', () => {
    const t = new SansIo()
    const req = new RecordingRequest()
    /** How many bytes waited in the writer when `ended` ran. */
    const ended: number[] = []
    const copy = t.run({ kind: 'copy', sql: 'copy t from stdin', req, ended: () => ended.push(t.writer.length) })
    expect(copy.outcome).toEqual({ ok: undefined })
    expect(t.written()).toEqual(['Query copy t from stdin'])
    expect(t.engine.state).toBe('exclusive')

    const q = t.query('select 1')
    expect(t.written()).toEqual([])

    t.reply({ type: 'CopyInResponse', format: 0, columnFormats: [0] }, commandComplete('COPY 1'))
    expect(req.log).toEqual(['CopyInResponse', 'CommandComplete'])
    expect(t.written()).toEqual([])
    expect(ended).toEqual([])

    t.reply(readyForQuery('I'))
    expect(req.log).toEqual(['CopyInResponse', 'CommandComplete', 'complete I'])
    // `ended` ran before anything else was written.
    expect(ended).toEqual([0])
    expect(t.engine.state).toBe('ready')
    expect(t.written()).toEqual(unnamed('select 1'))
    t.reply(...unnamedReply(['n'], [['1']]))
    expect(q.value).toMatchObject({ rows: [{ n: '1' }] })
  })
})

describe('sans-IO engine: close', () => {
  it('closing with queries queued: settling while they wait, whenIdle(fn) runs once the queue has drained', () => {
    const t = new SansIo({ maxInFlight: 1 })
    t.query('select 1')
    t.query('select 2')
    t.query('select 3')
    expect(t.written()).toEqual(unnamed('select 1'))

    t.engine.to('closing')
    expect(t.engine.state).toBe('closing')
    expect(t.engine.settling).toBe(true)
    let idle = 0
    t.engine.whenIdle(() => idle++)

    // Queries queued before close() still go out.
    t.reply(...unnamedReply(['n'], [['1']]))
    expect(t.written()).toEqual(unnamed('select 2'))
    expect(idle).toBe(0)
    expect(t.engine.settling).toBe(true)

    t.reply(...unnamedReply(['n'], [['2']]))
    expect(t.written()).toEqual(unnamed('select 3'))
    expect(idle).toBe(1)
    expect(t.engine.settling).toBe(false)

    t.reply(...unnamedReply(['n'], [['3']]))
    expect(idle).toBe(1)
  })

  it('dropQueued() fails what a transaction still has queued when the connection closes; it is never written', () => {
    const t = new SansIo({ maxInFlight: 1 })
    const tx = {}
    t.engine.claim(tx, undefined, 'begin()')
    const a = t.query('select 1', {}, tx)
    const b = t.query('select 2', {}, tx)
    expect(t.written()).toEqual(unnamed('select 1'))

    t.engine.to('closing')
    // The transaction holds the connection: close() does not wait for its queue.
    expect(t.engine.settling).toBe(false)
    t.engine.to('closed')
    t.engine.dropQueued(() => new ConnectionError('closed before the query was sent', { retrySafe: true }))
    expect(b.error).toBeInstanceOf(ConnectionError)
    expect(b.error.retrySafe).toBe(true)

    t.reply(...unnamedReply(['n'], [['1']]))
    expect(a.value).toMatchObject({ rows: [{ n: '1' }] })
    expect(t.written()).toEqual([])
  })
})

// Two defects these tests found in the engine (both older than the move to
// session/), fixed since.
describe('sans-IO engine: found by these tests', () => {
  it('two queued executions of a stale statement both run on the statement the first one re-prepared (no third Parse, none leaked)', () => {
    const t = new SansIo()
    prepareOnce(t)
    const q1 = t.query(SQL, { prepare: true })
    const q2 = t.query(SQL, { prepare: true })
    expect(t.written()).toEqual(['Bind pgline_1', 'Execute', 'Sync', 'Bind pgline_1', 'Execute', 'Sync'])

    t.reply(errorResponse({ code: '26000' }), readyForQuery('I'))
    expect(t.written()).toEqual([`Parse pgline_2 ${SQL}`, 'Describe S pgline_2', 'Sync'])
    // q2's own 26000 (about pgline_1) must not drop pgline_2, which is being prepared.
    t.reply(errorResponse({ code: '26000' }), readyForQuery('I'))
    expect(t.written()).toEqual([])

    t.reply(...describeReply(['a']))
    // Not Parse pgline_3 (with pgline_2 left on the server, out of the cache).
    expect(t.written()).toEqual(['Bind pgline_2', 'Execute', 'Sync', 'Bind pgline_2', 'Execute', 'Sync'])
    t.reply(...executeReply([['2']]), ...executeReply([['3']]))
    expect(q1.value).toMatchObject({ rows: [{ a: '2' }] })
    expect(q2.value).toMatchObject({ rows: [{ a: '3' }] })
  })

  it('with maxInFlight 1 a pipeline still writes its later statements and its Sync (the group is one request, already in flight)', () => {
    const t = new SansIo({ maxInFlight: 1 })
    const g: PipelineGroupState = { request: undefined }
    const group = () => g
    const a = t.run({ kind: 'pipelined', sql: 'select 1 as n', params: [], options: {}, group })
    const b = t.run({ kind: 'pipelined', sql: 'select 2 as n', params: [], options: {}, group })
    const s = t.run({ kind: 'sync', group })
    // Not only the first statement: the rest and the Sync would wait for the
    // group's ReadyForQuery, which cannot come without that Sync.
    expect(t.written()).toEqual([...unnamed('select 1 as n').slice(0, -1), ...unnamed('select 2 as n').slice(0, -1), 'Sync'])

    t.reply(...unnamedReply(['n'], [['1']]).slice(0, -1), ...unnamedReply(['n'], [['2']]).slice(0, -1), readyForQuery('I'))
    expect(a.value).toMatchObject({ rows: [{ n: '1' }] })
    expect(b.value).toMatchObject({ rows: [{ n: '2' }] })
    expect(s.outcome).toEqual({ ok: undefined })
  })
})
