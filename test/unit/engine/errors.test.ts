// An ErrorResponse in every state of the engine: the request it belongs to
// rejects with the server's error (its SQLSTATE), nothing else is written
// for it, and the connection goes on (except at startup and for a FATAL,
// where the connection ends with that error).
import { describe, expect, it } from 'vitest'
import { ConnectionError, DatabaseError, type Connection } from '../../../src/index.js'
import { asPassword, commandComplete, dataRow, errorResponse, readyForQuery, rowDescription } from '../../support/backend-encoder.js'
import type { FakeConn } from '../../support/fake-server.js'
import { barrier, connectTo, describeReply, executeReply, expectQuiet, outcome, read, readThrough, startRig, unnamed, wire } from './_harness.js'

/** The connection still works: a simple query goes out and gets its rows. */
async function expectUsable(c: Connection, s: FakeConn): Promise<void> {
  const q = c.simpleQuery('select 1 as ok')
  expect(await readThrough(s, 'Query')).toEqual(['Query select 1 as ok'])
  await s.send(rowDescription(['ok']), dataRow(['1']), commandComplete('SELECT 1'), readyForQuery('I'))
  expect((await q)[0]!.rows).toEqual([{ ok: '1' }])
  expect(c.closed).toBe(false)
}

function codeOf(r: { ok: unknown } | { err: unknown }): string | undefined {
  expect('err' in r, 'rejected').toBe(true)
  const err = (r as { err: unknown }).err
  expect(err).toBeInstanceOf(DatabaseError)
  return (err as DatabaseError).code
}

describe('an ErrorResponse', () => {
  it('during authentication: connect() rejects with the server\'s error, nothing more is written', async () => {
    const rig = await startRig()
    const pc = outcome(connectTo(rig.port, { password: 'pw', allowCleartextPassword: true }))
    const s = await rig.accept()
    const startup = await s.readStartup()
    expect(startup).toMatchObject({ type: 'StartupMessage', params: { user: 'u', database: 'd' } })
    await s.send({ type: 'AuthenticationCleartextPassword' })
    expect(asPassword(await s.expect('PasswordMessage'))).toBe('pw')
    await s.send(errorResponse({ severity: 'FATAL', code: '28P01', message: 'password authentication failed for user "u"' }))
    await s.end() // as the server does after a FATAL
    const r = await pc
    expect(codeOf(r)).toBe('28P01')
    expect((r as { err: Error }).err.message).toBe('password authentication failed for user "u"')
    expect(wire(s)).toEqual(['PasswordMessage'])
    expect(s.buffered).toBe(0)
  })

  it('a FATAL while idle (administrator shutdown): the connection ends with it, later queries get a ConnectionError', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const closes: unknown[] = []
    c.on('close', (e) => closes.push(e))
    await s.send(errorResponse({ severity: 'FATAL', code: '57P01', message: 'terminating connection due to administrator command' }))
    await s.end()
    expect(c.closed).toBe(true)
    expect(closes).toHaveLength(1)
    expect((closes[0] as DatabaseError).code).toBe('57P01')
    const r = await outcome(c.query('select 1'))
    const err = (r as { err: ConnectionError }).err
    expect(err).toBeInstanceOf(ConnectionError)
    expect(err.retrySafe).toBe(true)
    expect((err.cause as DatabaseError).code).toBe('57P01')
  })

  it('while describing a new statement: the query rejects, the statement is not cached, the query behind it runs', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: true })
    const a = outcome(c.query('select a from missing'))
    const b = c.query('select b from t')
    expect(await readThrough(s, 'Sync')).toEqual(['Parse pgline_1 select a from missing', 'Describe S pgline_1', 'Sync'])
    await s.send(errorResponse({ code: '42P01', message: 'relation "missing" does not exist' }), readyForQuery('I'))
    expect(codeOf(await a)).toBe('42P01')
    expect(await readThrough(s, 'Sync')).toEqual(['Parse pgline_2 select b from t', 'Describe S pgline_2', 'Sync'])
    await s.send(...describeReply(['b']))
    expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_2', 'Execute', 'Sync'])
    await s.send(...executeReply([['1']]))
    expect((await b).rows).toEqual([{ b: '1' }])

    // Not cached: the same SQL is prepared again.
    const again = outcome(c.query('select a from missing'))
    expect(await readThrough(s, 'Sync')).toEqual(['Parse pgline_3 select a from missing', 'Describe S pgline_3', 'Sync'])
    await s.send(errorResponse({ code: '42P01', message: 'relation "missing" does not exist' }), readyForQuery('I'))
    expect(codeOf(await again)).toBe('42P01')
    await expectUsable(c, s)
  })

  it('at Bind (a parameter the server cannot read): the query rejects, the statement stays cached', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: true })
    const a = outcome(c.query('select $1 as a', ['x']))
    expect(await readThrough(s, 'Sync')).toEqual(['Parse pgline_1 select $1 as a', 'Describe S pgline_1', 'Sync'])
    // A text parameter keeps the value's text form whatever the server's type.
    await s.send(...describeReply(['a'], 'I', [25]))
    expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_1', 'Execute', 'Sync'])
    await s.send(errorResponse({ code: '22P02', message: 'invalid input syntax for type integer: "x"' }), readyForQuery('I'))
    expect(codeOf(await a)).toBe('22P02')
    await expectQuiet(s, 'no retry, no re-prepare')

    const b = c.query('select $1 as a', ['y'])
    expect(await readThrough(s, 'Sync')).toEqual(['Bind pgline_1', 'Execute', 'Sync'])
    await s.send(...executeReply([['y']]))
    expect((await b).rows).toEqual([{ a: 'y' }])
    await expectUsable(c, s)
  })

  it('in the middle of the rows: the query rejects with it (no partial result), the next query is clean', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const a = outcome(c.query('select 1/n as q from t'))
    expect(await readThrough(s, 'Sync')).toEqual(unnamed('select 1/n as q from t'))
    await s.send(
      { type: 'ParseComplete' },
      { type: 'BindComplete' },
      rowDescription(['q']),
      dataRow(['1']),
      dataRow(['2']),
      errorResponse({ code: '22012', message: 'division by zero' }),
      readyForQuery('I'),
    )
    expect(codeOf(await a)).toBe('22012')
    const b = c.query('select 5 as q')
    expect(await readThrough(s, 'Sync')).toEqual(unnamed('select 5 as q'))
    await s.send({ type: 'ParseComplete' }, { type: 'BindComplete' }, rowDescription(['q']), dataRow(['5']), commandComplete('SELECT 1'), readyForQuery('I'))
    expect((await b).rows).toEqual([{ q: '5' }])
  })

  it('in the second statement of a simple query: the call rejects with it', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const a = outcome(c.simpleQuery('select 1 as a; select bad'))
    expect(await readThrough(s, 'Query')).toEqual(['Query select 1 as a; select bad'])
    await s.send(rowDescription(['a']), dataRow(['1']), commandComplete('SELECT 1'), errorResponse({ code: '42703', message: 'column "bad" does not exist' }), readyForQuery('I'))
    expect(codeOf(await a)).toBe('42703')
    await expectUsable(c, s)
  })

  it('during COPY FROM STDIN (a bad row): the COPY rejects with it, the connection goes on', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const pw = c.copyFrom('copy t from stdin')
    expect(await readThrough(s, 'Query')).toEqual(['Query copy t from stdin'])
    await s.send({ type: 'CopyInResponse', format: 0, columnFormats: [0] })
    const w = await pw
    await w.write('1\n')
    await w.write('x\n')
    const end = outcome(w.end())
    expect(await read(s, 3)).toEqual(['CopyData 1\n', 'CopyData x\n', 'CopyDone'])
    await s.send(errorResponse({ code: '22P02', message: 'invalid input syntax for type integer: "x"', where: 'COPY t, line 2' }), readyForQuery('I'))
    expect(codeOf(await end)).toBe('22P02')
    await expectUsable(c, s)
  })

  it('during COPY FROM STDIN, before the client is done: later writes reject with it, no CopyDone is owed', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const pw = c.copyFrom('copy t from stdin')
    await readThrough(s, 'Query')
    await s.send({ type: 'CopyInResponse', format: 0, columnFormats: [0] })
    const w = await pw
    await w.write('x\n')
    expect(await read(s, 1)).toEqual(['CopyData x\n'])
    // A simple-query COPY: the server sends ReadyForQuery right after the error.
    await s.send(errorResponse({ code: '22P02', message: 'invalid input syntax for type integer: "x"' }), readyForQuery('I'))
    await barrier(c, s)
    await expectUsable(c, s)
    const late = outcome(w.write('2\n'))
    expect(codeOf(await late)).toBe('22P02')
    const end = outcome(w.end())
    expect(codeOf(await end)).toBe('22P02')
    await expectQuiet(s, 'nothing of the ended COPY reaches the wire')
  })

  it('during COPY TO STDOUT: the iteration rejects with it after the data that came, the connection goes on', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const chunks: string[] = []
    const run = outcome(
      (async () => {
        for await (const chunk of c.copyTo('copy t to stdout')) chunks.push(chunk.toString())
      })(),
    )
    expect(await readThrough(s, 'Query')).toEqual(['Query copy t to stdout'])
    await s.send(
      { type: 'CopyOutResponse', format: 0, columnFormats: [0] },
      { type: 'CopyData', data: Buffer.from('1\n') },
      errorResponse({ code: '53100', message: 'could not write to file: No space left on device' }),
      readyForQuery('I'),
    )
    expect(codeOf(await run)).toBe('53100')
    expect(chunks.join('')).toBe('1\n')
    await expectUsable(c, s)
  })

  it('while a stream is between batches: the stream rejects after the rows it gave, Sync is written, the connection goes on', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const rows: unknown[] = []
    const run = outcome(
      (async () => {
        for await (const row of c.stream('select n from t', [], { batchSize: 2 })) rows.push(row)
      })(),
    )
    expect(await read(s, 5)).toEqual(['Parse "" select n from t', 'Bind ""', 'Describe P ""', 'Execute 2', 'Flush'])
    await s.send({ type: 'ParseComplete' }, { type: 'BindComplete' }, rowDescription(['n']), dataRow(['1']), dataRow(['2']), { type: 'PortalSuspended' })
    expect(await read(s, 2)).toEqual(['Execute 2', 'Flush'])
    await s.send(errorResponse({ code: '22012', message: 'division by zero' }))
    // The server skips to Sync: the stream must write it to get ReadyForQuery.
    expect(await read(s, 1)).toEqual(['Sync'])
    await s.send(readyForQuery('I'))
    expect(codeOf(await run)).toBe('22012')
    expect(rows).toEqual([{ n: '1' }, { n: '2' }])
    await expectUsable(c, s)
  })

  it('in the first batch of a stream: the stream rejects, the connection goes on', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const run = outcome(
      (async () => {
        for await (const row of c.stream('select n from missing', [], { batchSize: 2 })) void row
      })(),
    )
    expect(await read(s, 5)).toEqual(['Parse "" select n from missing', 'Bind ""', 'Describe P ""', 'Execute 2', 'Flush'])
    await s.send(errorResponse({ code: '42P01', message: 'relation "missing" does not exist' }))
    expect(await read(s, 1)).toEqual(['Sync'])
    await s.send(readyForQuery('I'))
    expect(codeOf(await run)).toBe('42P01')
    await expectUsable(c, s)
  })
})
