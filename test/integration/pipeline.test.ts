import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DatabaseError, InterfaceError, PipelineAborted, type Connection, type Result } from '../../src/index.js'
import { connectAs, uniqueName } from './_util.js'

let conn: Connection

beforeAll(async () => {
  conn = await connectAs('scram')
})
afterAll(async () => {
  await conn?.close()
})

async function table(): Promise<string> {
  const t = uniqueName('pipe')
  await conn.query(`create temp table ${t} (i int primary key)`)
  return t
}

const count = async (t: string): Promise<number> => (await conn.query<{ n: number }>(`select count(*)::int as n from ${t}`)).rows[0]!.n

describe('explicit pipelines', () => {
  it('gives every statement its own result', async () => {
    const out = await conn.pipeline(async (p) => {
      const a = p.query('select $1::int as v', [1])
      const b = p.query('select $1::text as v', ['two'])
      const c = p.query('select 3 as v', [], { rowMode: 'array' })
      await p.sync()
      return Promise.all([a, b, c])
    })
    expect(out.map((r) => r.rows[0])).toEqual([{ v: 1 }, { v: 'two' }, [3]])
  })

  it('runs 10,000 statements in one pipeline', async () => {
    const t = await table()
    const results = await conn.pipeline(async (p) => {
      const all: Promise<Result>[] = []
      for (let i = 0; i < 10_000; i++) all.push(p.query(`insert into ${t} values ($1)`, [i]))
      return Promise.all(all)
    })
    expect(results.every((r) => r.command === 'INSERT' && r.rowCount === 1)).toBe(true)
    expect(await count(t)).toBe(10_000)
  })

  for (const failAt of [450, 500]) {
    it(`aborts exactly the rest of the Sync group after an error at statement ${failAt} of 1,000`, async () => {
      const t = await table()
      const settled = await conn.pipeline(async (p) => {
        const all: Promise<Result>[] = []
        for (let n = 1; n <= 1000; n++) {
          // Statement `failAt` divides by zero.
          all.push(p.query(`insert into ${t} select $1::int / $2::int`, [n, n === failAt ? 0 : 1]))
          if (n % 100 === 0) void p.sync()
        }
        return Promise.allSettled(all)
      })
      const group = Math.floor((failAt - 1) / 100)
      settled.forEach((s, i) => {
        const n = i + 1
        if (n === failAt) {
          expect(s.status).toBe('rejected')
          expect(((s as PromiseRejectedResult).reason as DatabaseError).code).toBe('22012')
        } else if (n > failAt && Math.floor((n - 1) / 100) === group) {
          expect(s.status).toBe('rejected')
          expect((s as PromiseRejectedResult).reason).toBeInstanceOf(PipelineAborted)
        } else {
          expect(s.status).toBe('fulfilled')
        }
      })
      // The failing group ran as one implicit transaction and was rolled back; the others committed.
      expect(await count(t)).toBe(900)
      const missing = await conn.query<{ i: number }>(`select i from generate_series(1, 1000) i except select i from ${t} order by 1`)
      expect(missing.rows.map((r) => r.i)).toEqual(Array.from({ length: 100 }, (_, k) => group * 100 + k + 1))
    })
  }

  it('works inside a transaction block', async () => {
    const t = await table()
    await conn.query('begin')
    await conn.pipeline(async (p) => {
      for (let i = 0; i < 10; i++) void p.query(`insert into ${t} values ($1)`, [i])
    })
    expect(conn.transactionStatus).toBe('T')
    await conn.query('rollback')
    expect(await count(t)).toBe(0)
    await conn.query('begin')
    await conn.pipeline(async (p) => {
      for (let i = 0; i < 10; i++) void p.query(`insert into ${t} values ($1)`, [i])
    })
    await conn.query('commit')
    expect(await count(t)).toBe(10)
  })

  it('runs executeMany pipelined', async () => {
    const t = await table()
    const n = await conn.pipeline((p) => p.executeMany(`insert into ${t} values ($1)`, Array.from({ length: 500 }, (_, i) => [i])))
    expect(n).toBe(500)
    expect(await count(t)).toBe(500)
  })

  it('supports await using', async () => {
    const t = await table()
    {
      await using p = conn.pipeline()
      void p.query(`insert into ${t} values (1)`)
      void p.query(`insert into ${t} values (2)`)
    }
    expect(await count(t)).toBe(2)
  })

  it('refuses queries on the connection while a pipeline holds it, and reuse after it ended', async () => {
    let escaped: { query: (s: string) => Promise<unknown> } | undefined
    await conn.pipeline(async (p) => {
      escaped = p
      await expect(conn.query('select 1')).rejects.toBeInstanceOf(InterfaceError)
      await p.query('select 1')
    })
    await expect(escaped!.query('select 1')).rejects.toThrow(/ended/)
    expect((await conn.query('select 1 as ok')).rows[0]!.ok).toBe(1)
  })

  it('keeps queries called before the pipeline ahead of it', async () => {
    const t = await table()
    const before = conn.query(`insert into ${t} values (1)`)
    const inPipe = conn.pipeline(async (p) => {
      const r = await p.query(`select count(*)::int as n from ${t}`)
      return r.rows[0]!.n
    })
    await before
    expect(await inPipe).toBe(1)
  })
})

describe('explicit pipelines under a small in-flight bound', () => {
  it('with maxInFlight: 1 a pipeline and executeMany() still finish (the group is one request in flight)', async () => {
    const c = await connectAs('scram', { maxInFlight: 1 })
    try {
      const t = uniqueName('pipe1')
      await c.query(`create temp table ${t} (i int primary key)`)
      expect(await c.executeMany(`insert into ${t} values ($1)`, [[1], [2], [3]])).toBe(3)
      const rows = await c.pipeline(async (p) => {
        const a = p.query('select 1 as n')
        const b = p.query('select 2 as n')
        await p.sync()
        const d = p.query(`select count(*)::int as n from ${t}`)
        return Promise.all([a, b, d])
      })
      expect(rows.map((r) => r.rows[0])).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }])
    } finally {
      await c.close()
    }
  })
})
