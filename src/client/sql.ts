// Safe SQL composition: the sql`...` tagged template. A fragment keeps the
// template's strings and the values put into it; rendering turns each value
// into the next $n parameter and splices nested fragments (sql.ident,
// sql.literal, sql.raw, sql.join and other sql`...`) into the text, so a
// value never becomes SQL text. The anchors are psycopg's `sql` module
// (Composable, SQL, Identifier, Literal, join) and postgres.js's tagged
// templates.
//
// The text of a template with plain values only depends on the call site:
// JS hands every call of one template literal the same frozen strings array,
// so that text is built once and kept in a WeakMap keyed by it. Repeated
// calls give the identical string, which the statement cache then finds.

import { InterfaceError } from '../errors/base.js'
import { isoTimestamptz } from '../types/datetime.js'
import { quoteIdentifier } from './quote.js'

/**
 * What query(), stream(), Pool.query() and the rest take in place of SQL
 * text: a sql`...` fragment, or SQL text with `$1..$n` and its values.
 */
export interface SqlQuery {
  readonly text: string
  readonly values?: readonly unknown[]
}

const NONE: readonly unknown[] = Object.freeze([])

/** Template texts by the template's strings array (stable per call site). */
const texts = new WeakMap<readonly string[], string>()

/**
 * A piece of SQL built by sql`...` or the sql.* helpers: template text with
 * values, which become parameters, and nested fragments, which become text.
 * Immutable. `text` and `values` give it rendered (as a query would send it).
 */
export class SqlFragment implements SqlQuery {
  /** @internal The text around each argument (one more than `args`). */
  readonly strings: readonly string[]
  /** @internal Values and nested fragments, in order. */
  readonly args: readonly unknown[]
  /** Only sql`...` and the sql.* helpers make fragments (a type-only member: `{ text, values }` is not a fragment). */
  declare private readonly brand: never

  private constructor(strings: readonly string[], args: readonly unknown[]) {
    this.strings = strings
    this.args = args
  }

  /** @internal */
  static of(strings: readonly string[], args: readonly unknown[]): SqlFragment {
    return new SqlFragment(strings, args)
  }

  /** The SQL text, values numbered `$1..$n` in order (rendered on each read). */
  get text(): string {
    return render(this, undefined).text
  }

  /** The parameter values, in the order of their `$n` (rendered on each read). */
  get values(): readonly unknown[] {
    return render(this, undefined).values
  }

  /** For JSON.stringify (a JSON logger): the text and the number of values, never the values. */
  toJSON(): { text: string; valueCount: number } {
    const r = render(this, undefined)
    return { text: r.text, valueCount: r.values.length }
  }

  /** For console.log: the text and the number of values (never the values themselves). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const r = render(this, undefined)
    return `SqlFragment ${JSON.stringify(r.text)} (${r.values.length} value${r.values.length === 1 ? '' : 's'})`
  }
}

/** The sql`...` tag and its helpers. */
export interface SqlTag {
  /** A fragment: each `${value}` becomes a parameter, each `${fragment}` is spliced in. */
  (strings: TemplateStringsArray, ...values: unknown[]): SqlFragment
  /**
   * The items with `separator` between them: fragments are spliced in,
   * anything else becomes a parameter. `separator` is a fragment or a string
   * of SQL text (written by you, never input: it is pasted as is, like the
   * template's own text); default `, `. An empty list gives an empty fragment.
   */
  join(items: Iterable<unknown>, separator?: SqlFragment | string): SqlFragment
  /** A quoted identifier: `sql.ident('app', 'users')` is `"app"."users"`. NUL and empty names are refused. */
  ident(...parts: string[]): SqlFragment
  /**
   * A value written into the text as a quoted literal, as the server's
   * quote_literal() writes it, for the rare place a parameter cannot go
   * (DDL defaults, SET). Strings, numbers, bigints, booleans, Dates (as an
   * ISO timestamp string) and null/undefined (NULL); anything else is
   * refused: pass it as a parameter.
   */
  literal(value: unknown): SqlFragment
  /** UNSAFE: SQL text pasted as is. Never give it input. */
  raw(text: string): SqlFragment
}

function tag(strings: TemplateStringsArray, ...values: unknown[]): SqlFragment {
  if (!Array.isArray(strings) || strings.length !== values.length + 1) {
    throw new InterfaceError('sql is a tagged template: write sql`select ... ${value}`, not sql(...); for SQL text held in a string, use sql.raw(text)')
  }
  return SqlFragment.of(strings, values)
}

const COMMA = SqlFragment.of([', '], NONE)
const EMPTY_FRAGMENT = SqlFragment.of([''], NONE)

function join(items: Iterable<unknown>, separator: SqlFragment | string = COMMA): SqlFragment {
  if (items === null || typeof (items as Partial<Iterable<unknown>>)?.[Symbol.iterator] !== 'function' || typeof items === 'string') {
    throw new InterfaceError(`sql.join() takes an array (or other iterable) of fragments and values, got ${describe(items)}`)
  }
  // A copy: changing the caller's array later does not change the fragment.
  const list = [...items]
  if (list.length === 0) return EMPTY_FRAGMENT
  if (typeof separator === 'string') {
    // Text between the items: the items alone are the arguments.
    const strings = new Array<string>(list.length + 1).fill(separator)
    strings[0] = strings[list.length] = ''
    return SqlFragment.of(strings, list)
  }
  if (!(separator instanceof SqlFragment)) {
    throw new InterfaceError(`sql.join(): the separator must be a sql\`...\` fragment or a string of SQL text, got ${describe(separator)}`)
  }
  const args: unknown[] = [list[0]]
  for (let i = 1; i < list.length; i++) args.push(separator, list[i])
  return SqlFragment.of(new Array<string>(args.length + 1).fill(''), args)
}

function ident(...parts: string[]): SqlFragment {
  if (parts.length === 0) throw new InterfaceError('sql.ident() needs at least one name')
  let text = ''
  for (let i = 0; i < parts.length; i++) {
    const quoted = quoteIdentifier(parts[i]!)
    if (!wellFormed(quoted)) throw new InterfaceError(`sql.ident(): ${SURROGATE}`)
    text += i === 0 ? quoted : '.' + quoted
  }
  return SqlFragment.of([text], NONE)
}

const SURROGATE = 'the name holds a lone UTF-16 surrogate (half of a pair), which UTF-8 cannot carry unchanged'

/** No lone surrogate (String.prototype.isWellFormed, Node 20+). */
function wellFormed(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed()
}

function literal(value: unknown): SqlFragment {
  return SqlFragment.of([quoteLiteral(value)], NONE)
}

function raw(text: string): SqlFragment {
  if (typeof text !== 'string') throw new InterfaceError(`sql.raw() takes a string of SQL text, got ${describe(text)}`)
  return SqlFragment.of([text], NONE)
}

export const sql: SqlTag = Object.assign(tag, { join, ident, literal, raw })

/**
 * `value` as a SQL literal, quoted as the server's quote_literal() quotes
 * it: a string in single quotes with quotes doubled, in the E'...' form with
 * backslashes doubled too when it holds one (so it reads the same whatever
 * standard_conforming_strings says). A negative number gets a leading space
 * so that `1-${-1}` cannot become the comment `1--1` (as psycopg writes it);
 * being `-` and a number, it is an expression: a cast after it binds first,
 * so write `(${sql.literal(-1)})::text`.
 */
export function quoteLiteral(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quoteString(value)
    case 'number':
      if (!Number.isFinite(value)) return Number.isNaN(value) ? "'NaN'" : value > 0 ? "'Infinity'" : "'-Infinity'"
      return value < 0 || (value === 0 && 1 / value < 0) ? ' -' + String(-value) : String(value)
    case 'bigint':
      return value < 0n ? ' ' + value.toString() : value.toString()
    case 'boolean':
      return value ? 'true' : 'false'
    case 'undefined':
      return 'NULL'
    case 'object':
      if (value === null) return 'NULL'
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw new InterfaceError('sql.literal(): invalid Date')
        return quoteString(isoTimestamptz(value))
      }
  }
  throw new InterfaceError(
    `sql.literal() takes a string, number, bigint, boolean, Date or null, not ${describe(value)}: ` +
      'a literal has no type the server could read it as, so pass the value as a parameter (${value}), or write its text form and a cast yourself',
  )
}

function quoteString(s: string): string {
  if (s.includes('\0')) throw new InterfaceError('sql.literal(): a string containing a NUL character (\\0) cannot be written as a SQL literal (PostgreSQL text cannot hold it)')
  if (!wellFormed(s)) throw new InterfaceError('sql.literal(): the string holds a lone UTF-16 surrogate (half of a pair), which UTF-8 cannot carry unchanged')
  const quoted = s.includes("'") ? s.replaceAll("'", "''") : s
  return s.includes('\\') ? "E'" + quoted.replaceAll('\\', '\\\\') + "'" : "'" + quoted + "'"
}

/** Rendered text and values; the text of a template with plain values only is built once per call site. */
function render<O>(f: SqlFragment, options: O | undefined): RenderedQuery<O> {
  const args = f.args
  for (let i = 0; i < args.length; i++) {
    if (args[i] instanceof SqlFragment) {
      const values: unknown[] = []
      return { text: build(f, values), values, options }
    }
  }
  return { text: flatText(f.strings), values: args, options }
}

/**
 * The text of a fragment whose arguments are all values: $1..$n in place of
 * them. Cached by the strings array when it is frozen, as a template
 * literal's is (one array per call site, for the life of the program).
 */
function flatText(strings: readonly string[]): string {
  if (strings.length === 1) return piece(strings, 0)
  let text = texts.get(strings)
  if (text === undefined) {
    text = piece(strings, 0)
    for (let i = 1; i < strings.length; i++) text += '$' + i + piece(strings, i)
    if (Object.isFrozen(strings)) texts.set(strings, text)
  }
  return text
}

/** Nested fragments spliced in, values pushed onto `values` and numbered as they come. */
function build(f: SqlFragment, values: unknown[]): string {
  const { strings, args } = f
  let text = piece(strings, 0)
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a instanceof SqlFragment) text += build(a, values)
    else text += '$' + values.push(a)
    text += piece(strings, i + 1)
  }
  return text
}

function piece(strings: readonly string[], i: number): string {
  const s = strings[i]
  // A template's cooked string is undefined after an invalid escape (\u{zz}, \xg...).
  if (s === undefined) throw new InterfaceError('sql`...`: the template has an invalid escape sequence (a backslash JS cannot read); write \\\\ for a backslash')
  return s
}

/** The text and values of query(q, params, options) and its kin given a fragment or `{ text, values }`. */
export interface RenderedQuery<O> {
  text: string
  values: readonly unknown[]
  options: O | undefined
}

/**
 * The text, values and options of a call given a fragment or `{ text,
 * values }` instead of SQL text: `query(q, options?)` or `query(q,
 * undefined, options?)`. The fragment carries its values, so a non-empty
 * parameter array too is refused (an empty one is taken as none). Entry
 * points call this only when `q` is not a string, so SQL text costs nothing.
 */
export function toQuery<O extends object>(q: string | SqlQuery, params?: readonly unknown[] | O, options?: O): RenderedQuery<O> {
  if (typeof q === 'string') {
    if (params !== undefined && !Array.isArray(params)) throw new InterfaceError(`the parameters of a query must be an array, got ${describe(params)}`)
    return { text: q, values: (params as readonly unknown[] | undefined) ?? NONE, options }
  }
  if (params !== undefined) {
    if (Array.isArray(params)) {
      if (params.length > 0) {
        throw new InterfaceError(
          'a sql`...` fragment or { text, values } carries its own values: pass no parameter array with it (put the values in the template as ${value})',
        )
      }
    } else if (typeof params === 'object' && params !== null) {
      if (options !== undefined) throw new InterfaceError('query(fragment, options): options were given twice (second and third argument)')
      options = params as O
    } else {
      throw new InterfaceError(`query(fragment, options): the second argument must be the options object, got ${describe(params)}`)
    }
  }
  if (q instanceof SqlFragment) return render(q, options)
  if (typeof q === 'object' && q !== null && typeof q.text === 'string') {
    const values = q.values ?? NONE
    if (!Array.isArray(values)) throw new InterfaceError(`{ text, values }: values must be an array, got ${describe(values)}`)
    return { text: q.text, values, options }
  }
  throw new InterfaceError(`a query takes SQL text (a string), a sql\`...\` fragment or { text, values }, got ${describe(q)}`)
}

/**
 * The text of a fragment for the simple protocol, which has no parameters:
 * one with values is refused (use query(), or sql.literal() for a value
 * that must be written into the text).
 */
export function simpleText(q: SqlQuery): string {
  const { text, values } = toQuery(q)
  if (values.length > 0) {
    throw new InterfaceError(
      `simpleQuery() cannot send parameters (the simple protocol has none), and this fragment has ${values.length}: ` +
        'use query(), or sql.literal(value) to write a value into the text',
    )
  }
  return text
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') return `an object (${v.constructor?.name ?? 'no prototype'})`
  return typeof v === 'string' ? 'a string' : typeof v
}
