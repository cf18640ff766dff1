// What goes on the wire when: queries are written as soon as nothing ahead
// forbids it, at most maxInFlight unanswered at once; a new statement's
// describe round trip holds the queries after it; a query aborted while it
// waits in the client is never written.
import { describe, expect, it } from 'vitest'
import { QueryCanceled } from '../../../src/index.js'
import { describeReply, executeReply, expectQuiet, outcome, read, readThrough, settle, startRig, unnamed, unnamedReply, wire } from './_harness.js'

describe('the in-flight bound', () => {
  it('maxInFlight 2 with 5 queries: 2 written, then one more per ReadyForQuery, in call order', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false, maxInFlight: 2 })
    const qs = [1, 2, 3, 4, 5].map((i) => c.query(`select ${i} as n`))
    expect(await read(s, 10)).toEqual([...unnamed('select 1 as n'), ...unnamed('select 2 as n')])
    await expectQuiet(s, 'two in flight: the third waits')

    for (let i = 1; i <= 5; i++) {
      await s.send(...unnamedReply(['n'], [[String(i)]]))
      expect((await qs[i - 1]!).rows).toEqual([{ n: String(i) }])
      if (i + 2 <= 5) expect(await read(s, 5)).toEqual(unnamed(`select ${i + 2} as n`))
      await expectQuiet(s, `after answer ${i}: still two in flight at most`)
    }
    expect(wire(s)).toEqual([1, 2, 3, 4, 5].flatMap((i) => unnamed(`select ${i} as n`)))
  })

  it('a ReadyForQuery answering two at once lets two more go', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false, maxInFlight: 2 })
    const qs = [1, 2, 3, 4].map((i) => c.query(`select ${i} as n`))
    await read(s, 10)
    await s.send(...unnamedReply(['n'], [['1']]), ...unnamedReply(['n'], [['2']]))
    expect(await read(s, 10)).toEqual([...unnamed('select 3 as n'), ...unnamed('select 4 as n')])
    await s.send(...unnamedReply(['n'], [['3']]), ...unnamedReply(['n'], [['4']]))
    expect((await Promise.all(qs)).map((r) => r.rows[0])).toEqual([{ n: '1' }, { n: '2' }, { n: '3' }, { n: '4' }])
  })

  it('a query aborted while it waits in the client is never written, and no cancel is sent', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false, maxInFlight: 1 })
    const ac = new AbortController()
    const a = c.query('select 1 as a')
    const b = outcome(c.query('select 2 as b', [], { signal: ac.signal }))
    const third = c.query('select 3 as c')
    expect(await readThrough(s, 'Sync')).toEqual(unnamed('select 1 as a'))
    ac.abort()
    const rb = await b
    expect('err' in rb && rb.err).toBeInstanceOf(QueryCanceled)
    expect((rb as { err: Error }).err.message).toBe('query canceled before it was sent')
    await s.send(...unnamedReply(['a'], [['1']]))
    await a
    expect(await readThrough(s, 'Sync')).toEqual(unnamed('select 3 as c'))
    await s.send(...unnamedReply(['c'], [['3']]))
    await third
    await settle()
    expect(rig.cancels.seen).toHaveLength(0)
    expect(wire(s)).toEqual([...unnamed('select 1 as a'), ...unnamed('select 3 as c')])
  })

  it('a signal aborted before the call: rejected at once, nothing written', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const r = await outcome(c.query('select 1', [], { signal: AbortSignal.abort() }))
    expect('err' in r && r.err).toBeInstanceOf(QueryCanceled)
    await expectQuiet(s)
  })
})

describe('describe first', () => {
  it('a new statement is described before it runs, and the queries after it wait for the description', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: true })
    const a = c.query('select a from t')
    const b = c.query('select b from u')
    expect(await readThrough(s, 'Sync')).toEqual(['Parse pgline_1 select a from t', 'Describe S pgline_1', 'Sync'])
    await expectQuiet(s, 'the second query waits for the first one\'s description')
    await s.send(...describeReply(['a']))
    // The described query goes first (it was called first), then the next one's describe.
    expect(await read(s, 6)).toEqual(['Bind pgline_1', 'Execute', 'Sync', 'Parse pgline_2 select b from u', 'Describe S pgline_2', 'Sync'])
    await expectQuiet(s)
    await s.send(...executeReply([['1']]), ...describeReply(['b']))
    expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_2', 'Execute', 'Sync'])
    await s.send(...executeReply([['2']]))
    expect((await a).rows).toEqual([{ a: '1' }])
    expect((await b).rows).toEqual([{ b: '2' }])
  })

  it('the same new statement called twice at once is prepared once', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: true })
    const a = c.query('select a from t')
    const b = c.query('select a from t')
    expect(await readThrough(s, 'Sync')).toEqual(['Parse pgline_1 select a from t', 'Describe S pgline_1', 'Sync'])
    await s.send(...describeReply(['a']))
    expect(await read(s, 6)).toEqual(['Bind pgline_1', 'Execute', 'Sync', 'Bind pgline_1', 'Execute', 'Sync'])
    await s.send(...executeReply([['1']]), ...executeReply([['2']]))
    expect((await a).rows).toEqual([{ a: '1' }])
    expect((await b).rows).toEqual([{ a: '2' }])
  })

  it('prepare: false skips the describe: Parse, Bind, Describe portal, Execute, Sync in one go', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const a = c.query('select $1::text as a', ['x'])
    expect(await readThrough(s, 'Sync')).toEqual(unnamed('select $1::text as a'))
    await s.send(...unnamedReply(['a'], [['x']]))
    expect((await a).rows).toEqual([{ a: 'x' }])
  })
})
