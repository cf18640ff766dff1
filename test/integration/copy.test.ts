import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DatabaseError, InterfaceError, type Connection } from '../../src/index.js'
import { connectAs, uniqueName } from './_util.js'

let conn: Connection
beforeAll(async () => {
  conn = await connectAs('scram')
})
afterAll(async () => {
  await conn?.close()
})

async function table(cols = 'a int, b text'): Promise<string> {
  const t = uniqueName('copy')
  await conn.query(`create temp table ${t} (${cols})`)
  return t
}

const HOSTILE = ['tab\there', 'new\nline', 'cr\rreturn', 'back\\slash', '\\.', '\\N', 'NULL', '"quoted"', "it's", '', ' lead', 'za\u017c\u00f3\u0142\u0107 \ud83d\udc18', 'a,b;c|d']

describe('COPY FROM STDIN', () => {
  it('loads raw text data and returns the row count', async () => {
    const t = await table()
    const w = await conn.copyFrom(`copy ${t} (a, b) from stdin`)
    await w.write('1\tone\n2\ttwo\n')
    await w.write(Buffer.from('3\t\\N\n'))
    expect(await w.end()).toBe(3)
    expect((await conn.query(`select * from ${t} order by a`)).rows).toEqual([
      { a: 1, b: 'one' },
      { a: 2, b: 'two' },
      { a: 3, b: null },
    ])
  })

  for (const format of ['text', 'csv'] as const) {
    it(`writes typed rows with hostile strings intact (${format})`, async () => {
      const t = await table('i int, s text, n numeric, j jsonb, arr int[], by bytea')
      const rows = HOSTILE.map((s, i) => [i, s, i % 2 ? null : '1.50', { k: s }, [i, null], Buffer.from([0, 92, 10, i])])
      const w = await conn.copyFrom(`copy ${t} from stdin (format ${format})`)
      for (const r of rows) await w.writeRow(r)
      await w.writeRow([99, null, null, null, null, null])
      expect(await w.end()).toBe(rows.length + 1)
      const back = await conn.query(`select * from ${t} order by i`)
      expect(back.rows.slice(0, -1)).toEqual(
        rows.map(([i, s, n, j, arr, by]) => ({ i, s, n, j, arr, by })),
      )
      expect(back.rows.at(-1)).toEqual({ i: 99, s: null, n: null, j: null, arr: null, by: null })
    })
  }

  it('pumps an async iterable of rows and a Readable of chunks', async () => {
    const t = await table()
    async function* gen() {
      for (let i = 0; i < 10_000; i++) yield [i, `r${i}`]
    }
    expect(await conn.copyFrom(`copy ${t} from stdin`, gen())).toBe(10_000)
    const csv = Readable.from(['100,"x"\n', '101,"y"\n'])
    expect(await conn.copyFrom(`copy ${t} from stdin (format csv)`, csv)).toBe(2)
    expect((await conn.query(`select count(*)::int as n from ${t}`)).rows[0]!.n).toBe(10_002)
  })

  it('works with stream.pipeline() through a Writable', async () => {
    const t = await table()
    const w = await conn.copyFrom(`copy ${t} from stdin`)
    await pipeline(Readable.from(['1\ta\n', '2\tb\n']), w.writable())
    expect((await conn.query(`select count(*)::int as n from ${t}`)).rows[0]!.n).toBe(2)
  })

  it('gives the row count from end() after a Writable ended the COPY, and end() twice gives it twice', async () => {
    const t = await table()
    const w = await conn.copyFrom(`copy ${t} from stdin`)
    await pipeline(Readable.from(['1\ta\n', '2\tb\n', '3\tc\n']), w.writable())
    expect(await w.end()).toBe(3)
    const typed = await conn.copyFrom(`copy ${t} from stdin (format binary)`)
    await typed.writeRow([4, 'd'])
    const [a, b] = await Promise.all([typed.end(), typed.end()])
    expect([a, b, await typed.end()]).toEqual([1, 1, 1])
    await expect(typed.write('5\te\n')).rejects.toThrow(InterfaceError)
    expect((await conn.query(`select count(*)::int as n from ${t}`)).rows[0]!.n).toBe(4)
  })

  it('refuses end() after abort()', async () => {
    const t = await table()
    const w = await conn.copyFrom(`copy ${t} from stdin`)
    await w.abort()
    await expect(w.end()).rejects.toThrow(InterfaceError)
    expect((await conn.query('select 1 as ok')).rows[0]!.ok).toBe(1)
  })

  it('reports a bad row with its line number; nothing is stored and the connection stays usable', async () => {
    const t = await table()
    const w = await conn.copyFrom(`copy ${t} from stdin`)
    let err: unknown
    try {
      for (let i = 1; i <= 2000; i++) await w.write(i === 1500 ? 'oops\tbad\n' : `${i}\tok\n`)
      await w.end()
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(DatabaseError)
    expect((err as DatabaseError).code).toBe('22P02')
    expect((err as DatabaseError).where).toMatch(/line 1500/)
    expect((await conn.query(`select count(*)::int as n from ${t}`)).rows[0]!.n).toBe(0)
  })

  it('aborts on request and when the source throws', async () => {
    const t = await table()
    const w = await conn.copyFrom(`copy ${t} from stdin`)
    await w.writeRow([1, 'x'])
    await w.abort('changed my mind')
    const boom = new Error('source broke')
    async function* bad() {
      yield [1, 'a']
      throw boom
    }
    await expect(conn.copyFrom(`copy ${t} from stdin`, bad())).rejects.toBe(boom)
    expect((await conn.query(`select count(*)::int as n from ${t}`)).rows[0]!.n).toBe(0)
  })

  it('refuses a row with the wrong column count before sending', async () => {
    const t = await table()
    const w = await conn.copyFrom(`copy ${t} (a, b) from stdin`)
    await expect(w.writeRow([1])).rejects.toThrow(/got 1 value but the COPY has 2 columns/)
    await w.writeRow([1, 'fine'])
    expect(await w.end()).toBe(1)
  })

  it('refuses statements that are not COPY FROM STDIN and other queries during the COPY', async () => {
    await expect(conn.copyFrom('select 1')).rejects.toBeInstanceOf(InterfaceError)
    const t = await table()
    const w = await conn.copyFrom(`copy ${t} from stdin`)
    await expect(conn.query('select 1')).rejects.toBeInstanceOf(InterfaceError)
    await w.end()
    expect((await conn.query('select 1 as ok')).rows[0]!.ok).toBe(1)
  })

  it('runs inside a transaction and rolls back with it', async () => {
    const t = await table()
    await conn.query('begin')
    await conn.copyFrom(`copy ${t} from stdin`, [[1, 'a']])
    await conn.query('rollback')
    expect((await conn.query(`select count(*)::int as n from ${t}`)).rows[0]!.n).toBe(0)
  })
})

describe('COPY TO STDOUT', () => {
  it('yields raw chunks and typed rows in text, csv and binary', async () => {
    const t = await table('i int, s text, ts timestamptz, arr text[]')
    const when = new Date('2024-05-06T07:08:09.123Z')
    await conn.copyFrom(`copy ${t} from stdin`, HOSTILE.map((s, i) => [i, s, when, [s, null]]))
    const raw: Buffer[] = []
    for await (const c of conn.copyTo(`copy ${t} to stdout`)) raw.push(c)
    expect(Buffer.concat(raw).toString().split('\n').length).toBe(HOSTILE.length + 1)
    for (const format of ['text', 'csv', 'binary']) {
      const rows: unknown[][] = []
      for await (const r of conn.copyTo(`copy (select * from ${t} order by i) to stdout (format ${format})`).rows()) rows.push(r)
      expect(rows).toEqual(HOSTILE.map((s, i) => [i, s, when, [s, null]]))
    }
  })

  it('stops cleanly on an early break and leaves the connection usable', async () => {
    let n = 0
    for await (const row of conn.copyTo('copy (select g from generate_series(1, 2000000) g) to stdout').rows()) {
      n++
      if (row[0] === 1000) break
    }
    expect(n).toBe(1000)
    expect((await conn.query('select 7 as ok')).rows[0]!.ok).toBe(7)
    expect(conn.transactionStatus).toBe('I')
  })

  it('reports errors and refuses non-COPY statements', async () => {
    await expect(
      (async () => {
        for await (const _ of conn.copyTo('copy (select 1/0) to stdout')) void _
      })(),
    ).rejects.toMatchObject({ code: '22012' })
    await expect(
      (async () => {
        for await (const _ of conn.copyTo('select 1')) void _
      })(),
    ).rejects.toBeInstanceOf(InterfaceError)
    expect((await conn.query('select 8 as ok')).rows[0]!.ok).toBe(8)
  })
})

describe('COPY TO and close()', () => {
  it('close() while a slow COPY TO consumer holds the socket paused settles; the COPY, already under way, is read to its end', async () => {
    const c = await connectAs('scram')
    const out = c.copyTo('copy (select g, repeat($$x$$, 200) from generate_series(1, 200000) g) to stdout')
    const it = out[Symbol.asyncIterator]()
    let lines = 0
    const count = (b: Buffer): void => {
      for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) lines++
    }
    count((await it.next()).value as Buffer)
    await new Promise((r) => setTimeout(r, 300)) // past the high-water mark: the socket is paused
    await c.close() // used to wait for ever: a paused socket never saw the server's answer or its close
    for (let r = await it.next(); !r.done; r = await it.next()) count(r.value)
    expect(lines).toBe(200000)
    expect(out.rowCount).toBe(200000)
  })
})

describe('COPY with binary rows', () => {
  const COLS = `i int4, b int8, f float8, r float4, flag bool, s text, by bytea, u uuid, ts timestamptz, d date, n numeric, j jsonb, arr int4[], tarr text[]`
  const when = new Date('2023-03-04T05:06:07.089Z')
  const rowOf = (k: number): unknown[] => [
    k,
    BigInt(k) * 10_000_000_000n,
    k / 3,
    1.5,
    k % 2 === 0,
    HOSTILE[k % HOSTILE.length]!,
    Buffer.from([k & 255, 0, 255]),
    `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`,
    when,
    '2020-02-29',
    '12345.678',
    { k, s: HOSTILE[k % HOSTILE.length] },
    [k, null, k === 0 ? 0 : -k],
    [HOSTILE[k % HOSTILE.length]!, null],
  ]

  for (const format of ['binary', 'text', 'csv'] as const) {
    it(`round-trips the common built-in types through ${format} COPY, in and out`, async () => {
      const t = await table(COLS)
      const rows = Array.from({ length: 50 }, (_, k) => rowOf(k))
      rows.push(rowOf(50).map(() => null))
      expect(await conn.copyFrom(`copy ${t} from stdin (format ${format})`, rows)).toBe(rows.length)
      const back: unknown[][] = []
      for await (const r of conn.copyTo(`copy (select * from ${t} order by i nulls last) to stdout (format ${format})`).rows()) back.push(r)
      const viaQuery = (await conn.query(`select * from ${t} order by i nulls last`, [], { rowMode: 'array' })).rows
      expect(back).toEqual(viaQuery)
      expect(viaQuery.slice(0, 50)).toEqual(rows.slice(0, 50).map((r) => r.map((v, i) => (i === 3 ? 1.5 : v))))
    })
  }

  it('takes column types by name when the statement cannot be described', async () => {
    const t = await table('a int4, b text')
    const w = await conn.copyFrom(`copy ${t} from stdin (format binary)`, { columnTypes: ['int4', 'text'] })
    await w.writeRow([1, 'one'])
    expect(await w.end()).toBe(1)
  })

  it('refuses a value that does not fit its column type, before sending', async () => {
    const t = await table('a int4, b text')
    const w = await conn.copyFrom(`copy ${t} from stdin (format binary)`)
    await expect(w.writeRow(['not an int', 'x'])).rejects.toThrow(/cannot encode a string .* as int4/)
    await w.abort()
    expect((await conn.query('select 1 as ok')).rows[0]!.ok).toBe(1)
  })
})

describe('COPY at scale and in context', () => {
  it('loads and unloads 1,000,000 rows', async () => {
    const t = await table('i int4, s text, f float8, ts timestamptz')
    const when = new Date('2024-01-01T00:00:00Z')
    function* rows() {
      for (let i = 0; i < 1_000_000; i++) yield [i, `row ${i}`, i / 2, when]
    }
    expect(await conn.copyFrom(`copy ${t} from stdin (format binary)`, rows())).toBe(1_000_000)
    let n = 0
    let sum = 0
    for await (const r of conn.copyTo(`copy ${t} to stdout (format binary)`).rows()) {
      n++
      sum += r[0] as number
    }
    expect(n).toBe(1_000_000)
    expect(sum).toBe((999_999 * 1_000_000) / 2)
    let bytes = 0
    for await (const c of conn.copyTo(`copy ${t} to stdout (format csv)`)) bytes += c.length
    expect(bytes).toBeGreaterThan(20_000_000)
  }, 120_000)

  it('reports a bad row at position 500,000 and stores nothing', async () => {
    const t = await table('i int4, s text')
    function* rows() {
      for (let i = 1; i <= 1_000_000; i++) yield i === 500_000 ? `oops\tbad\n` : `${i}\tok\n`
    }
    const err = await conn.copyFrom(`copy ${t} from stdin`, rows()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DatabaseError)
    expect((err as DatabaseError).where).toMatch(/line 500000/)
    expect((await conn.query(`select count(*)::int as n from ${t}`)).rows[0]!.n).toBe(0)
  }, 120_000)

  it('runs COPY and streams through a transaction handle', async () => {
    const t = await table()
    await conn.transaction(async (tx) => {
      expect(await tx.copyFrom(`copy ${t} from stdin (format binary)`, [[1, 'a'], [2, 'b']])).toBe(2)
      const out: unknown[][] = []
      for await (const r of tx.copyTo(`copy ${t} to stdout`).rows()) out.push(r)
      expect(out).toEqual([[1, 'a'], [2, 'b']])
      let seen = 0
      for await (const _ of tx.stream(`select * from ${t}`)) seen++
      expect(seen).toBe(2)
    })
    expect((await conn.query(`select count(*)::int as n from ${t}`)).rows[0]!.n).toBe(2)
  })

  it('refuses COPY inside an explicit pipeline with a clear error', async () => {
    const t = await table()
    await conn.pipeline(async () => {
      await expect(conn.copyFrom(`copy ${t} from stdin`)).rejects.toThrow(/while a transaction, pipeline, stream, COPY or replication stream holds it/)
    })
  })
})

describe('every built-in type through COPY', () => {
  // One literal per type; money, tsvector and tsquery have no binary encoder
  // from JS values (money's binary form depends on the server's locale), so
  // they go through text and csv only.
  const COLUMNS: [string, string][] = [
    ['bool', 'true'], ['int2', "'-32768'"], ['int4', '2147483647'], ['int8', "'-9223372036854775808'"], ['oid', '4294967295'],
    ['float4', '1.5'], ['float8', "'-Infinity'"], ['numeric', '12345678901234567890.000123'], ['text', "E'tab\\there'"],
    ['varchar(10)', "'v'"], ['bpchar(3)', "'ab'"], ['name', "'nm'"], ['"char"', "'c'"], ['bytea', "'\\x00ff'"],
    ['uuid', "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"], ['json', `'{"a": [1, 2]}'`], ['jsonb', `'{"b": null}'`], ['jsonpath', "'$.a[*]'"],
    ['xml', "'<x>1</x>'"], ['date', "'2024-02-29'"], ['time', "'13:14:15.123456'"], ['timetz', "'13:14:15+05:30'"],
    ['timestamp', "'2024-01-02 03:04:05.678'"], ['timestamptz', "'2024-01-02 03:04:05.678+00'"], ['interval', "'1 year 2 mons 3 days 04:05:06.5'"],
    ['inet', "'192.168.1.2/24'"], ['cidr', "'2001:db8::/32'"], ['macaddr', "'08:00:2b:01:02:03'"], ['macaddr8', "'08:00:2b:01:02:03:04:05'"],
    ['bit(4)', "B'1010'"], ['varbit', "B'110'"], ['point', "'(1.5,2)'"], ['line', "'{1,-1,0}'"], ['lseg', "'[(0,0),(1,1)]'"],
    ['box', "'((2,2),(0,0))'"], ['path', "'[(0,0),(1,1),(2,0)]'"], ['polygon', "'((0,0),(1,1),(1,0))'"], ['circle', "'<(1,1),2>'"],
    ['int4range', "'[1,10)'"], ['int8range', "'(,5]'"], ['numrange', "'[1.5,2.5]'"], ['tsrange', "'[2024-01-01,2024-02-01)'"],
    ['tstzrange', "'[2024-01-01 00:00+00,)'"], ['daterange', "'empty'"], ['int4multirange', "'{[1,3),[5,7)}'"],
    ['int4[]', "'{{1,2},{3,NULL}}'"], ['text[]', `'{"a b",NULL,""}'`], ['int4range[]', `'{"[1,2)","empty"}'`],
    ['money', "'12.34'"], ['tsvector', "'a:1 b:2'"], ['tsquery', "'a & b'"],
  ]
  const TEXT_ONLY = new Set(['money', 'tsvector', 'tsquery'])
  const cols = COLUMNS.map(([type], i) => `c${i} ${type}`).join(', ')

  for (const format of ['binary', 'text', 'csv'] as const) {
    it(`round-trips ${format === 'binary' ? 'all but money, tsvector and tsquery' : 'every type'} through ${format} COPY in and out`, async () => {
      const used = COLUMNS.map((c, i) => ({ c, i })).filter(({ c }) => format !== 'binary' || !TEXT_ONLY.has(c[0]))
      const src = await table(cols)
      await conn.query(`insert into ${src} (${used.map(({ i }) => `c${i}`).join(', ')}) values (${used.map(({ c }) => `${c[1]}::${c[0]}`).join(', ')})`)
      await conn.query(`insert into ${src} default values`)
      const list = used.map(({ i }) => `c${i}`).join(', ')
      const expected = (await conn.query<unknown[]>(`select ${list} from ${src} order by c2 nulls last`, [], { rowMode: 'array' })).rows
      const dst = await table(cols)
      expect(await conn.copyFrom(`copy ${dst} (${list}) from stdin (format ${format})`, expected)).toBe(2)
      const back = (await conn.query(`select ${list} from ${dst} order by c2 nulls last`, [], { rowMode: 'array' })).rows
      expect(back).toEqual(expected)
      const out: unknown[][] = []
      for await (const r of conn.copyTo(`copy (select ${list} from ${src} order by c2 nulls last) to stdout (format ${format})`).rows()) out.push(r)
      expect(out).toEqual(expected)
    })
  }
})
