// Pipeline endings and COPY refusals seen by the scripted server: a statement
// queued while the pipeline finishes is refused, errors keep their type.
import { describe, expect, it } from 'vitest'
import { DatabaseError } from '../../../src/index.js'
import type { BackendMessage } from '../../../src/protocol/messages.js'
import { commandComplete, dataRow, errorResponse, readyForQuery, rowDescription } from '../../support/backend-encoder.js'
import { barrier, isSettled, outcome, read, readThrough, startRig } from './_harness.js'

function stmtReply(column: string, value: string): BackendMessage[] {
  return [{ type: 'ParseComplete' }, { type: 'BindComplete' }, rowDescription([column]), dataRow([value]), commandComplete('SELECT 1')]
}

describe('pipeline', () => {
  it('an observed failing statement: its handler has run by the time sync() resolves', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const p = c.pipeline()
    let seen: unknown
    void p.query('select bad').catch((e: unknown) => (seen = e))
    const sync = p.sync()
    await readThrough(s, 'Sync')
    await s.send(errorResponse({ code: '42703', message: 'no' }), readyForQuery('I'))
    await sync
    expect(seen).toBeInstanceOf(DatabaseError)
    await p[Symbol.asyncDispose]()
  })

  it('a statement queued while the pipeline is finishing (callback returned, final Sync in flight) is refused or synced; the connection goes on', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    let late: Promise<unknown> | undefined
    const run = outcome(
      c.pipeline(async (p) => {
        // A background task that keeps using p after the callback returned.
        void (async () => {
          await p.query('select 1 as a')
          late = outcome(p.query('select 2 as b'))
        })()
      }),
    )
    await readThrough(s, 'Sync')
    await s.send(...stmtReply('a', '1'))
    await barrier(c, s)
    // The late statement, if accepted, was written after the Sync without one of its own.
    await s.send(readyForQuery('I'))
    const extra = await isSettled(run) ? [] : await read(s, 5)
    if (extra.length > 0) await s.send(...stmtReply('b', '2'))
    const r = await run
    const q = outcome(c.query('select 3 as c'))
    const qWire = await readThrough(s, 'Sync')
    await s.send(...stmtReply('c', '3'), readyForQuery('I'))
    const got = await Promise.race([q, new Promise((r) => setTimeout(() => r('HUNG'), 1000))])
    expect({ extra, r, late: await late, qWire, got }).toMatchObject({ got: { ok: expect.anything() } })
  })
})

describe('copyTo of COPY FROM STDIN, then close()', () => {
  it('CopyFail is not written to a socket close() has already ended', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const closeErrors: unknown[] = []
    c.on('close', (e) => closeErrors.push(e))
    const out = c.copyTo('copy t from stdin')
    const it = out[Symbol.asyncIterator]()
    const first = outcome(it.next())
    await readThrough(s, 'Query')
    const closing = c.close()
    expect(await read(s, 1)).toEqual(['Terminate'])
    await s.send({ type: 'CopyInResponse', format: 0, columnFormats: [0] } as BackendMessage)
    await new Promise((r) => setTimeout(r, 50))
    await s.send(errorResponse({ code: '08P01', message: 'unexpected message type 0x58 during COPY from stdin' }), readyForQuery('I'))
    s.end()
    await closing
    const f = await first
    expect({ closeErrors: closeErrors.map((e) => (e as Error | undefined)?.message), first: (f as { err?: Error }).err?.message }).toEqual({
      closeErrors: [undefined],
      first: 'copyTo() needs a COPY ... TO STDOUT statement',
    })
  })
})

describe('pipeline errors keep their type', () => {
  async function myPipelineCaller(p: import('../../../src/index.js').Pipeline, sql: string, params: unknown[] = []): Promise<unknown> {
    return await p.query(sql, params)
  }
  it('refused at once (parameter count), unobserved: sync() rejects with it, no unhandled rejection', async () => {
    const rig = await startRig()
    const { c } = await rig.connect({ prepare: false })
    const p = c.pipeline()
    void p.query('select $1', [])
    const sync = await outcome(p.sync())
    expect((sync as { err: Error }).err.name).toBe('InterfaceError')
    await p[Symbol.asyncDispose]()
  })
  it('pre-aborted signal: settles once, finish() does not wait', async () => {
    const rig = await startRig()
    const { c, s } = await rig.connect({ prepare: false })
    const ac = new AbortController()
    ac.abort(new Error('stop'))
    const res = outcome(c.pipeline(async (p) => {
      const a = outcome(p.query('select 1', [], { signal: ac.signal }))
      const b = outcome(p.query('select 2 as b'))
      return [await a, await b]
    }))
    await read(s, 5) // b's statement and a Flush: a was never written
    await s.send(...stmtReply('b', '2'))
    await readThrough(s, 'Sync')
    await s.send(readyForQuery('I'))
    const out = await res
    expect((out as { ok: [{ err: DatabaseError }, unknown] }).ok[0].err.code).toBe('57014')
  })
})
