// The sql`...` tagged template without a server: rendering, numbering across
// nesting, join, ident, literal, raw, the per-template text cache, the
// normaliser the entry points call, and the errors. Round trips through the
// real server are in test/integration/sql-template.test.ts.
import { inspect } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InterfaceError, PglineError, sql, SqlFragment } from '../../src/index.js'
import { quoteLiteral, simpleText, toQuery } from '../../src/client/sql.js'

const render = (q: SqlFragment) => {
  const { text, values } = toQuery(q)
  return { text, values }
}

describe('sql`...`', () => {
  it('turns each value into the next $n parameter', () => {
    const id = 7
    const tags = ['a', 'b']
    expect(render(sql`select * from t where id = ${id} and tag = any(${tags})`)).toEqual({
      text: 'select * from t where id = $1 and tag = any($2)',
      values: [7, ['a', 'b']],
    })
  })

  it('keeps a template without values as it is', () => {
    expect(render(sql`select 1`)).toEqual({ text: 'select 1', values: [] })
    expect(render(sql``)).toEqual({ text: '', values: [] })
  })

  it('numbers values in order across nested fragments', () => {
    const inner = sql`b = ${2} and c = ${3}`
    const middle = sql`a = ${1} and ${inner} and d = ${4}`
    expect(render(sql`select ${0} where ${middle} and e = ${5} or ${inner}`)).toEqual({
      text: 'select $1 where a = $2 and b = $3 and c = $4 and d = $5 and e = $6 or b = $7 and c = $8',
      values: [0, 1, 2, 3, 4, 5, 2, 3],
    })
  })

  it('gives identical text for identical structure, whatever the values', () => {
    const q = (v: unknown, w: unknown) => sql`select ${v} where ${sql`x = ${w}`}`
    expect(render(q(1, 2)).text).toBe(render(q('a', null)).text)
  })

  it('splices sql.ident, sql.literal and sql.raw in as text, never as parameters', () => {
    const q = sql`select ${sql.ident('col')}, ${sql.literal("it's")}, ${sql.raw('now()')}, ${1} from ${sql.ident('app', 'users')}`
    expect(render(q)).toEqual({ text: `select "col", 'it''s', now(), $1 from "app"."users"`, values: [1] })
  })

  it('passes a plain { text } object inside a template as a parameter, never as SQL', () => {
    // A JSON value from outside that happens to have a `text` key must stay a value.
    const doc = { text: "'; drop table users; --", values: [] }
    expect(render(sql`insert into notes (doc) values (${doc})`)).toEqual({ text: 'insert into notes (doc) values ($1)', values: [doc] })
  })

  it('leaves a $1 written inside the template text alone (a quoted $1 is text to the server)', () => {
    expect(render(sql`select '$1' as a, ${'x'} as b`)).toEqual({ text: `select '$1' as a, $1 as b`, values: ['x'] })
  })

  it('uses the cooked template text, as a template literal does', () => {
    expect(render(sql`select 'a\tb', E'\\x'`).text).toBe("select 'a\tb', E'\\x'")
  })

  it('is a type of its own: a { text, values } object is not a fragment', () => {
    // @ts-expect-error only sql`...` and the sql.* helpers make fragments
    const notAFragment: SqlFragment = { text: 'select 1', values: [] }
    expect(notAFragment instanceof SqlFragment).toBe(false)
    expect(() => sql.join([1], notAFragment)).toThrow(/separator must be/)
  })

  it('exposes text and values on the fragment, and shows no values when inspected', () => {
    const f = sql`select ${'secret'}::text as v`
    expect(f.text).toBe('select $1::text as v')
    expect(f.values).toEqual(['secret'])
    expect(inspect(f)).toBe('SqlFragment "select $1::text as v" (1 value)')
    expect(inspect(f)).not.toContain('secret')
  })
})

describe('the per-template text cache', () => {
  const at = (v: unknown) => sql`select * from t where id = ${v} and x = ${v}`

  it('gives every call of one template the same strings array and the same text', () => {
    const a = at(1)
    const b = at(2)
    expect(a.strings).toBe(b.strings)
    expect(render(a).text).toBe(render(b).text)
    expect(render(b).values).toEqual([2, 2])
  })

  it('builds the text of a template once', () => {
    // A frozen strings array (as a template literal's is) whose elements count their reads.
    let reads = 0
    const strings: string[] = []
    for (const [i, s] of ['select ', ' + ', ''].entries()) {
      Object.defineProperty(strings, i, {
        get: () => {
          reads++
          return s
        },
        enumerable: true,
      })
    }
    Object.freeze(strings)
    const tag = sql as unknown as (s: readonly string[], ...v: unknown[]) => SqlFragment
    expect(render(tag(strings, 1, 2)).text).toBe('select $1 + $2')
    const afterFirst = reads
    expect(afterFirst).toBe(3)
    expect(render(tag(strings, 3, 4))).toEqual({ text: 'select $1 + $2', values: [3, 4] })
    expect(reads).toBe(afterFirst)
  })

  it('keeps one text per call site', () => {
    const one = (v: unknown) => sql`select ${v}`
    const two = (v: unknown) => sql`select ${v} + 1`
    const three = (v: unknown) => sql`select ${v}`
    expect(one(1).strings).not.toBe(three(1).strings)
    expect(render(one(1)).text).toBe('select $1')
    expect(render(two(1)).text).toBe('select $1 + 1')
    expect(render(three(1)).text).toBe('select $1')
  })

  it('does not cache a strings array that could still change', () => {
    const strings = ['select ', '']
    const tag = sql as unknown as (s: readonly string[], ...v: unknown[]) => SqlFragment
    expect(render(tag(strings, 1)).text).toBe('select $1')
    strings[0] = 'values ('
    strings[1] = ')'
    expect(render(tag(strings, 1)).text).toBe('values ($1)')
  })
})

describe('sql.join', () => {
  it('joins fragments with ", " by default', () => {
    expect(render(sql`insert into t (${sql.join([sql.ident('a'), sql.ident('b')])}) values (${sql.join([1, 'x'])})`)).toEqual({
      text: 'insert into t ("a", "b") values ($1, $2)',
      values: [1, 'x'],
    })
  })

  it('takes a fragment as separator', () => {
    const conds = [sql`a = ${1}`, sql`b = ${2}`, sql`c is null`]
    expect(render(sql`select 1 where ${sql.join(conds, sql` and `)}`)).toEqual({ text: 'select 1 where a = $1 and b = $2 and c is null', values: [1, 2] })
  })

  it('takes a string separator as SQL text', () => {
    expect(render(sql`select ${sql.join([1, 2, 3], ' + ')}`)).toEqual({ text: 'select $1 + $2 + $3', values: [1, 2, 3] })
    expect(render(sql`${sql.join([sql`a`, sql`b`], ' or ')}`).text).toBe('a or b')
  })

  it('numbers values in the items and the separator in order', () => {
    const sep = sql` || ${'-'} || `
    expect(render(sql`select ${sql.join(['a', 'b', 'c'], sep)}`)).toEqual({ text: 'select $1 || $2 || $3 || $4 || $5', values: ['a', '-', 'b', '-', 'c'] })
  })

  it('takes any iterable, one item, or none', () => {
    expect(render(sql`(${sql.join(new Set([1, 2]))})`)).toEqual({ text: '($1, $2)', values: [1, 2] })
    expect(render(sql`(${sql.join([sql.ident('x')])})`).text).toBe('("x")')
    expect(render(sql`(${sql.join([])})`)).toEqual({ text: '()', values: [] })
  })

  it('copies the list: changing it afterwards does not change the fragment', () => {
    const list = [1, 2]
    const f = sql.join(list)
    list.push(3)
    expect(render(sql`${f}`).values).toEqual([1, 2])
  })

  it('refuses what is not a list or a separator', () => {
    expect(() => sql.join('abc' as unknown as string[])).toThrow(/takes an array/)
    expect(() => sql.join(5 as unknown as number[])).toThrow(InterfaceError)
    expect(() => sql.join([1], 7 as unknown as string)).toThrow(/separator must be/)
  })
})

describe('sql.ident', () => {
  it('quotes, doubling double quotes, and qualifies with several parts', () => {
    expect(sql.ident('users').text).toBe('"users"')
    expect(sql.ident('Mixed Case').text).toBe('"Mixed Case"')
    expect(sql.ident('a"b').text).toBe('"a""b"')
    expect(sql.ident('"').text).toBe('""""')
    expect(sql.ident('app', 'users').text).toBe('"app"."users"')
    expect(sql.ident('db', 'app', 'users', 'id').text).toBe('"db"."app"."users"."id"')
    expect(sql.ident("it's $1 \\ 🐘").text).toBe('"it\'s $1 \\ 🐘"')
  })

  it('refuses NUL, empty names, non-strings and no name at all, saying which', () => {
    const err = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return e as Error
      }
      throw new Error('no error')
    }
    expect(err(() => sql.ident('a\0b'))).toBeInstanceOf(InterfaceError)
    expect(err(() => sql.ident('a\0b')).message).toMatch(/cannot contain a NUL/)
    expect(err(() => sql.ident('app', '')).message).toMatch(/cannot be empty/)
    expect(err(() => sql.ident(5 as unknown as string)).message).toMatch(/must be a string, got number/)
    expect(err(() => sql.ident()).message).toMatch(/at least one name/)
    expect(err(() => sql.ident('ok', 'a\uD800b')).message).toMatch(/lone UTF-16 surrogate/)
    expect(err(() => sql.ident()) instanceof PglineError).toBe(true)
  })

  it('quotes any string without NUL so that it reads back as itself', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }).filter((s) => s.length > 0 && !s.includes('\0')), (s) => {
        const text = sql.ident(s).text
        expect(text.startsWith('"') && text.endsWith('"')).toBe(true)
        // Inside, every double quote is doubled: undoubling gives the name back.
        expect(text.slice(1, -1).replaceAll('""', '"')).toBe(s)
        expect(text.slice(1, -1).replaceAll('""', '')).not.toContain('"')
      }),
    )
  })
})

describe('sql.literal', () => {
  it('quotes as quote_literal does', () => {
    const cases: [unknown, string][] = [
      ['plain', "'plain'"],
      ['', "''"],
      ["it's", "'it''s'"],
      ['a\\b', "E'a\\\\b'"],
      ["\\'", "E'\\\\'''"],
      ['$1', "'$1'"],
      ['🐘 ünï', "'🐘 ünï'"],
      [null, 'NULL'],
      [undefined, 'NULL'],
      [true, 'true'],
      [false, 'false'],
      [42, '42'],
      [1.5, '1.5'],
      [1e21, '1e+21'],
      [-3, ' -3'],
      [-0, ' -0'],
      [NaN, "'NaN'"],
      [Infinity, "'Infinity'"],
      [-Infinity, "'-Infinity'"],
      [123456789012345678901234567890n, '123456789012345678901234567890'],
      [-5n, ' -5'],
      [new Date(Date.UTC(2024, 1, 29, 12, 30, 0, 250)), "'2024-02-29T12:30:00.250+00:00'"],
    ]
    for (const [value, text] of cases) expect([value, sql.literal(value).text]).toEqual([value, text])
  })

  it('gives a negative number a leading space, so that 1-${-1} is not a comment', () => {
    expect(render(sql`select 1-${sql.literal(-1)}`).text).toBe('select 1- -1')
  })

  it('refuses NUL, invalid Dates, and values with no literal of their own', () => {
    expect(() => sql.literal('a\0')).toThrow(/NUL/)
    expect(() => sql.literal(new Date(NaN))).toThrow(/invalid Date/)
    // UTF-8 cannot carry half a surrogate pair: the server would read U+FFFD, not the string.
    expect(() => sql.literal('a\uDC00')).toThrow(/lone UTF-16 surrogate/)
    for (const v of [[1, 2], { a: 1 }, Buffer.from('x'), Symbol('s'), () => 1]) {
      expect(() => sql.literal(v)).toThrow(InterfaceError)
    }
    expect(() => sql.literal([1])).toThrow(/pass the value as a parameter/)
  })

  it('keeps every string closed: no quote escapes the literal', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0')), (s) => {
        const text = quoteLiteral(s)
        const escaped = text.startsWith("E'")
        const body = text.slice(escaped ? 2 : 1, -1)
        expect(text.endsWith("'")).toBe(true)
        // Read back as the server would: '' is a quote; in E'' \\ is a backslash.
        const read = escaped ? body.replace(/''|\\\\/g, (m) => m[0]!) : body.replaceAll("''", "'")
        expect(read).toBe(s)
        expect(body.replace(escaped ? /''|\\\\/g : /''/g, '')).not.toMatch(escaped ? /['\\]/ : /'/)
      }),
    )
  })
})

describe('sql.raw', () => {
  it('pastes text as is', () => {
    expect(render(sql`select ${sql.raw('count(*)')} from t where a = ${1}`)).toEqual({ text: 'select count(*) from t where a = $1', values: [1] })
  })

  it('takes only a string', () => {
    expect(() => sql.raw(5 as unknown as string)).toThrow(/takes a string/)
  })
})

describe('toQuery: what the entry points call', () => {
  it('passes SQL text and its parameters through', () => {
    expect(toQuery('select $1', [1])).toEqual({ text: 'select $1', values: [1], options: undefined })
    expect(toQuery('select 1')).toEqual({ text: 'select 1', values: [], options: undefined })
  })

  it('takes (fragment, options) and (fragment, undefined, options)', () => {
    const o = { rowMode: 'array' as const }
    expect(toQuery(sql`select ${1}`, o)).toEqual({ text: 'select $1', values: [1], options: o })
    expect(toQuery(sql`select ${1}`, undefined, o)).toEqual({ text: 'select $1', values: [1], options: o })
    // An empty parameter array is taken as none (a wrapper passing [] along).
    expect(toQuery(sql`select ${1}`, [], o)).toEqual({ text: 'select $1', values: [1], options: o })
  })

  it('takes a plain { text, values } object, values optional', () => {
    expect(toQuery({ text: 'select $1', values: [1] })).toMatchObject({ text: 'select $1', values: [1] })
    expect(toQuery({ text: 'select 1' })).toMatchObject({ text: 'select 1', values: [] })
  })

  it('refuses a fragment with a parameter array, options twice, and anything that is not a query', () => {
    expect(() => toQuery(sql`select ${1}`, [2])).toThrow(/carries its own values/)
    expect(() => toQuery({ text: 'select $1', values: [1] }, [2])).toThrow(InterfaceError)
    expect(() => toQuery(sql`select 1`, {}, {})).toThrow(/options were given twice/)
    expect(() => toQuery(sql`select 1`, 5 as unknown as object)).toThrow(/must be the options object/)
    expect(() => toQuery(42 as unknown as string)).toThrow(/a query takes SQL text/)
    expect(() => toQuery(null as unknown as string)).toThrow(/got null/)
    expect(() => toQuery({ text: 'select 1', values: 'x' as unknown as unknown[] })).toThrow(/values must be an array/)
  })

  it('renders for the simple protocol only without values', () => {
    expect(simpleText(sql`select * from ${sql.ident('t')}; select ${sql.literal('x')}`)).toBe(`select * from "t"; select 'x'`)
    expect(() => simpleText(sql`select ${1}`)).toThrow(/simpleQuery\(\) cannot send parameters/)
  })

  it('refuses sql called as a function and templates with invalid escapes', () => {
    expect(() => (sql as unknown as (s: string) => unknown)('select 1')).toThrow(/tagged template/)
    const tag = sql as unknown as (s: readonly (string | undefined)[], ...v: unknown[]) => SqlFragment
    expect(() => render(tag(Object.freeze(['select ', undefined]), 1))).toThrow(/invalid escape/)
  })
})

describe('a fragment serialised', () => {
  it('JSON shows the text and how many values, never the values', () => {
    const f = sql`select * from t where a = ${'secret-value'} and b = ${2}`
    expect(JSON.parse(JSON.stringify(f))).toEqual({ text: 'select * from t where a = $1 and b = $2', valueCount: 2 })
  })
})
