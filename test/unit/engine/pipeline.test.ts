// Explicit pipelines: statements go out back to back without Sync; the
// server answers each, and after an error skips everything up to the next
// Sync, so the statements after it reject with PipelineAborted and the next
// group runs. Flush is written while a group is open, so that results come
// before sync(); where exactly a Flush falls is left out of the wire
// comparisons (it depends on how writes are batched), its presence is not.
import { describe, expect, it } from 'vitest'
import { DatabaseError, ParameterError, PipelineAborted } from '../../../src/index.js'
import type { BackendMessage } from '../../../src/protocol/messages.js'
import { commandComplete, dataRow, errorResponse, readyForQuery, rowDescription } from '../../support/backend-encoder.js'
import type { FakeConn } from '../../support/fake-server.js'
import { describeReply, executeReply, expectQuiet, outcome, read, readThrough, startRig, wire } from './_harness.js'

/** The messages of one pipelined statement on an unnamed statement (no Sync). */
const stmt = (sql: string): string[] => [`Parse "" ${sql}`, 'Bind ""', 'Describe P ""', 'Execute']

/** The reply to one pipelined unnamed statement with text columns (no ReadyForQuery). */
function stmtReply(column: string, value: string): BackendMessage[] {
  return [{ type: 'ParseComplete' }, { type: 'BindComplete' }, rowDescription([column]), dataRow([value]), commandComplete('SELECT 1')]
}

const noFlush = (labels: string[]): string[] => labels.filter((l) => l !== 'Flush')

async function throughSync(s: FakeConn): Promise<string[]> {
  return noFlush(await readThrough(s, 'Sync'))
}

describe('pipeline', () => {
  it('an error aborts the rest of its group up to the Sync; the next group runs', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const p = c.pipeline()
    const a = outcome(p.query('select 1 as a'))
    const b = outcome(p.query('select bad'))
    const d = outcome(p.query('select 3 as d'))
    const s1 = outcome(p.sync())
    const e = outcome(p.query('select 4 as e'))
    const s2 = outcome(p.sync())

    expect(await throughSync(s)).toEqual([...stmt('select 1 as a'), ...stmt('select bad'), ...stmt('select 3 as d'), 'Sync'])
    expect(await throughSync(s)).toEqual([...stmt('select 4 as e'), 'Sync'])
    const refused = errorResponse({ code: '42703', message: 'column "bad" does not exist' })
    // The server skips `select 3` (the rest of the group) and answers the Sync.
    await s.send(...stmtReply('a', '1'), refused, readyForQuery('I'))
    await s.send(...stmtReply('e', '4'), readyForQuery('I'))

    expect(await a).toEqual({ ok: expect.objectContaining({ rows: [{ a: '1' }] }) })
    const errB = ((await b) as { err: DatabaseError }).err
    expect(errB).toBeInstanceOf(DatabaseError)
    expect(errB.code).toBe('42703')
    const errD = ((await d) as { err: Error }).err
    expect(errD).toBeInstanceOf(PipelineAborted)
    expect(errD.cause).toBe(errB)
    expect(await s1).toEqual({ ok: undefined })
    expect(await e).toEqual({ ok: expect.objectContaining({ rows: [{ e: '4' }] }) })
    expect(await s2).toEqual({ ok: undefined })
    await p[Symbol.asyncDispose]()

    // The connection goes on.
    const after = c.query('select 5 as f')
    expect(await readThrough(s, 'Sync')).toEqual([...stmt('select 5 as f'), 'Sync'])
    await s.send(...stmtReply('f', '5'), readyForQuery('I'))
    expect((await after).rows).toEqual([{ f: '5' }])
  })

  it('sync() rejects with the group\'s error when nobody awaited the failing statement', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const p = c.pipeline()
    void p.query('select bad')
    const sync = outcome(p.sync())
    expect(await throughSync(s)).toEqual([...stmt('select bad'), 'Sync'])
    await s.send(errorResponse({ code: '42703', message: 'column "bad" does not exist' }), readyForQuery('I'))
    expect(((await sync) as { err: DatabaseError }).err.code).toBe('42703')
    await p[Symbol.asyncDispose]()
  })

  it('a statement awaited before sync() is answered: the open group is flushed', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const p = c.pipeline()
    const a = p.query('select 1 as a')
    expect(await read(s, 5)).toEqual([...stmt('select 1 as a'), 'Flush'])
    await s.send(...stmtReply('a', '1'))
    expect((await a).rows).toEqual([{ a: '1' }])
    const sync = p.sync()
    expect(await readThrough(s, 'Sync')).toEqual(['Sync'])
    await s.send(readyForQuery('I'))
    await sync
    await p[Symbol.asyncDispose]()
    await expectQuiet(s)
  })

  it('a statement added after its group failed rejects at once with PipelineAborted (it is still written; the server skips it)', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const p = c.pipeline()
    const a = outcome(p.query('select bad'))
    expect(await read(s, 5)).toEqual([...stmt('select bad'), 'Flush'])
    await s.send(errorResponse({ code: '42703', message: 'column "bad" does not exist' }))
    expect(((await a) as { err: DatabaseError }).err.code).toBe('42703')
    const b = outcome(p.query('select 2 as b'))
    const errB = ((await b) as { err: Error }).err
    expect(errB).toBeInstanceOf(PipelineAborted)
    const sync = outcome(p.sync())
    expect(await throughSync(s)).toEqual([...stmt('select 2 as b'), 'Sync'])
    await s.send(readyForQuery('I'))
    expect(await sync).toEqual({ ok: undefined })
    await p[Symbol.asyncDispose]()
  })

  it('a parameter that cannot be encoded: a Bind the server refuses stands in, so the group aborts rather than commit without it', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const p = c.pipeline()
    const a = outcome(p.query('select 1 as a'))
    const bad = outcome(p.query('select $1::text as b', ['\ud800']))
    const d = outcome(p.query('select 3 as d'))
    const sync = outcome(p.sync())
    expect(await throughSync(s)).toEqual([...stmt('select 1 as a'), 'Bind pgline refused', ...stmt('select 3 as d'), 'Sync'])
    await s.send(...stmtReply('a', '1'), errorResponse({ code: '26000', message: 'prepared statement "pgline refused" does not exist' }), readyForQuery('I'))
    const errBad = ((await bad) as { err: Error }).err
    expect(errBad).toBeInstanceOf(ParameterError)
    const errD = ((await d) as { err: Error }).err
    expect(errD).toBeInstanceOf(PipelineAborted)
    expect(errD.cause).toBe(errBad)
    expect(await a).toEqual({ ok: expect.objectContaining({ rows: [{ a: '1' }] }) })
    expect(await sync).toEqual({ ok: undefined })
    await p[Symbol.asyncDispose]()
  })

  it('with prepare: a new statement is prepared on the way (Parse, Describe S, Bind, Execute: no describe round trip), then reused', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: true })
    const SQL = 'select a from t'
    const r = c.pipeline(async (p) => {
      const q = p.query(SQL)
      await p.sync()
      return q
    })
    expect(await throughSync(s)).toEqual([`Parse pgline_1 ${SQL}`, 'Describe S pgline_1', 'Bind pgline_1', 'Execute', 'Sync'])
    await s.send(
      { type: 'ParseComplete' },
      { type: 'ParameterDescription', typeOids: [] },
      rowDescription(['a']),
      { type: 'BindComplete' },
      dataRow(['1']),
      commandComplete('SELECT 1'),
      readyForQuery('I'),
    )
    expect((await r).rows).toEqual([{ a: '1' }])
    const q = c.query(SQL)
    expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_1', 'Execute', 'Sync'])
    await s.send(...executeReply([['2']]))
    expect((await q).rows).toEqual([{ a: '2' }])
  })

  it('with prepare: a statement its group aborted before it ran is not cached (the next query prepares it)', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: true })
    const SQL = 'select a from t'
    const run = outcome(
      c.pipeline(async (p) => {
        const bad = outcome(p.query('select bad'))
        const a = outcome(p.query(SQL))
        await p.sync()
        return [await bad, await a]
      }),
    )
    expect(await throughSync(s)).toEqual([
      'Parse pgline_1 select bad', 'Describe S pgline_1', 'Bind pgline_1', 'Execute',
      `Parse pgline_2 ${SQL}`, 'Describe S pgline_2', 'Bind pgline_2', 'Execute', 'Sync',
    ])
    await s.send(errorResponse({ code: '42703', message: 'column "bad" does not exist' }), readyForQuery('I'))
    const res = await run
    const [bad, a] = (res as { ok: [{ err: Error }, { err: Error }] }).ok
    expect((bad.err as DatabaseError).code).toBe('42703')
    expect(a.err).toBeInstanceOf(PipelineAborted)

    const q = c.query(SQL)
    expect(await readThrough(s, 'Sync')).toEqual([`Parse pgline_3 ${SQL}`, 'Describe S pgline_3', 'Sync'])
    await s.send(...describeReply(['a']))
    expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_3', 'Execute', 'Sync'])
    await s.send(...executeReply([['1']]))
    expect((await q).rows).toEqual([{ a: '1' }])
    expect(noFlush(wire(s)).filter((l) => l.startsWith('Close'))).toEqual([])
  })
})
