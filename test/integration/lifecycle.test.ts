// What the connection owes every caller: close() settles (once or twice) and
// lets what was asked before it finish, a pipeline error is never silent, and
// an async query's error says where it was called from.
import { afterEach, describe, expect, it } from 'vitest'
import { ConnectionError, DatabaseError, InterfaceError, TimeoutError, type Connection } from '../../src/index.js'
import { resolveConfig } from '../../src/config/config.js'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { connectAs, optionsFor } from './_util.js'

const run = promisify(execFile)

let open: Connection[] = []
async function conn(): Promise<Connection> {
  const c = await connectAs('scram')
  open.push(c)
  return c
}
afterEach(async () => {
  await Promise.all(open.map((c) => c.close().catch(() => undefined)))
  open = []
})

describe('close()', () => {
  it('is idempotent: a second call, sequential or concurrent, resolves too', async () => {
    const c = await conn()
    const [a, b] = [c.close(), c.close()]
    await Promise.all([a, b])
    await c.close()
    await c[Symbol.asyncDispose]()
    expect(c.closed).toBe(true)
  })

  it('lets a query already sent finish before Terminate', async () => {
    const c = await conn()
    const q = c.query<{ n: number }>('select pg_sleep(0.2), 42 as n')
    const queued = c.query<{ n: number }>('select 7 as n')
    await c.close()
    expect((await q).rows[0]!.n).toBe(42)
    expect((await queued).rows[0]!.n).toBe(7)
    await expect(c.query('select 1')).rejects.toBeInstanceOf(InterfaceError)
  })

  it('settles a transaction whose connection is closed from outside', async () => {
    const c = await conn()
    let inner: unknown
    const tx = c.transaction(async (t) => {
      inner = (await t.query<{ n: number }>('select pg_sleep(0.2), 1 as n')).rows[0]!.n
      await t.query('select 2')
    })
    await new Promise((r) => setTimeout(r, 50))
    const closed = c.close()
    const outcome = await tx.then(
      () => 'resolved',
      (e: unknown) => e,
    )
    await closed
    // The query in flight was answered; the next one found the connection closed.
    expect(inner).toBe(1)
    expect(outcome).toBeInstanceOf(Error)
    expect(outcome).not.toBe('resolved')
    expect((outcome as Error).constructor.name).toMatch(/InterfaceError|ConnectionError/)
  })
})

describe('explicit pipelines never lose an error', () => {
  it('sync() rejects with an error whose statement nobody awaited', async () => {
    const c = await conn()
    const err = await c
      .pipeline(async (p) => {
        void p.query('select 1/0')
        await p.sync()
      })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DatabaseError)
    expect((err as DatabaseError).code).toBe('22012')
    expect((await c.query<{ n: number }>('select 1 as n')).rows[0]!.n).toBe(1)
  })

  it('the pipeline rejects when the last group has an unobserved error and no explicit sync', async () => {
    const c = await conn()
    const err = await c.pipeline(async (p) => void p.query('select 1/0')).catch((e: unknown) => e)
    expect((err as DatabaseError).code).toBe('22012')
  })

  it('an error the caller handles is not raised again', async () => {
    const c = await conn()
    const out = await c.pipeline(async (p) => {
      const a = p.query('select 1/0').catch((e: DatabaseError) => e.code)
      const b = p.query('select 2') // aborted by the error before it: PipelineAborted, expected
      b.catch(() => undefined)
      await p.sync()
      return a
    })
    expect(out).toBe('22012')
    const all = await c.pipeline(async (p) => Promise.allSettled([p.query('select 1/0'), p.query('select 1')]))
    expect(all.map((r) => r.status)).toEqual(['rejected', 'rejected'])
  })

  it('awaiting the statement itself reports the error once, from the statement', async () => {
    const c = await conn()
    const err = await c
      .pipeline(async (p) => {
        const a = p.query('select 1/0')
        const s = p.sync()
        await a
        await s
      })
      .catch((e: unknown) => e)
    expect((err as DatabaseError).code).toBe('22012')
  })
})

describe('async errors name their caller', () => {
  // Vitest compiles test files so that their async functions leave no async
  // frames; the caller's code runs as a plain Node script here.
  it("a server error's stack includes the awaiting functions", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pgline-frames-'))
    const file = path.join(dir, 'frames.mjs')
    await writeFile(
      file,
      `import { connect } from ${JSON.stringify(pathToFileURL(fileURLToPath(new URL('../../src/index.ts', import.meta.url))).href)}
const conn = await connect(JSON.parse(process.env.OPTS))
async function myBusinessLogic() { return await conn.query('select 1/0') }
async function handlerLayer() { await myBusinessLogic() }
try { await handlerLayer() } catch (e) { console.log(JSON.stringify({ name: e.constructor.name, stack: e.stack })) }
await conn.close()
`,
    )
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
        cwd: fileURLToPath(new URL('../../', import.meta.url)),
        env: { ...process.env, OPTS: JSON.stringify(optionsFor('scram')) },
        timeout: 20_000,
      })
      const { name, stack } = JSON.parse(stdout.trim().split('\n').pop()!) as { name: string; stack: string }
      expect(name).toBe('DivisionByZero')
      // The driver's frames, then the caller's.
      expect(stack).toMatch(/^DivisionByZero: division by zero\n\s+at /)
      expect(stack).toMatch(/the query was called from:\n\s+at async myBusinessLogic .*frames\.mjs:3/)
      expect(stack).toContain('at async handlerLayer')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a lost connection error shared by several queries is extended once', async () => {
    const c = await conn()
    const q1 = c.query('select pg_sleep(5)').catch((e: unknown) => e)
    const q2 = c.query('select pg_sleep(5)').catch((e: unknown) => e)
    c.terminate()
    const [e1, e2] = (await Promise.all([q1, q2])) as Error[]
    expect(e1).toBeInstanceOf(ConnectionError)
    expect(e2).toBeInstanceOf(ConnectionError)
    expect((e1.stack ?? '').split('the query was called from').length).toBeLessThanOrEqual(2)
  })
})

describe('connect()', () => {
  it('has a finite default connect timeout; 0 still waits forever', () => {
    expect(resolveConfig({ host: 'h', user: 'u' }).connectTimeout).toBe(30_000)
    expect(resolveConfig({ host: 'h', user: 'u', connectTimeout: 0 }).connectTimeout).toBe(0)
  })
})

describe('streams and COPY take a signal and a timeout', () => {
  const canceled = (e: unknown): DatabaseError => {
    expect(e).toBeInstanceOf(DatabaseError)
    expect((e as DatabaseError).code).toBe('57014')
    return e as DatabaseError
  }

  it('a stream whose batch is running is canceled on the server at its timeout', async () => {
    const c = await conn()
    const err = await (async () => {
      for await (const _ of c.stream('select pg_sleep(5) from generate_series(1, 2)', [], { timeout: 200 })) void _
    })().catch((e: unknown) => e)
    expect(canceled(err).cause).toBeInstanceOf(TimeoutError)
    expect((await c.query<{ n: number }>('select 1 as n')).rows[0]!.n).toBe(1)
  })

  it('a stream whose reader is slow ends at once when its signal aborts, and the portal is closed', async () => {
    const c = await conn()
    const ac = new AbortController()
    let rows = 0
    const err = await (async () => {
      for await (const _ of c.stream('select g from generate_series(1, 100000) g', [], { batchSize: 100, signal: ac.signal })) {
        if (++rows === 150) ac.abort(new Error('enough'))
        await new Promise((r) => setTimeout(r, 0))
      }
    })().catch((e: unknown) => e)
    expect((canceled(err).cause as Error).message).toBe('enough')
    expect(rows).toBeLessThan(100000)
    expect(c.transactionStatus).toBe('I')
    expect((await c.query<{ n: number }>('select 1 as n')).rows[0]!.n).toBe(1)
  })

  it('an aborted COPY FROM stores nothing and leaves the connection usable', async () => {
    const c = await conn()
    const table = `copy_abort_${process.pid}_${Date.now()}`
    await c.query(`create temp table ${table} (a int)`)
    const ac = new AbortController()
    async function* rows(): AsyncGenerator<unknown[]> {
      for (let i = 0; ; i++) {
        if (i === 1000) ac.abort(new Error('stop'))
        yield [i]
        if (i % 100 === 0) await new Promise((r) => setTimeout(r, 0))
      }
    }
    const err = await c.copyFrom(`copy ${table} (a) from stdin`, rows(), { signal: ac.signal }).catch((e: unknown) => e)
    expect(canceled(err).cause).toMatchObject({ message: 'stop' })
    expect((await c.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]!.n).toBe(0)
  })

  it('a COPY TO the server is slow to start is canceled at its timeout', async () => {
    const c = await conn()
    const err = await (async () => {
      for await (const _ of c.copyTo('copy (select pg_sleep(5)) to stdout', { timeout: 200 })) void _
    })().catch((e: unknown) => e)
    expect(canceled(err).cause).toBeInstanceOf(TimeoutError)
    expect((await c.query<{ n: number }>('select 1 as n')).rows[0]!.n).toBe(1)
  })

  it('an already-aborted signal refuses the stream before it is sent', async () => {
    const c = await conn()
    const err = await (async () => {
      for await (const _ of c.stream('select 1', [], { signal: AbortSignal.abort(new Error('no')) })) void _
    })().catch((e: unknown) => e)
    canceled(err)
    expect((await c.query<{ n: number }>('select 1 as n')).rows[0]!.n).toBe(1)
  })
})

describe('cancelGrace', () => {
  it('counts only once the timed-out query is the one running: a slow query ahead does not close the connection', async () => {
    const c = await connectAs('scram', { cancelGrace: 200 })
    open.push(c)
    const slow = c.query<{ n: number }>('select pg_sleep(0.8), 1 as n')
    const quick = c.query<{ n: number }>('select 2 as n', [], { timeout: 50 })
    expect((await slow).rows[0]!.n).toBe(1)
    // Answered, or canceled once it ran: either way not a lost connection.
    const outcome = await quick.then(
      (r) => r.rows[0]!.n,
      (e: DatabaseError) => e.code,
    )
    expect([2, '57014']).toContain(outcome)
    expect(c.closed).toBe(false)
    expect((await c.query<{ n: number }>('select 3 as n')).rows[0]!.n).toBe(3)
  })

  it('a pipelined statement that times out while an earlier one runs does not cancel that one', async () => {
    const c = await connectAs('scram', { cancelGrace: 200 })
    open.push(c)
    const [first, second] = await c.pipeline(async (p) =>
      Promise.allSettled([p.query<{ n: number }>('select pg_sleep(0.6), 1 as n'), p.query<{ n: number }>('select 2 as n', [], { timeout: 50 })]),
    )
    expect(first.status).toBe('fulfilled')
    expect(second.status === 'fulfilled' || (second.reason as DatabaseError).code === '57014').toBe(true)
    expect(c.closed).toBe(false)
    expect((await c.query<{ n: number }>('select 3 as n')).rows[0]!.n).toBe(3)
  })
})
