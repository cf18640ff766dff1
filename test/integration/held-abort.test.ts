// A stream's or COPY's signal and timeout stop watching when the request is
// refused before anything is written, or ends: firing later on a healthy,
// busy connection writes nothing stray (Close+Sync, CopyFail) and destroys
// nothing. One still waiting its turn is not killed by the grace period.
import { afterEach, describe, expect, it } from 'vitest'
import type { Connection } from '../../src/index.js'
import { connectAs } from './_util.js'

let open: Connection[] = []
afterEach(async () => {
  await Promise.all(open.map((c) => c.close().catch(() => undefined)))
  open = []
})

describe("a stream's or COPY's signal and timeout", () => {
  it('a stream refused by submit() (wrong parameter count) leaves the connection alone when its signal aborts later', async () => {
    const c = await connectAs('scram', { cancelGrace: 300 })
    open.push(c)
    const ac = new AbortController()
    // Refused before anything is written: $1 but no parameter.
    await expect(
      (async () => {
        for await (const _ of c.stream('select $1::int', [], { signal: ac.signal })) void _
      })(),
    ).rejects.toThrow(/parameter/)
    // Later, the same (request-scoped) signal aborts while the connection runs other work.
    const long = c.query<{ n: number }>('select pg_sleep(0.8), 1 as n')
    await new Promise((r) => setTimeout(r, 50))
    ac.abort()
    expect((await long).rows[0]!.n).toBe(1)
    expect((await c.query<{ n: number }>('select 2 as n')).rows[0]!.n).toBe(2)
    expect(c.closed).toBe(false)
  })

  it('a COPY TO refused by submit() leaves the connection alone when its timeout fires later', async () => {
    const c = await connectAs('scram', { cancelGrace: 300 })
    open.push(c)
    // A lone surrogate in the SQL text: refused by checkSqlText() in submit(), after guard() was armed.
    const out = c.copyTo('copy (select 1) to stdout -- \uD800', { timeout: 100 })
    await expect(
      (async () => {
        for await (const _ of out) void _
      })(),
    ).rejects.toThrow(/surrogate/)
    const long = c.query<{ n: number }>('select pg_sleep(0.8), 1 as n')
    expect((await long).rows[0]!.n).toBe(1)
    expect(c.closed).toBe(false)
  })

  it('a COPY TO queued behind a long query, timed out before it runs, does not kill that query after cancelGrace', async () => {
    const c = await connectAs('scram', { cancelGrace: 300 })
    open.push(c)
    const long = c.query<{ n: number }>('select pg_sleep(1), 1 as n')
    const out = c.copyTo('copy (select 1) to stdout', { timeout: 100 })
    const read = (async () => {
      for await (const _ of out) void _
    })()
    // The COPY times out waiting behind `long`; `long` itself must still succeed.
    await expect(read).rejects.toThrow()
    expect((await long).rows[0]!.n).toBe(1)
  })
  it('(cancelGrace 0) the refused stream late abort writes no stray Close+Sync into the next request', async () => {
    const c = await connectAs('scram', { cancelGrace: 0 })
    open.push(c)
    const ac = new AbortController()
    await expect(
      (async () => {
        for await (const _ of c.stream('select $1::int', [], { signal: ac.signal })) void _
      })(),
    ).rejects.toThrow(/parameter/)
    const long = c.query<{ n: number }>('select pg_sleep(0.3), 1 as n')
    await new Promise((r) => setTimeout(r, 50))
    ac.abort()
    expect((await long).rows[0]!.n).toBe(1)
    expect((await c.query<{ n: number }>('select 2 as n')).rows[0]!.n).toBe(2)
  })
  it('a stream/COPY refused for a bad timeout (a string from the environment) does not keep the connection held', async () => {
    const c = await connectAs('scram')
    open.push(c)
    const timeout = '5000' as unknown as number
    await expect(c.copyFrom('copy pg_temp.t from stdin', { timeout })).rejects.toThrow(/timeout/)
    expect((await c.query<{ n: number }>('select 2 as n')).rows[0]!.n).toBe(2)
  })
})
