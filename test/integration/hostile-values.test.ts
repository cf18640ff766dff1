// Values the driver cannot send as given: refused with a typed error that
// names the parameter (or COPY row and column) but never the value, before
// anything reaches the server, and the connection stays usable.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { DatabaseError, InterfaceError, ParameterError, PipelineAborted, Pool, type Connection } from '../../src/index.js'
import { loadSync } from '../sync/flavours.js'
import { connectAs, optionsFor, uniqueName } from './_util.js'

let conn: Connection
beforeAll(async () => {
  conn = await connectAs('scram')
})
afterAll(async () => {
  await conn?.close()
})

// Distinctive words around the surrogates, so a leak of the value shows in the message.
const LONE = ['\uD800', 'zq\uDC00xw', 'hunter2 \uDBFF', '\uDFFF\uD800']

async function refusal(p: Promise<unknown>): Promise<ParameterError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ParameterError)
  return err as ParameterError
}

async function stillUsable(c: Connection = conn): Promise<void> {
  expect((await c.query('select $1::text as v', ['fine'])).rows).toEqual([{ v: 'fine' }])
}

function expectNoValue(err: Error, value: string): void {
  expect(err.message).not.toContain(value)
  // Not even the well-formed part around the surrogate.
  for (const part of value.split(/[\uD800-\uDFFF]/)) if (part.trim().length > 1) expect(err.message).not.toContain(part)
}

describe('strings with lone UTF-16 surrogates', () => {
  for (const prepare of [false, true]) {
    const how = prepare ? 'named (prepared)' : 'unnamed'
    it(`refuses a text parameter (${how}) naming $n, not the value`, async () => {
      for (const bad of LONE) {
        const err = await refusal(conn.query('select $1::int as n, $2::text as s', [1, bad], { prepare }))
        expect(err.index).toBe(1)
        expect(err.valueType).toBe('string')
        expect(err.message).toMatch(/\$2/)
        expect(err.message).toMatch(/surrogate/)
        expectNoValue(err, bad)
        await stillUsable()
      }
    })

    it(`refuses a lone surrogate inside a text[] element (${how})`, async () => {
      const err = await refusal(conn.query('select $1::text[] as a', [['fine', 'x\uD83D']], { prepare }))
      expect(err.index).toBe(0)
      expect(err.message).toMatch(/\$1/)
      await stillUsable()
    })

    it(`refuses a JSON text string with a raw lone surrogate (${how})`, async () => {
      const err = await refusal(conn.query('select $1::jsonb as j', ['{"k": "\uDC00"}'], { prepare }))
      expect(err.message).toMatch(/\$1/)
      await stillUsable()
    })
  }

  it('refuses what toPostgres() spells with a lone surrogate', async () => {
    // Unnamed only: a typed text parameter takes no objects at all.
    const err = await refusal(conn.query('select $1::text as s', [{ toPostgres: () => 'x\uD800' }], { prepare: false }))
    expect(err.message).toMatch(/\$1: its text form contains a lone UTF-16 surrogate/)
    await stillUsable()
  })

  it('sends well-formed strings, astral characters included, unchanged', async () => {
    const s = 'za\u017c\u00f3\u0142\u0107 \uD83D\uDC18 \u00e9'
    for (const prepare of [false, true]) {
      expect((await conn.query('select $1::text as s, $2::text[] as a', [s, [s]], { prepare })).rows).toEqual([{ s, a: [s] }])
    }
  })

  it('objects sent as JSON need no check: JSON.stringify escapes lone surrogates, and the server judges the escape', async () => {
    // The text on the wire is pure ASCII (\ud800), so nothing is changed on the way: json keeps the escape as written.
    expect((await conn.query('select $1::json::text as j', [{ k: '\uD800' }])).rows[0]!.j).toBe('{"k":"\\ud800"}')
    // jsonb cannot store a lone surrogate, and the server says so itself.
    const err = await conn.query('select $1::jsonb as j', [{ k: '\uD800' }]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DatabaseError)
    expect((err as DatabaseError).code).toBe('22P02')
    expect((err as DatabaseError).detail).toMatch(/surrogate/i)
    await stillUsable()
  })

  it('refuses in a pipeline: its Sync group aborts as for a server error, the next group runs', async () => {
    const results = await conn.pipeline(async (p) => {
      const bad = p.query('select $1::text as s', ['\uDC00']).catch((e: unknown) => e)
      const sameGroup = p.query('select $1::text as s', ['skipped']).catch((e: unknown) => e)
      await p.sync()
      const next = p.query('select $1::text as s', ['after'])
      return Promise.all([bad, sameGroup, next])
    })
    expect(results[0]).toBeInstanceOf(ParameterError)
    expect((results[0] as ParameterError).message).toMatch(/\$1/)
    expect(results[1]).toBeInstanceOf(PipelineAborted)
    expect((results[1] as Error).cause).toBe(results[0])
    expect((results[2] as { rows: unknown[] }).rows).toEqual([{ s: 'after' }])
    await stillUsable()
  })

  it('refuses in stream()', async () => {
    const err = await (async () => {
      for await (const _ of conn.stream('select $1::text as s', ['\uD800'])) void _
    })().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ParameterError)
    await stillUsable()
  })

  it('refuses SQL text with a lone surrogate instead of changing it', async () => {
    for (const run of [
      () => conn.query("select '\uD800' as s"),
      () => conn.query("select '\uD800' as s", [], { prepare: false }),
      () => conn.simpleQuery("select 'x\uDC00' as s"),
    ]) {
      const err = await run().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(InterfaceError)
      expect((err as Error).message).toMatch(/surrogate/)
      await stillUsable()
    }
  })
})

describe('COPY rows with lone UTF-16 surrogates', () => {
  async function table(): Promise<string> {
    const t = uniqueName('lone')
    await conn.query(`create temp table ${t} (i int, s text, a text[])`)
    return t
  }

  for (const format of ['text', 'csv', 'binary'] as const) {
    it(`refuses the value naming row and column (${format}), and the COPY can go on`, async () => {
      const t = await table()
      const w = await conn.copyFrom(`copy ${t} from stdin (format ${format})`)
      await w.writeRow([1, 'fine', ['x']])
      const err = await refusal(w.writeRow([2, 'hunter2 \uD800 swordfish', null]))
      expect(err.message).toMatch(/row 2\b/)
      expect(err.message).toMatch(/column 2\b/)
      expect(err.index).toBe(1)
      expect(err.row).toBe(2)
      expectNoValue(err, 'hunter2 \uD800 swordfish')
      const inArray = await refusal(w.writeRow([3, 'ok', ['y', '\uDC00']]))
      expect(inArray.message).toMatch(/row 3\b.*column 3\b/)
      await w.writeRow([4, 'also fine', null])
      expect(await w.end()).toBe(2)
      expect((await conn.query(`select i, s from ${t} order by i`)).rows).toEqual([
        { i: 1, s: 'fine' },
        { i: 4, s: 'also fine' },
      ])
      await stillUsable()
    })
  }

  it('refuses raw COPY text data with a lone surrogate', async () => {
    const t = await table()
    const w = await conn.copyFrom(`copy ${t} (i, s) from stdin`)
    await expect(w.write('1\tx\uD800\n')).rejects.toThrow(InterfaceError)
    await w.write('2\tok\n')
    expect(await w.end()).toBe(1)
    await stillUsable()
  })

  it('refuses in copyFrom(source) and aborts the COPY', async () => {
    const t = await table()
    const rows = [[1, 'a', null], [2, '\uDBFF', null]]
    const err = await refusal(conn.copyFrom(`copy ${t} from stdin`, rows))
    expect(err.message).toMatch(/row 2\b.*column 2\b/)
    expect((await conn.query(`select count(*)::int as n from ${t}`)).rows).toEqual([{ n: 0 }])
  })
})

describe('more parameters than the protocol can carry', () => {
  const placeholders = (n: number): string => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(',')
  const sql = (n: number): string => `select cardinality(array[${placeholders(n)}]) as n`
  const values = (n: number): string[] => Array.from({ length: n }, () => '1')
  // Its own connection per test: before the fix some of these lost it.
  let c: Connection
  beforeEach(async () => {
    c = await connectAs('scram')
  })
  afterEach(async () => {
    await c?.close()
  })

  for (const prepare of [false, true]) {
    const how = prepare ? 'named (prepared)' : 'unnamed'
    it(`refuses 65536 parameters before writing anything (${how})`, async () => {
      const err = await refusal(c.query(sql(65536), values(65536), { prepare }))
      expect(err.message).toMatch(/65536/)
      expect(err.message).toMatch(/65535/)
      await stillUsable(c)
    })

    it(`sends exactly 65535 (${how})`, async () => {
      expect((await c.query(sql(65535), values(65535), { prepare })).rows).toEqual([{ n: 65535 }])
    })
  }

  it('refuses 65536 parameters in a pipeline', async () => {
    const [bad, good] = await c.pipeline(async (p) =>
      Promise.all([p.query(sql(65536), values(65536)).catch((e: unknown) => e), p.query('select 1 as one')]),
    )
    expect(bad).toBeInstanceOf(ParameterError)
    expect((bad as Error).message).toMatch(/65535/)
    expect((good as { rows: unknown[] }).rows).toEqual([{ one: 1 }])
    await stillUsable(c)
  })

  it('refuses preparing or describing a statement with more than 65535 placeholders', async () => {
    for (const run of [() => c.prepare(sql(65536)), () => c.describe(sql(65536))]) {
      const err = await run().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ParameterError)
      expect((err as Error).message).toMatch(/65535/)
      await stillUsable(c)
    }
  })
})

describe('toPostgres() that does not return a string', () => {
  for (const prepare of [false, true]) {
    it(`is a ParameterError naming $n (${prepare ? 'named' : 'unnamed'})`, async () => {
      for (const spelled of [42, null, undefined, { x: 1 }]) {
        const err = await refusal(conn.query('select $1::int as a, $2::text as b', [1, { toPostgres: () => spelled }], { prepare }))
        expect(err.index).toBe(1)
        expect(err.message).toMatch(/\$2/)
        await stillUsable()
      }
    })
  }
})

describe('toPostgres() that does not return a string, through the sync API', () => {
  it('is refused in the worker as in the async API, not sent as its String()', async () => {
    const { connectSync, ParameterError: SyncParameterError } = await loadSync()
    class Money {
      toPostgres(): unknown {
        return 42
      }
    }
    using c = connectSync(optionsFor('scram'))
    let err: unknown
    try {
      c.query('select $1::text as b', [new Money()], { prepare: false })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(SyncParameterError)
    expect((err as Error).message).toMatch(/\$1.*toPostgres\(\) returned a number/)
    expect(c.query<{ v: string }>('select $1::text as v', ['fine']).rows).toEqual([{ v: 'fine' }])
  })
})

describe('unknown option keys', () => {
  it('refuses node-postgres habits with the pgline name', async () => {
    await expect(connectAs('scram', { ssl: true } as never)).rejects.toThrow(/unknown option 'ssl'.*'sslMode'.*'tls'/)
    await expect(connectAs('scram', { db: 'app' } as never)).rejects.toThrow(/unknown option 'db'.*'database'/)
    await expect(connectAs('scram', { connectionString: 'postgres://x' } as never)).rejects.toThrow(/first argument/)
    const err = await connectAs('scram', { statement_timeout: 5 } as never).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InterfaceError)
    expect((err as Error).message).toMatch(/'statementTimeout'/)
  })

  it('accepts an unknown key whose value is undefined', async () => {
    const c = await connectAs('scram', { ssl: undefined } as never)
    await stillUsable(c)
    await c.close()
  })

  it('refuses an unknown connection option given to a Pool, and points pool options to the second argument', async () => {
    expect(() => new Pool({ ...optionsFor('scram'), db: 'app' } as never)).toThrow(/unknown option 'db'/)
    expect(() => new Pool({ ...optionsFor('scram'), max: 3 } as never)).toThrow(/pool option.*second argument/)
  })
})

describe('unknown pool option keys', () => {
  it('refuses them with the nearest pool option, and points connection options to the first argument', () => {
    expect(() => new Pool(optionsFor('scram'), { idleTimeoutMillis: 10 } as never)).toThrow(/unknown pool option 'idleTimeoutMillis' \(did you mean 'maxIdle'\?\)/)
    expect(() => new Pool(optionsFor('scram'), { host: 'x' } as never)).toThrow(/connection option; pass it in the first argument/)
  })
})
