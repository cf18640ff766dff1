// The sql`...` tagged template against the real server: literals and
// identifiers of arbitrary strings round-trip (property-based, fast-check),
// hostile values go as parameters, every entry point takes a fragment (the
// sync API too), and one template is one prepared statement whatever its values.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { InterfaceError, ParameterError, Pool, sql, type ColumnsResult, type Connection, type Result, type Row, type SqlQuery } from '../../src/index.js'
import { loadSync } from '../sync/flavours.js'
import { connectAs, optionsFor, uniqueName } from './_util.js'

let conn: Connection
beforeAll(async () => {
  conn = await connectAs('scram')
})
afterAll(async () => {
  await conn?.close()
})

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: unknown) => e as Error,
  )
}

/** Strings made of what breaks naive quoting, and of any code point but NUL. */
const hostileUnit = fc.oneof(
  fc.constantFrom("'", "''", '"', '\\', "\\'", '$1', '$$', '$q$', '--', '/*', '*/', ';', "E'", 'U&', '\n', '\r', '\t', ' ', '🐘', '👩‍👩‍👧', 'é', 'e\u0301', '\u202e', '\ufeff', '\u2028'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => c !== '\0'),
  fc.constantFrom('a', 'Z', '0', '_'),
)
const hostileString = fc.string({ unit: hostileUnit, maxLength: 24 })

describe('the README example', () => {
  it('runs as written', async () => {
    const c = await connectAs('scram')
    try {
      const table = sql.ident('my table')
      await c.query(sql`create temp table ${table} (id int, tag text, note text default ${sql.literal("it's")})`)
      await c.query(sql`insert into ${table} (id, tag) values (${1}, ${'a'}), (${2}, ${'b'})`)
      const filters = [sql`id > ${0}`, sql`tag = any(${['a', 'b']})`]
      const columns = sql.join([sql.ident('id'), sql.ident('note')])
      const q = sql`select ${columns} from ${table} where ${sql.join(filters, ' and ')}`
      expect(q.text).toBe('select "id", "note" from "my table" where id > $1 and tag = any($2)')
      expect(q.values).toEqual([0, ['a', 'b']])
      const r = await c.query(q)
      expect(r.rows).toEqual([
        { id: 1, note: "it's" },
        { id: 2, note: "it's" },
      ])
    } finally {
      await c.close()
    }
  })
})

describe('sql.literal round trips through the server', () => {
  it('select ${sql.literal(s)} returns exactly s, and matches the server quote_literal()', async () => {
    await fc.assert(
      fc.asyncProperty(hostileString, async (s) => {
        const lit = sql.literal(s)
        const r = await conn.query<{ v: string; q: string }>(sql`select ${lit} as v, quote_literal(${s}::text) as q`)
        expect(r.rows[0]!.v).toBe(s)
        expect(lit.text).toBe(r.rows[0]!.q)
      }),
      { numRuns: 300 },
    )
  })

  it('reads the same with standard_conforming_strings off', async () => {
    const c = await connectAs('scram')
    try {
      await c.simpleQuery('set standard_conforming_strings = off; set escape_string_warning = off')
      await fc.assert(
        fc.asyncProperty(hostileString, async (s) => {
          const r = await c.query<{ v: string }>(sql`select ${sql.literal(s)} as v`)
          expect(r.rows[0]!.v).toBe(s)
        }),
        { numRuns: 150 },
      )
    } finally {
      await c.close()
    }
  })

  it('writes numbers, bigints, booleans, NULL and Dates as the server reads them', async () => {
    const when = new Date(Date.UTC(2024, 1, 29, 12, 30, 0, 250))
    const r = await conn.query(
      sql`select ${sql.literal(42)}::int as i, 1-${sql.literal(-1)} as minus, ${sql.literal(-2.5)}::float8 as f, ${sql.literal(NaN)}::float8 as nan,
        ${sql.literal(-Infinity)}::float8 as ninf, (${sql.literal(-(2n ** 70n))})::text as big, ${sql.literal(true)} as t,
        ${sql.literal(null)}::text as n, ${sql.literal(when)}::timestamptz as d`,
    )
    expect(r.rows[0]).toEqual({ i: 42, minus: 2, f: -2.5, nan: NaN, ninf: -Infinity, big: (-(2n ** 70n)).toString(), t: true, n: null, d: when })
  })

  it('goes where a parameter cannot: a column default and SET', async () => {
    const t = uniqueName('sql_default')
    const tricky = "it's \\ $1 🐘"
    await conn.query(sql`create temp table ${sql.ident(t)} (id int, note text default ${sql.literal(tricky)})`)
    await conn.query(sql`insert into ${sql.ident(t)} (id) values (${1})`)
    expect((await conn.query(sql`select note from ${sql.ident(t)}`)).rows).toEqual([{ note: tricky }])
    await conn.simpleQuery(sql`set application_name = ${sql.literal("o'neil \\ app")}`)
    expect((await conn.query('show application_name')).rows[0]).toEqual({ application_name: "o'neil \\ app" })
  })

  it('refuses a string with NUL before anything is sent', () => {
    fc.assert(
      fc.property(hostileString, hostileString, (a, b) => {
        expect(() => sql.literal(`${a}\0${b}`)).toThrow(InterfaceError)
        expect(() => sql.ident(`${a}\0${b}`)).toThrow(/NUL/)
      }),
    )
  })
})

describe('sql.ident round trips through the server', () => {
  it('create temp table ${sql.ident(s)} / select from it works for any name', async () => {
    const names = hostileString.filter((s) => s.length > 0 && Buffer.byteLength(s) <= 63)
    await fc.assert(
      fc.asyncProperty(names, async (s) => {
        const t = sql.ident(s)
        await conn.query(sql`create temp table ${t} (${t} text)`)
        try {
          await conn.query(sql`insert into ${t} (${t}) values (${s})`)
          const r = await conn.query<{ v: string }>(sql`select ${t} as v from ${t}`)
          expect(r.rows).toEqual([{ v: s }])
          // The server's own parser of qualified names reads the quoted text back.
          const qualified = sql.ident('pg_temp', s).text
          const c = await conn.query<{ rel: string; col: string }>(
            sql`select c.relname as rel, a.attname as col from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attnum = 1 where c.oid = to_regclass(${qualified})`,
          )
          expect(c.rows).toEqual([{ rel: s, col: s }])
        } finally {
          await conn.query(sql`drop table ${t}`)
        }
      }),
      { numRuns: 150 },
    )
  })

  it('qualifies a name with its schema', async () => {
    const schema = uniqueName('Sch "x"')
    await conn.query(sql`create schema ${sql.ident(schema)}`)
    try {
      await conn.query(sql`create table ${sql.ident(schema, 'Users')} (id int)`)
      await conn.query(sql`insert into ${sql.ident(schema, 'Users')} values (${sql.join([1], '), (')})`)
      expect((await conn.query(sql`select id from ${sql.ident(schema, 'Users')}`)).rows).toEqual([{ id: 1 }])
    } finally {
      await conn.query(sql`drop schema ${sql.ident(schema)} cascade`)
    }
  })
})

describe('hostile values as parameters', () => {
  it('sends quotes, backslashes, $1, comments and unicode as values', async () => {
    await fc.assert(
      fc.asyncProperty(hostileString, async (s) => {
        const r = await conn.query<{ v: string; n: number }>(sql`select ${s}::text as v, length(${s}::text) as n`)
        expect(r.rows[0]).toEqual({ v: s, n: [...s].length })
      }),
      { numRuns: 200 },
    )
  })

  it('sends bytes with NUL in them as bytea; refuses NUL in text, naming $n', async () => {
    const bytes = Buffer.from([0, 39, 92, 0, 36, 49, 0xff])
    const r = await conn.query<{ b: Buffer }>(sql`select ${bytes}::bytea as b`)
    expect(Buffer.compare(r.rows[0]!.b, bytes)).toBe(0)
    const err = await rejection(conn.query(sql`select ${'ok'}::text as a, ${'a\0b'}::text as b`))
    expect(err).toBeInstanceOf(ParameterError)
    expect(err.message).toMatch(/\$2/)
    expect((await conn.query(sql`select ${'still fine'}::text as v`)).rows).toEqual([{ v: 'still fine' }])
  })

  it("does not confuse a $1 inside the template's own quoted text with a parameter", async () => {
    const x = "value with '$1' in it"
    const q = sql`select '$1' as a, ${x}::text as b, $$ $1 $$ as c, E'\\$1' as d -- $1
      , ${x}::text = ${x}::text as e`
    expect(q.text).toContain(`select '$1' as a, $1::text as b, $$ $1 $$ as c, E'\\$1' as d -- $1`)
    expect((await conn.query(q)).rows).toEqual([{ a: '$1', b: x, c: ' $1 ', d: '$1', e: true }])
  })

  it('documents the edges: a ${value} inside quotes is text, and a $n you write refers to the values too', async () => {
    // '${x}' renders as '$1': a string literal, so the value is never used and the server refuses the extra parameter.
    const err = await rejection(conn.query(sql`select '${'x'}' as a`))
    expect(err.message).toMatch(/parameter|bind message/i)
    // A bare $1 in the template text is the first value, like any $1.
    expect((await conn.query(sql`select $1::int as a, ${5}::int as b`)).rows).toEqual([{ a: 5, b: 5 }])
  })
})

describe('every entry point takes a fragment', () => {
  const byId = (id: number) => sql`select ${id}::int as id, ${sql.literal('x')} as tag`

  it('Connection.query: (fragment), (fragment, options), (fragment, undefined, options), { text, values }', async () => {
    expect((await conn.query(byId(1))).rows).toEqual([{ id: 1, tag: 'x' }])
    expect((await conn.query(byId(2), { rowMode: 'array' })).rows).toEqual([[2, 'x']])
    expect((await conn.query(byId(3), undefined, { rowMode: 'array' })).rows).toEqual([[3, 'x']])
    const cols = await conn.query(byId(4), { rowMode: 'columns' })
    expect(cols.columns.names).toEqual(['id', 'tag'])
    expect((await conn.query({ text: 'select $1::int + 1 as n', values: [1] })).rows).toEqual([{ n: 2 }])
    expect((await conn.query({ text: 'select 1 as n' })).rows).toEqual([{ n: 1 }])
  })

  it('refuses a fragment with a parameter array, before anything is sent', async () => {
    // A rejected promise, not a throw: `conn.query(q).catch(h)` must reach h.
    const refused = conn.query(byId(1), [2] as unknown as undefined)
    expect(refused).toBeInstanceOf(Promise)
    const err = await rejection(refused)
    expect(err).toBeInstanceOf(InterfaceError)
    expect(err.message).toMatch(/carries its own values/)
    expect((await conn.query(byId(5))).rows).toEqual([{ id: 5, tag: 'x' }])
  })

  it('types results as for SQL text', async () => {
    expectTypeOf(conn.query<{ id: number }>(byId(1))).toEqualTypeOf<Promise<Result<{ id: number }>>>()
    expectTypeOf(conn.query<[number, string]>(byId(1), { rowMode: 'array' })).toEqualTypeOf<Promise<Result<[number, string]>>>()
    expectTypeOf(conn.query(byId(1), undefined, { rowMode: 'columns' })).toEqualTypeOf<Promise<ColumnsResult>>()
    expectTypeOf(conn.query(byId(1), { rowMode: 'columns' })).toEqualTypeOf<Promise<ColumnsResult>>()
    const plain: SqlQuery = { text: 'select 1' }
    expectTypeOf(conn.query(plain)).toEqualTypeOf<Promise<Result<Row>>>()
    const r = await conn.query<{ id: number }>(byId(6))
    expect(r.rows[0]!.id).toBe(6)
  })

  it('Connection.simpleQuery: a fragment without values; one with values is refused', async () => {
    const [r] = await conn.simpleQuery(sql`select ${sql.literal("a'b")} as v, ${sql.ident('pg_catalog', 'now')}() is not null as t`)
    expect(r!.rows).toEqual([{ v: "a'b", t: true }])
    const refused = conn.simpleQuery(sql`select ${1}`)
    expect(refused).toBeInstanceOf(Promise)
    const err = await rejection(refused)
    expect(err).toBeInstanceOf(InterfaceError)
    expect(err.message).toMatch(/cannot send parameters/)
  })

  it('Connection.stream', async () => {
    const got: unknown[] = []
    for await (const row of conn.stream<{ g: number }>(sql`select g from generate_series(1, ${5}::int) g where g % ${2}::int = 1`, { batchSize: 2 })) got.push(row.g)
    expect(got).toEqual([1, 3, 5])
    const arrays: unknown[] = []
    for await (const row of conn.stream(sql`select ${'a'}::text as v`, undefined, { rowMode: 'array' })) arrays.push(row)
    expect(arrays).toEqual([['a']])
  })

  it('Connection.cursor().execute and serverCursor().execute', async () => {
    const cur = conn.cursor<{ id: number }>()
    await cur.execute(byId(7))
    expect(await cur.fetchall()).toEqual([{ id: 7, tag: 'x' }])
    await cur.execute(sql`select ${8}::int as id`, { rowMode: 'array' })
    expect(await cur.fetchone()).toEqual([8])
    await conn.transaction(async (tx) => {
      const sc = tx.serverCursor<{ g: number }>()
      await sc.execute(sql`select g from generate_series(1, ${4}::int) g`)
      expect((await sc.fetch(10)).map((r) => r.g)).toEqual([1, 2, 3, 4])
      await sc.close()
    })
  })

  it('pipelines', async () => {
    const rows = await conn.pipeline(async (p) => {
      const a = p.query(byId(10))
      const b = p.query(byId(11), { rowMode: 'array' })
      const c = p.query({ text: 'select $1::int as n', values: [12] })
      return [(await a).rows, (await b).rows, (await c).rows]
    })
    expect(rows).toEqual([[{ id: 10, tag: 'x' }], [[11, 'x']], [{ n: 12 }]])
    const err = await conn.pipeline((p) => p.query(byId(1), [1] as unknown as undefined)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InterfaceError)
  })

  it('transactions: tx.query, tx.stream, tx.simpleQuery, tx.cursor', async () => {
    await conn.transaction(async (tx) => {
      expect((await tx.query(byId(20))).rows).toEqual([{ id: 20, tag: 'x' }])
      expect((await tx.query(byId(21), { rowMode: 'array' })).rows).toEqual([[21, 'x']])
      const got: unknown[] = []
      for await (const r of tx.stream<{ id: number }>(byId(22))) got.push(r.id)
      expect(got).toEqual([22])
      expect((await tx.simpleQuery(sql`select ${sql.literal(23)}::int as n`))[0]!.rows).toEqual([{ n: 23 }])
      const cur = tx.cursor()
      await cur.execute(byId(24))
      expect(await cur.fetchall()).toEqual([{ id: 24, tag: 'x' }])
      await tx.transaction(async (inner) => {
        expect((await inner.query(byId(25))).rows).toEqual([{ id: 25, tag: 'x' }])
      })
    })
  })

  it('Pool.query and pool leases', async () => {
    const pool = new Pool(optionsFor('scram'), { max: 2 })
    try {
      expect((await pool.query(byId(30))).rows).toEqual([{ id: 30, tag: 'x' }])
      expect((await pool.query(byId(31), { rowMode: 'array', acquireTimeout: 5000 })).rows).toEqual([[31, 'x']])
      expect((await pool.query(byId(32), undefined, { rowMode: 'array' })).rows).toEqual([[32, 'x']])
      await expect(pool.query(byId(1), [1] as unknown as undefined)).rejects.toBeInstanceOf(InterfaceError)
      await using lease = await pool.acquire()
      expect((await lease.query(byId(33))).rows).toEqual([{ id: 33, tag: 'x' }])
      expect((await lease.query(byId(34), { rowMode: 'array' })).rows).toEqual([[34, 'x']])
      expect((await lease.simpleQuery(sql`select ${sql.literal(35)}::int as n`))[0]!.rows).toEqual([{ n: 35 }])
      expect((await pool.transaction((tx) => tx.query(byId(36)))).rows).toEqual([{ id: 36, tag: 'x' }])
    } finally {
      await pool.close()
    }
  })

  it('the sync API (rendered on the calling side)', async () => {
    const sync = await loadSync()
    const c = sync.connectSync(optionsFor('scram'))
    try {
      const f = sync.sql`select ${40}::int as id, ${sync.sql.ident('pg_catalog', 'lower')}(${'A'}) as l`
      expect(c.query(f).rows).toEqual([{ id: 40, l: 'a' }])
      expect(c.query(f, { rowMode: 'array' }).rows).toEqual([[40, 'a']])
      expect(c.query(f, undefined, { rowMode: 'array' }).rows).toEqual([[40, 'a']])
      // A fragment from the async module's sql works too: it is read through its text and values.
      expect(c.query(byId(41)).rows).toEqual([{ id: 41, tag: 'x' }])
      expect(c.query({ text: 'select $1::int as n', values: [42] }).rows).toEqual([{ n: 42 }])
      expect(c.simpleQuery(sync.sql`select ${sync.sql.literal(43)}::int as n`)[0]!.rows).toEqual([{ n: 43 }])
      expect(() => c.simpleQuery(sync.sql`select ${1}`)).toThrow(sync.InterfaceError)
      expect(() => c.query(f, [1] as unknown as undefined)).toThrow(/carries its own values/)
      const cur = c.cursor()
      cur.execute(sync.sql`select ${44}::int as id`)
      expect(cur.fetchall()).toEqual([{ id: 44 }])
      c.transaction((tx) => {
        expect(tx.query(sync.sql`select ${45}::int as id`).rows).toEqual([{ id: 45 }])
        expect(tx.simpleQuery(sync.sql`select ${sync.sql.literal('t')} as v`)[0]!.rows).toEqual([{ v: 't' }])
        const sc = tx.serverCursor()
        sc.execute(sync.sql`select g from generate_series(1, ${3}::int) g`)
        expect(sc.fetchall()).toEqual([{ g: 1 }, { g: 2 }, { g: 3 }])
        sc.close()
      })
    } finally {
      c.close()
    }
  })
})

describe('the statement cache', () => {
  const ours = async (c: Connection): Promise<string[]> =>
    (await c.query<{ statement: string }>("select statement from pg_prepared_statements where name like 'pgline_%' order by prepare_time", [], { prepare: false })).rows.map(
      (r) => r.statement,
    )

  it('prepares one template once, whatever its values', async () => {
    const c = await connectAs('scram')
    try {
      const q = (id: number, name: string) => sql`select ${id}::int * 2 as v, ${name}::text as n`
      for (let i = 0; i < 5; i++) expect((await c.query(q(i, `n${i}`))).rows).toEqual([{ v: i * 2, n: `n${i}` }])
      expect(await ours(c)).toEqual(['select $1::int * 2 as v, $2::text as n'])
    } finally {
      await c.close()
    }
  })

  it('prepares one nested structure once too', async () => {
    const c = await connectAs('scram')
    try {
      const cond = (n: number) => sql`g > ${n}`
      const q = (n: number, m: number) => sql`select count(*)::int as k from generate_series(1, 10) g where ${cond(n)} and ${sql.join([sql`g < ${m}`, sql`g <> ${m - 1}`], ' and ')}`
      expect((await c.query(q(2, 8))).rows).toEqual([{ k: 4 }])
      expect((await c.query(q(5, 9))).rows).toEqual([{ k: 2 }])
      expect(await ours(c)).toEqual(['select count(*)::int as k from generate_series(1, 10) g where g > $1 and g < $2 and g <> $3'])
    } finally {
      await c.close()
    }
  })
})
