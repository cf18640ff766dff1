// A cached prepared statement can go stale on the server: dropped
// (DISCARD/DEALLOCATE behind our back, a pooler: 26000 "prepared statement
// does not exist") or its result type changed by DDL (0A000 "cached plan
// must not change result type"). Outside a transaction block the query is
// re-prepared under a new name and run again, once; inside one the error is
// the caller's, since the transaction is aborted already.
import { describe, expect, it } from 'vitest'
import { DatabaseError, type Connection } from '../../../src/index.js'
import type { BackendMessage } from '../../../src/protocol/messages.js'
import { commandComplete, errorResponse, readyForQuery } from '../../support/backend-encoder.js'
import type { FakeConn } from '../../support/fake-server.js'
import { describeReply, executeReply, expectQuiet, outcome, readThrough, startRig, wire } from './_harness.js'

const SQL = 'select a from t'

const STALE = {
  '26000': errorResponse({ code: '26000', message: 'prepared statement "pgline_1" does not exist' }),
  '0A000': errorResponse({ code: '0A000', message: 'cached plan must not change result type' }),
} as const

/** Runs SQL once so that it is cached as pgline_1; returns the wire of that first run. */
async function prepareOnce(c: Connection, s: FakeConn, status: 'I' | 'T' = 'I'): Promise<void> {
  const q = c.query(SQL)
  expect(await readThrough(s, 'Sync')).toEqual([`Parse pgline_1 ${SQL}`, 'Describe S pgline_1', 'Sync'])
  await s.send(...describeReply(['a'], status))
  expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_1', 'Execute', 'Sync'])
  await s.send(...executeReply([['1']], status))
  expect((await q).rows).toEqual([{ a: '1' }])
}

describe('stale prepared statements', () => {
  it('26000 (dropped on the server): re-prepared under a new name and run again, transparently', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: true })
    await prepareOnce(c, s)

    const q = c.query(SQL)
    expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_1', 'Execute', 'Sync'])
    await s.send(STALE['26000'], readyForQuery('I'))
    // No Close of the statement the server says it does not have.
    expect(await readThrough(s, 'Sync')).toEqual([`Parse pgline_2 ${SQL}`, 'Describe S pgline_2', 'Sync'])
    await s.send(...describeReply(['a']))
    expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_2', 'Execute', 'Sync'])
    await s.send(...executeReply([['2']]))
    expect((await q).rows).toEqual([{ a: '2' }])

    // From now on the new statement is the cached one.
    const again = c.query(SQL)
    expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_2', 'Execute', 'Sync'])
    await s.send(...executeReply([['3']]))
    expect((await again).rows).toEqual([{ a: '3' }])
  })

  it('0A000 "cached plan must not change result type": the old statement is closed, a new one prepared, the query run again', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: true })
    await prepareOnce(c, s)

    const q = c.query(SQL)
    expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_1', 'Execute', 'Sync'])
    await s.send(STALE['0A000'], readyForQuery('I'))
    expect(await readThrough(s, 'Sync')).toEqual(['Close S pgline_1', `Parse pgline_2 ${SQL}`, 'Describe S pgline_2', 'Sync'])
    await s.send({ type: 'CloseComplete' }, ...describeReply(['a', 'b']))
    expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_2', 'Execute', 'Sync'])
    await s.send(...executeReply([['1', 'x']]))
    expect((await q).rows).toEqual([{ a: '1', b: 'x' }])
  })

  it.each(['26000', '0A000'] as const)('a %s that comes back again is retried only once: the second one is the caller\'s error', async (code) => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: true })
    await prepareOnce(c, s)

    const q = outcome(c.query(SQL))
    await readThrough(s, 'Sync')
    await s.send(STALE[code], readyForQuery('I'))
    await readThrough(s, 'Sync') // [Close,] Parse pgline_2, Describe, Sync
    await s.send(...(code === '0A000' ? [{ type: 'CloseComplete' } as BackendMessage] : []), ...describeReply(['a']))
    expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_2', 'Execute', 'Sync'])
    await s.send(STALE[code], readyForQuery('I'))
    const r = await q
    expect('err' in r && r.err).toBeInstanceOf(DatabaseError)
    expect((r as { err: DatabaseError }).err.code).toBe(code)
    await expectQuiet(s, 'no second retry')
  })

  it.each(['T', 'E'] as const)(
    'inside a transaction block (ReadyForQuery %s after the error) it is not retried; the statement is forgotten',
    async (status) => {
      const rig = await startRig()
      const { c, s } = await rig.connect({ prepare: true })
      const begin = c.simpleQuery('begin')
      expect(await readThrough(s, 'Query')).toEqual(['Query begin'])
      await s.send(commandComplete('BEGIN'), readyForQuery('T'))
      await begin
      await prepareOnce(c, s, 'T')

      const q = outcome(c.query(SQL))
      expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_1', 'Execute', 'Sync'])
      await s.send(STALE['26000'], readyForQuery(status))
      const r = await q
      expect('err' in r && r.err).toBeInstanceOf(DatabaseError)
      expect((r as { err: DatabaseError }).err.code).toBe('26000')
      await expectQuiet(s, 'not retried inside a transaction')
      expect(c.transactionStatus).toBe(status)

      const rollback = c.simpleQuery('rollback')
      expect(await readThrough(s, 'Query')).toEqual(['Query rollback'])
      await s.send(commandComplete('ROLLBACK'), readyForQuery('I'))
      await rollback

      // Forgotten: the next run prepares it again.
      const next = c.query(SQL)
      expect(await readThrough(s, 'Sync')).toEqual([`Parse pgline_2 ${SQL}`, 'Describe S pgline_2', 'Sync'])
      await s.send(...describeReply(['a']))
      expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_2', 'Execute', 'Sync'])
      await s.send(...executeReply([['5']]))
      expect((await next).rows).toEqual([{ a: '5' }])
    },
  )

  it('inside transaction(): a stale statement rejects the query; the transaction rolls back', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: true })
    await prepareOnce(c, s)
    const tx = outcome(c.transaction((t) => t.query(SQL)))
    expect(await readThrough(s, 'Query')).toEqual(['Query begin'])
    await s.send(commandComplete('BEGIN'), readyForQuery('T'))
    expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_1', 'Execute', 'Sync'])
    await s.send(STALE['26000'], readyForQuery('E'))
    expect(await readThrough(s, 'Query')).toEqual(['Query rollback'])
    await s.send(commandComplete('ROLLBACK'), readyForQuery('I'))
    const r = await tx
    expect((r as { err: DatabaseError }).err.code).toBe('26000')
    expect(wire(s).filter((m) => m.startsWith('Parse'))).toEqual([`Parse pgline_1 ${SQL}`])
  })

  it('a statement from prepare() is the caller\'s: a 26000 on it is not re-prepared behind their back', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: true })
    const pp = c.prepare(SQL)
    const parse = await readThrough(s, 'Sync')
    expect(parse).toHaveLength(3)
    expect(parse[0]).toMatch(/^Parse pgline_p\d+ select a from t$/)
    const name = parse[0]!.split(' ')[1]!
    expect(parse.slice(1)).toEqual([`Describe S ${name}`, 'Sync'])
    await s.send(...describeReply(['a']))
    const stmt = await pp

    const q = outcome(stmt.execute())
    expect(await readThrough(s, 'Sync')).toEqual([`Bind ${name}`, 'Execute', 'Sync'])
    await s.send(errorResponse({ code: '26000', message: `prepared statement "${name}" does not exist` }), readyForQuery('I'))
    const r = await q
    expect((r as { err: DatabaseError }).err.code).toBe('26000')
    await expectQuiet(s)
  })

  it('a query waiting behind the retried one goes after it, in call order', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: true, maxInFlight: 1 })
    await prepareOnce(c, s)
    const q = c.query(SQL)
    const other = c.query(SQL)
    expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_1', 'Execute', 'Sync'])
    await expectQuiet(s, 'maxInFlight 1: the second waits')
    await s.send(STALE['26000'], readyForQuery('I'))
    expect(await readThrough(s, 'Sync')).toEqual([`Parse pgline_2 ${SQL}`, 'Describe S pgline_2', 'Sync'])
    await s.send(...describeReply(['a']))
    expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_2', 'Execute', 'Sync'])
    await s.send(...executeReply([['1']]))
    expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_2', 'Execute', 'Sync'])
    await s.send(...executeReply([['2']]))
    expect((await q).rows).toEqual([{ a: '1' }])
    expect((await other).rows).toEqual([{ a: '2' }])
  })
})
