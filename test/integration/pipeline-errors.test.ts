// Pipeline errors reach the caller: behind a sync() nobody awaits (`void
// p.sync()`) an unobserved statement error rejects the pipeline rather than
// the process, and a statement refused before sending aborts its Sync group
// as a server error would.
import { afterEach, describe, expect, it } from 'vitest'
import { ParameterError, PipelineAborted, type Connection } from '../../src/index.js'
import { connectAs } from './_util.js'

let open: Connection[] = []
afterEach(async () => {
  await Promise.all(open.map((c) => c.close().catch(() => undefined)))
  open = []
})

describe('an unobserved pipeline error behind a floating sync()', () => {
  it('rejects the pipeline, without an unhandled rejection', async () => {
    const c = await connectAs('scram')
    open.push(c)
    const unhandled: unknown[] = []
    const onUnhandled = (e: unknown): void => void unhandled.push(e)
    process.on('unhandledRejection', onUnhandled)
    try {
      const run = c.pipeline(async (p) => {
        void p.query('select 1/0')
        void p.sync()
        await p.query('select 1')
        return 'resolved'
      })
      const outcome = await run.then(
        (v) => v,
        (e: Error) => `rejected: ${e.message}`,
      )
      await new Promise((r) => setTimeout(r, 50))
      expect({ outcome, unhandled: unhandled.length }).toEqual({ outcome: 'rejected: division by zero', unhandled: 0 })
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})

describe('a statement refused client-side inside a Sync group', () => {
  it('aborts its group as a server error would (the others are not committed)', async () => {
    const c = await connectAs('scram')
    open.push(c)
    await c.simpleQuery('create temp table rv (v text)')
    const settled = await c.pipeline(async (p) => {
      const all = [p.query('insert into rv values ($1)', ['a']), p.query('insert into rv values ($1)', ['b\uD800']), p.query('insert into rv values ($1)', ['c'])]
      await p.sync().catch(() => undefined)
      return Promise.allSettled(all)
    })
    // The first ran (its result came back) and was rolled back with its group, as with a server error.
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'rejected'])
    const [, refused, skipped] = settled as PromiseRejectedResult[]
    expect(refused!.reason).toBeInstanceOf(ParameterError)
    expect(skipped!.reason).toBeInstanceOf(PipelineAborted)
    expect((skipped!.reason as Error).cause).toBe(refused!.reason)
    expect((await c.query<{ n: number }>('select count(*)::int as n from rv')).rows[0]!.n).toBe(0)
  })
})
