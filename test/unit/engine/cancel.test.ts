// Cancel gating: a CancelRequest goes over a connection of its own and may
// land whenever the server reads it, so until both the cancel has settled
// (the server closed its connection) and the canceled request's
// ReadyForQuery has arrived, nothing new is written: a late cancel must not
// hit a later query. And a cancel is sent only once the request to cancel is
// the one the server is running, never while an earlier one still runs.
import { describe, expect, it } from 'vitest'
import { ConnectionError, DatabaseError, QueryCanceled, TimeoutError } from '../../../src/index.js'
import { errorResponse, readyForQuery, rowDescription, dataRow } from '../../support/backend-encoder.js'
import { expectQuiet, outcome, readThrough, settle, startRig, unnamed, unnamedReply, wire, read } from './_harness.js'

const canceled = errorResponse({ code: '57014', message: 'canceling statement due to user request' })

describe('cancel gating', () => {
  it.each(['ReadyForQuery first', 'cancel first'] as const)(
    'after an aborted query, nothing new is written until its cancel and its ReadyForQuery have both settled (%s)',
    async (order) => {
      const rig = await startRig()
      const { c, s, hs } = await rig.connect({ prepare: false, cancelGrace: 0 })
      const ac = new AbortController()
      const reason = new Error('stop it')
      const a = outcome(c.query('select pg_sleep(10)', [], { signal: ac.signal }))
      expect(await readThrough(s, 'Sync')).toEqual(unnamed('select pg_sleep(10)'))

      ac.abort(reason)
      const b = outcome(c.query('select 2 as b'))
      const k = await rig.cancels.next()
      expect(k.packet).toEqual({ type: 'CancelRequest', processId: hs.processId, secretKey: hs.secretKey })
      await expectQuiet(s, 'the next query waits while the cancel is out')

      const answerA = () => s.send({ type: 'ParseComplete' }, { type: 'BindComplete' }, rowDescription(['x']), canceled, readyForQuery())
      if (order === 'ReadyForQuery first') {
        await answerA()
        const ra = await a
        expect('err' in ra && ra.err).toBeInstanceOf(QueryCanceled)
        expect(((ra as { err: Error }).err).cause).toBe(reason)
        await expectQuiet(s, 'the canceled query is answered, but the cancel has not settled')
        k.release()
      } else {
        k.release()
        await expectQuiet(s, 'the cancel settled, but the canceled query is not answered yet')
        await answerA()
        const ra = await a
        expect('err' in ra && ra.err).toBeInstanceOf(QueryCanceled)
      }

      expect(await readThrough(s, 'Sync')).toEqual(unnamed('select 2 as b'))
      await s.send(...unnamedReply(['b'], [['2']]))
      expect(await b).toEqual({ ok: expect.objectContaining({ rows: [{ b: '2' }] }) })
      expect(wire(s)).toEqual([...unnamed('select pg_sleep(10)'), ...unnamed('select 2 as b')])
      expect(rig.cancels.seen).toHaveLength(1)
    },
  )

  it('sends the cancel only once the aborted query is the one running, never while an earlier query runs', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false, cancelGrace: 0 })
    const ac = new AbortController()
    const a = c.query('select 1 as a')
    const b = outcome(c.query('select 2 as b', [], { signal: ac.signal }))
    expect(await read(s, 10)).toEqual([...unnamed('select 1 as a'), ...unnamed('select 2 as b')])

    ac.abort()
    const third = outcome(c.query('select 3 as c'))
    await expectQuiet(s, 'a query issued after the abort is held')
    expect(rig.cancels.seen, 'no cancel while the first query runs: it would cancel that one').toHaveLength(0)

    await s.send(...unnamedReply(['a'], [['1']]))
    expect((await a).rows).toEqual([{ a: '1' }])
    const k = await rig.cancels.next()
    await expectQuiet(s)

    await s.send({ type: 'ParseComplete' }, { type: 'BindComplete' }, rowDescription(['b']), canceled, readyForQuery())
    const rb = await b
    expect('err' in rb && rb.err).toBeInstanceOf(QueryCanceled)
    await expectQuiet(s, 'the cancel has not settled')
    k.release()

    expect(await readThrough(s, 'Sync')).toEqual(unnamed('select 3 as c'))
    await s.send(...unnamedReply(['c'], [['3']]))
    expect(await third).toEqual({ ok: expect.objectContaining({ rows: [{ c: '3' }] }) })
    expect(rig.cancels.seen).toHaveLength(1)
  })

  it('the server finishing the query before the cancel lands: the query keeps its result, later queries still wait for the cancel', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false, cancelGrace: 0 })
    const ac = new AbortController()
    const a = outcome(c.query('select 1 as a', [], { signal: ac.signal }))
    await readThrough(s, 'Sync')
    ac.abort()
    const k = await rig.cancels.next()
    await s.send(...unnamedReply(['a'], [['1']]))
    // The server's answer wins: the rows came, so the query has them.
    expect(await a).toEqual({ ok: expect.objectContaining({ rows: [{ a: '1' }] }) })
    const b = outcome(c.query('select 2 as b'))
    await expectQuiet(s, 'a late cancel could still hit this query')
    k.release()
    expect(await readThrough(s, 'Sync')).toEqual(unnamed('select 2 as b'))
    await s.send(...unnamedReply(['b'], [['2']]))
    expect(await b).toEqual({ ok: expect.objectContaining({ rows: [{ b: '2' }] }) })
  })

  it('a timeout cancels as a signal does: QueryCanceled caused by a TimeoutError, then the connection goes on', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false, cancelGrace: 0 })
    const a = outcome(c.query('select pg_sleep(10)', [], { timeout: 1 }))
    await readThrough(s, 'Sync')
    const k = await rig.cancels.next()
    await s.send({ type: 'ParseComplete' }, { type: 'BindComplete' }, rowDescription(['x']), canceled, readyForQuery())
    k.release()
    const ra = await a
    const err = (ra as { err: DatabaseError }).err
    expect(err).toBeInstanceOf(QueryCanceled)
    expect(err.cause).toBeInstanceOf(TimeoutError)
    const b = c.query('select 2 as b')
    expect(await readThrough(s, 'Sync')).toEqual(unnamed('select 2 as b'))
    await s.send(...unnamedReply(['b'], [['2']]))
    expect((await b).rows).toEqual([{ b: '2' }])
  })

  it('aborting a stream mid-way writes Close and Sync, sends a cancel, and holds the next query until both settle', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false, cancelGrace: 0 })
    const ac = new AbortController()
    const reason = new Error('enough')
    const it = c.stream<{ n: string }>('select n from t', [], { batchSize: 2, signal: ac.signal })[Symbol.asyncIterator]()
    const first = it.next()
    expect(await read(s, 5)).toEqual(['Parse "" select n from t', 'Bind ""', 'Describe P ""', 'Execute 2', 'Flush'])
    await s.send({ type: 'ParseComplete' }, { type: 'BindComplete' }, rowDescription(['n']), dataRow(['1']), dataRow(['2']), { type: 'PortalSuspended' })
    expect(await first).toEqual({ done: false, value: { n: '1' } })
    // One batch ahead: the next Execute went out before the rows were handed over.
    expect(await read(s, 2)).toEqual(['Execute 2', 'Flush'])

    ac.abort(reason)
    expect(await readThrough(s, 'Sync')).toEqual(['Close P ""', 'Sync'])
    const k = await rig.cancels.next()
    // The rows already received may still be handed out; then the abort's error.
    const rest = outcome(
      (async () => {
        for (let r = await it.next(); !r.done; r = await it.next()) expect(r.value).toEqual({ n: '2' })
      })(),
    )
    await s.send(canceled, readyForQuery())
    const r = await rest
    expect('err' in r && r.err).toBeInstanceOf(QueryCanceled)
    expect((r as { err: Error }).err.cause).toBe(reason)

    const b = outcome(c.query('select 2 as b'))
    await expectQuiet(s, 'the stream ended, but its cancel has not settled')
    k.release()
    expect(await readThrough(s, 'Sync')).toEqual(unnamed('select 2 as b'))
    await s.send(...unnamedReply(['b'], [['2']]))
    expect(await b).toEqual({ ok: expect.objectContaining({ rows: [{ b: '2' }] }) })
  })

  it('a canceled query the server never answers: after cancelGrace of silence the connection is closed, every request rejects', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false, cancelGrace: 20 })
    const ac = new AbortController()
    const a = outcome(c.query('select pg_sleep(10)', [], { signal: ac.signal }))
    await readThrough(s, 'Sync')
    ac.abort()
    const b = outcome(c.query('select 2 as b'))
    await rig.cancels.next() // sent, and never settles; the server stays silent
    const ra = await a
    const errA = (ra as { err: ConnectionError }).err
    expect(errA).toBeInstanceOf(ConnectionError)
    expect(errA.message).toMatch(/cancelGrace/)
    const errB = ((await b) as { err: ConnectionError }).err
    expect(errB).toBeInstanceOf(ConnectionError)
    expect(errB.retrySafe).toBe(true) // never sent
    expect(c.closed).toBe(true)
    expect(wire(s)).toEqual(unnamed('select pg_sleep(10)'))
    expect(s.buffered).toBe(0)
  })

  it('after close() a canceled query in flight still gets its cancel, and settles', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false, cancelGrace: 0 })
    const ac = new AbortController()
    const a = outcome(c.query('select pg_sleep(10)', [], { signal: ac.signal }))
    await readThrough(s, 'Sync')
    ac.abort()
    const k = await rig.cancels.next()
    const closing = c.close()
    await settle()
    await s.send({ type: 'ParseComplete' }, { type: 'BindComplete' }, rowDescription(['x']), canceled, readyForQuery())
    k.release()
    const ra = await a
    expect('err' in ra && ra.err).toBeInstanceOf(QueryCanceled)
    expect(await readThrough(s, 'Terminate')).toEqual(['Terminate'])
    await s.end()
    await closing
    expect(c.closed).toBe(true)
  })
})
