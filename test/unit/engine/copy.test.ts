// COPY sub-states. FROM STDIN: Query, CopyInResponse, then CopyData until
// CopyDone (CommandComplete tells the count) or CopyFail (the client gives
// up; the server answers 57014). TO STDOUT: Query, CopyOutResponse, CopyData
// per row, CopyDone, CommandComplete; a consumer that breaks out early
// cancels the COPY, and nothing new is written until that cancel settled.
import { describe, expect, it } from 'vitest'
import { DatabaseError, InterfaceError, QueryCanceled, type Connection } from '../../../src/index.js'
import { commandComplete, errorResponse, readyForQuery, rowDescription } from '../../support/backend-encoder.js'
import type { FakeConn } from '../../support/fake-server.js'
import { barrier, expectQuiet, outcome, read, readThrough, settle, startRig, unnamed, unnamedReply } from './_harness.js'

const copyInResponse = (columns: number) => ({ type: 'CopyInResponse', format: 0, columnFormats: new Array<number>(columns).fill(0) }) as const
const copyOutResponse = (columns: number) => ({ type: 'CopyOutResponse', format: 0, columnFormats: new Array<number>(columns).fill(0) }) as const
const copyData = (text: string) => ({ type: 'CopyData', data: Buffer.from(text) }) as const
const copyFailed = (why: string) => errorResponse({ code: '57014', message: `COPY from stdin failed: ${why}` })

async function expectUsable(c: Connection, s: FakeConn): Promise<void> {
  const q = c.query('select 1 as ok')
  expect(await readThrough(s, 'Sync')).toEqual(unnamed('select 1 as ok'))
  await s.send(...unnamedReply(['ok'], [['1']]))
  expect((await q).rows).toEqual([{ ok: '1' }])
}

describe('COPY FROM STDIN', () => {
  it('CopyInResponse, rows gathered into CopyData, CopyDone: resolves with the server\'s count', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const pw = c.copyFrom('copy t from stdin')
    expect(await readThrough(s, 'Query')).toEqual(['Query copy t from stdin'])
    await s.send(copyInResponse(2))
    const w = await pw
    expect(w.columns).toBe(2)
    await w.writeRow([1, 'x'])
    await w.writeRow([2, null])
    const end = w.end()
    expect(await read(s, 2)).toEqual(['CopyData 1\tx\n2\t\\N\n', 'CopyDone'])
    await s.send(commandComplete('COPY 2'), readyForQuery('I'))
    expect(await end).toBe(2)
    await expectUsable(c, s)
  })

  it('with a source: pumped, then CopyDone; resolves with the count', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const n = c.copyFrom('copy t from stdin', [['a'], ['b']], { columnTypes: [25] })
    expect(await readThrough(s, 'Query')).toEqual(['Query copy t from stdin'])
    await s.send(copyInResponse(1))
    expect(await read(s, 2)).toEqual(['CopyData a\nb\n', 'CopyDone'])
    await s.send(commandComplete('COPY 2'), readyForQuery('I'))
    expect(await n).toBe(2)
  })

  it('abort(): CopyFail with the reason; the server\'s 57014 is the expected answer, the connection goes on', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const pw = c.copyFrom('copy t from stdin')
    await readThrough(s, 'Query')
    await s.send(copyInResponse(1))
    const w = await pw
    await w.write('1\n')
    const aborted = outcome(w.abort('changed my mind'))
    expect(await read(s, 2)).toEqual(['CopyData 1\n', 'CopyFail changed my mind'])
    await s.send(copyFailed('changed my mind'), readyForQuery('I'))
    expect(await aborted).toEqual({ ok: undefined })
    const late = await outcome(w.write('2\n'))
    expect((late as { err: Error }).err).toBeInstanceOf(InterfaceError)
    await expectUsable(c, s)
  })

  it('a source that fails: CopyFail naming the failure, the COPY rejects with the source\'s error', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const boom = new Error('boom')
    async function* source() {
      yield ['a']
      throw boom
    }
    const n = outcome(c.copyFrom('copy t from stdin', source(), { columnTypes: [25] }))
    await readThrough(s, 'Query')
    await s.send(copyInResponse(1))
    expect(await read(s, 1)).toEqual(['CopyFail source failed: boom'])
    await s.send(copyFailed('source failed: boom'), readyForQuery('I'))
    expect((await n as { err: Error }).err).toBe(boom)
    await expectUsable(c, s)
  })

  it('its signal aborted mid-COPY: CopyFail and a cancel; the COPY rejects with QueryCanceled; the next query waits for the cancel', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false, cancelGrace: 0 })
    const ac = new AbortController()
    const reason = new Error('user left')
    const pw = c.copyFrom('copy t from stdin', { signal: ac.signal })
    await readThrough(s, 'Query')
    await s.send(copyInResponse(1))
    const w = await pw
    await w.write('1\n')
    expect(await read(s, 1)).toEqual(['CopyData 1\n'])
    ac.abort(reason)
    expect(await read(s, 1)).toEqual(['CopyFail canceling statement due to user request'])
    const k = await rig.cancels.next()
    const late = await outcome(w.write('2\n'))
    const err = (late as { err: Error }).err
    expect(err).toBeInstanceOf(QueryCanceled)
    expect(err.cause).toBe(reason)
    await s.send(copyFailed('canceling statement due to user request'), readyForQuery('I'))
    await barrier(c, s)
    const q = c.query('select 1 as ok')
    await expectQuiet(s, 'the cancel has not settled')
    k.release()
    expect(await readThrough(s, 'Sync')).toEqual(unnamed('select 1 as ok'))
    await s.send(...unnamedReply(['ok'], [['1']]))
    expect((await q).rows).toEqual([{ ok: '1' }])
  })

  it('refused right away (the table does not exist): copyFrom() rejects with the server\'s error', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const pw = outcome(c.copyFrom('copy missing from stdin'))
    await readThrough(s, 'Query')
    await s.send(errorResponse({ code: '42P01', message: 'relation "missing" does not exist' }), readyForQuery('I'))
    const err = (await pw as { err: DatabaseError }).err
    expect(err.code).toBe('42P01')
    await expectUsable(c, s)
  })

  it('a COPY FROM STDIN through query() is refused with CopyFail, the query rejects, the connection goes on', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const q = outcome(c.query('copy t from stdin'))
    expect(await readThrough(s, 'Sync')).toEqual(unnamed('copy t from stdin'))
    await s.send({ type: 'ParseComplete' }, { type: 'BindComplete' }, { type: 'NoData' }, copyInResponse(1))
    expect(await read(s, 1)).toEqual(['CopyFail COPY FROM STDIN is not supported through query(); use the COPY API'])
    await s.send(copyFailed('COPY FROM STDIN is not supported through query(); use the COPY API'), readyForQuery('I'))
    expect((await q as { err: DatabaseError }).err.code).toBe('57014')
    await expectUsable(c, s)
  })
})

describe('COPY TO STDOUT', () => {
  it('CopyOutResponse, CopyData, CopyDone, CommandComplete: the chunks and the row count', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const out = c.copyTo('copy t to stdout')
    const chunks: string[] = []
    const run = (async () => {
      for await (const chunk of out) chunks.push(chunk.toString())
    })()
    expect(await readThrough(s, 'Query')).toEqual(['Query copy t to stdout'])
    await s.send(copyOutResponse(1), copyData('1\n'), copyData('2\n'), { type: 'CopyDone' }, commandComplete('COPY 2'), readyForQuery('I'))
    await run
    expect(chunks.join('')).toBe('1\n2\n')
    expect(out.rowCount).toBe(2)
    await expectUsable(c, s)
  })

  it('breaking out early cancels the COPY, its 57014 is swallowed, and the next query waits for the cancel', async () => {
    const rig = await startRig()
    const { c, s, hs } = await rig.connect({ prepare: false, cancelGrace: 0 })
    const got: string[] = []
    const run = outcome(
      (async () => {
        for await (const chunk of c.copyTo('copy t to stdout')) {
          got.push(chunk.toString())
          break
        }
      })(),
    )
    await readThrough(s, 'Query')
    await s.send(copyOutResponse(1), copyData('1\n'))
    const k = await rig.cancels.next()
    expect(k.packet.processId).toBe(hs.processId)
    await expectQuiet(s, 'a COPY TO is stopped by the cancel alone')
    await s.send(copyData('2\n'), errorResponse({ code: '57014', message: 'canceling statement due to user request' }), readyForQuery('I'))
    expect(await run).toEqual({ ok: undefined })
    expect(got).toEqual(['1\n'])

    const q = c.query('select 1 as ok')
    await expectQuiet(s, 'the cancel has not settled')
    k.release()
    expect(await readThrough(s, 'Sync')).toEqual(unnamed('select 1 as ok'))
    await s.send(...unnamedReply(['ok'], [['1']]))
    expect((await q).rows).toEqual([{ ok: '1' }])
  })

  it('breaking out early when the COPY ends anyway before the cancel lands: the loop ends cleanly', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false, cancelGrace: 0 })
    const run = outcome(
      (async () => {
        for await (const chunk of c.copyTo('copy t to stdout')) {
          void chunk
          break
        }
      })(),
    )
    await readThrough(s, 'Query')
    await s.send(copyOutResponse(1), copyData('1\n'))
    const k = await rig.cancels.next()
    await s.send(copyData('2\n'), { type: 'CopyDone' }, commandComplete('COPY 2'), readyForQuery('I'))
    expect(await run).toEqual({ ok: undefined })
    k.release()
    await expectUsable(c, s)
  })

  it('its signal aborted: a cancel, and the iteration rejects with QueryCanceled', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false, cancelGrace: 0 })
    const ac = new AbortController()
    const reason = new Error('user left')
    const it = c.copyTo('copy t to stdout', { signal: ac.signal })[Symbol.asyncIterator]()
    const first = it.next()
    await readThrough(s, 'Query')
    await s.send(copyOutResponse(1), copyData('1\n'))
    expect((await first).value?.toString()).toBe('1\n')
    ac.abort(reason)
    const k = await rig.cancels.next()
    const rest = outcome(it.next())
    await s.send(errorResponse({ code: '57014', message: 'canceling statement due to user request' }), readyForQuery('I'))
    const err = (await rest as { err: Error }).err
    expect(err).toBeInstanceOf(QueryCanceled)
    expect(err.cause).toBe(reason)
    k.release()
    await expectUsable(c, s)
  })

  it('rows(): the column types are described first, then the COPY runs', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const rows: unknown[][] = []
    const run = (async () => {
      for await (const row of c.copyTo('copy t to stdout').rows()) rows.push(row)
    })()
    expect(await readThrough(s, 'Sync')).toEqual(['Parse "" select * from t', 'Describe S ""', 'Sync'])
    await s.send({ type: 'ParseComplete' }, { type: 'ParameterDescription', typeOids: [] }, rowDescription(['a', 'b']), readyForQuery('I'))
    expect(await readThrough(s, 'Query')).toEqual(['Query copy t to stdout'])
    await s.send(copyOutResponse(2), copyData('1\tx\n'), copyData('2\t\\N\n'), { type: 'CopyDone' }, commandComplete('COPY 2'), readyForQuery('I'))
    await run
    expect(rows).toEqual([['1', 'x'], ['2', null]])
  })
})

describe('COPY, misdirected', () => {
  // copyTo() of a COPY FROM STDIN: the server waits for data in copy-in
  // mode, so the COPY ends only if the client sends CopyFail (it once wrote
  // nothing, and both sides waited for ever).
  it('copyTo() of a COPY FROM STDIN ends it with CopyFail and rejects', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const run = outcome(
      (async () => {
        for await (const chunk of c.copyTo('copy t from stdin')) void chunk
      })(),
    )
    await readThrough(s, 'Query')
    await s.send(copyInResponse(1))
    // Expected: the client ends the COPY it cannot feed.
    await settle()
    expect(s.buffered, 'something that ends the COPY was written').toBeGreaterThan(0)
    expect(await read(s, 1)).toEqual([expect.stringMatching(/^CopyFail /)])
    await s.send(copyFailed('copyTo() needs a COPY ... TO STDOUT statement'), readyForQuery('I'))
    expect((await run as { err: Error }).err).toBeInstanceOf(InterfaceError)
  })

  it('copyFrom() of a COPY TO STDOUT rejects once the statement has run, and the connection goes on', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const pw = outcome(c.copyFrom('copy t to stdout'))
    await readThrough(s, 'Query')
    await s.send(copyOutResponse(1), copyData('1\n'), { type: 'CopyDone' }, commandComplete('COPY 1'), readyForQuery('I'))
    expect((await pw as { err: Error }).err).toBeInstanceOf(InterfaceError)
    await expectUsable(c, s)
  })
})
