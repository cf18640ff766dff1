// close() with requests queued: Terminate goes out after everything queued
// or in flight, in call order, and every request settles with its own
// result; only then is the connection closed.
import { describe, expect, it } from 'vitest'
import { InterfaceError } from '../../../src/index.js'
import { errorResponse, readyForQuery } from '../../support/backend-encoder.js'
import { describeReply, executeReply, expectQuiet, outcome, read, readThrough, startRig, unnamed, unnamedReply, wire } from './_harness.js'

describe('close()', () => {
  it('with queries waiting in the client (maxInFlight 1): they are written before Terminate, and all settle', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false, maxInFlight: 1 })
    const qs = [1, 2, 3].map((i) => outcome(c.query(`select ${i} as n`)))
    const closing = c.close()
    expect(await readThrough(s, 'Sync')).toEqual(unnamed('select 1 as n'))
    await expectQuiet(s, 'still one at a time while closing')
    await s.send(...unnamedReply(['n'], [['1']]))
    expect(await readThrough(s, 'Sync')).toEqual(unnamed('select 2 as n'))
    await s.send(...unnamedReply(['n'], [['2']]))
    // The last one goes out with Terminate behind it; the server answers it before reading Terminate.
    expect(await read(s, 6)).toEqual([...unnamed('select 3 as n'), 'Terminate'])
    await s.send(...unnamedReply(['n'], [['3']]))
    await s.end()
    await closing
    const results = await Promise.all(qs)
    expect(results.map((r) => ('ok' in r ? r.ok.rows : r.err))).toEqual([[{ n: '1' }], [{ n: '2' }], [{ n: '3' }]])
    expect(c.closed).toBe(true)
    expect(wire(s)).toEqual([...unnamed('select 1 as n'), ...unnamed('select 2 as n'), ...unnamed('select 3 as n'), 'Terminate'])
  })

  it('with queries in flight: Terminate follows them at once, and they settle with their results', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const qs = [1, 2].map((i) => outcome(c.query(`select ${i} as n`)))
    const closing = c.close()
    expect(await read(s, 11)).toEqual([...unnamed('select 1 as n'), ...unnamed('select 2 as n'), 'Terminate'])
    await s.send(...unnamedReply(['n'], [['1']]), ...unnamedReply(['n'], [['2']]))
    await s.end()
    await closing
    expect((await Promise.all(qs)).map((r) => ('ok' in r ? r.ok.rows : r.err))).toEqual([[{ n: '1' }], [{ n: '2' }]])
  })

  it('while a new statement is being described: the described query and the ones behind it run, then Terminate', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: true })
    const a = outcome(c.query('select a from t'))
    const b = outcome(c.query('select b from u'))
    const closing = c.close()
    expect(await readThrough(s, 'Sync')).toEqual(['Parse pgline_1 select a from t', 'Describe S pgline_1', 'Sync'])
    await expectQuiet(s, 'no Terminate while queries wait')
    await s.send(...describeReply(['a']))
    expect(await read(s, 6)).toEqual(['Bind pgline_1', 'Execute', 'Sync', 'Parse pgline_2 select b from u', 'Describe S pgline_2', 'Sync'])
    await s.send(...executeReply([['1']]), ...describeReply(['b']))
    expect(await read(s, 4)).toEqual(['Bind pgline_2', 'Execute', 'Sync', 'Terminate'])
    await s.send(...executeReply([['2']]))
    await s.end()
    await closing
    expect(await a).toEqual({ ok: expect.objectContaining({ rows: [{ a: '1' }] }) })
    expect(await b).toEqual({ ok: expect.objectContaining({ rows: [{ b: '2' }] }) })
  })

  it('an error in a queued query does not stop the others or the Terminate', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false, maxInFlight: 1 })
    const a = outcome(c.query('select bad'))
    const b = outcome(c.query('select 2 as n'))
    const closing = c.close()
    await readThrough(s, 'Sync')
    await s.send(errorResponse({ code: '42703', message: 'column "bad" does not exist' }), readyForQuery())
    expect(await read(s, 6)).toEqual([...unnamed('select 2 as n'), 'Terminate'])
    await s.send(...unnamedReply(['n'], [['2']]))
    await s.end()
    await closing
    expect(((await a) as { err: { code: string } }).err.code).toBe('42703')
    expect(await b).toEqual({ ok: expect.objectContaining({ rows: [{ n: '2' }] }) })
  })

  it('with nothing pending: Terminate alone; later calls reject with InterfaceError; close() again is the same promise', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const closing = c.close()
    expect(c.close()).toBe(closing)
    expect(await read(s, 1)).toEqual(['Terminate'])
    await closing
    const r = await outcome(c.query('select 1'))
    expect((r as { err: Error }).err).toBeInstanceOf(InterfaceError)
    await expectQuiet(s)
    expect(wire(s)).toEqual(['Terminate'])
  })

  // close() sends Terminate after the queries already queued or in flight,
  // and later use is the caller's mistake, also while earlier queries still
  // wait in the client (it once was accepted and run before Terminate).
  it('a query called after close() is refused even while earlier queries are still queued', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false, maxInFlight: 1 })
    const a = outcome(c.query('select 1 as n'))
    const b = outcome(c.query('select 2 as n')) // waits in the client (maxInFlight 1)
    const closing = c.close()
    const late = outcome(c.query('select 3 as n'))
    expect(await readThrough(s, 'Sync')).toEqual(unnamed('select 1 as n'))
    await s.send(...unnamedReply(['n'], [['1']]))
    expect(await readThrough(s, 'Sync')).toEqual(unnamed('select 2 as n'))
    await s.send(...unnamedReply(['n'], [['2']]))
    // Expected: Terminate next; today `select 3` goes out first.
    expect(await read(s, 1)).toEqual(['Terminate'])
    await s.end()
    await closing
    expect(await a).toEqual({ ok: expect.objectContaining({ rows: [{ n: '1' }] }) })
    expect(await b).toEqual({ ok: expect.objectContaining({ rows: [{ n: '2' }] }) })
    expect(((await late) as { err: Error }).err).toBeInstanceOf(InterfaceError)
  })
})
