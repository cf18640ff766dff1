// Shared checks for the types-*.test.ts files, run against the real server:
//  (a) the server's text rendering and its binary rendering of a literal
//      decode to the same JS value;
//  (b) that value, sent back as a parameter, decodes to itself;
//  (c) the server renders what we sent exactly as it renders the literal.
// Parameters go through the typed encoder of the type (TypeMap.encoder) with
// the OID declared in Parse, so (b) and (c) test the encoders whether or not
// the client already picks encoders from the statement description.
import { expect } from 'vitest'
import type { Connection } from '../../src/index.js'
import { TypeMap, defaultTypeMap, type EncodedParam } from '../../src/types/index.js'

/** A map whose untyped encode() uses the typed encoder of one declared type. */
export class TypedParams extends TypeMap {
  constructor(
    readonly oid: number,
    parent: TypeMap = defaultTypeMap,
  ) {
    super(parent)
  }

  override encode(value: unknown, index: number): EncodedParam {
    if (value === null || value === undefined) return { oid: this.oid, format: 0, value: null }
    const e = this.encoder(this.oid)
    if (e === undefined) throw new Error(`no encoder for ${this.oid}`)
    return { oid: this.oid, format: e.format, value: e.encode(value, index) }
  }
}

export interface Case {
  /** An SQL expression of the type (cast added): `'[1,5)'`, `'NaN'`. */
  literal: string
  /** The JS value it must decode to, when the test wants to pin it. */
  value?: unknown
  /** 'skip': the decoded value does not mean the same as a parameter (a JSON string, JSON null); 'value': only compare values. */
  roundTrip?: 'skip' | 'value'
}

/** A case for the literal `'text'` (quotes doubled), optionally pinned to a JS value. */
export function lit(literal: string, value?: unknown, roundTrip?: Case['roundTrip']): Case {
  return {
    literal: `'${literal.replace(/'/g, "''")}'`,
    ...(value === undefined ? {} : { value }),
    ...(roundTrip ? { roundTrip } : {}),
  }
}

export interface CheckOptions {
  /** Type map for decoding (e.g. one with TypeOptions). */
  types?: TypeMap
  /** Skip the parameter round trip (b, c). */
  noRoundTrip?: boolean
  /** checkArray: the element type takes JS arrays as values (json), so only 1-D arrays round-trip. */
  oneDimensional?: boolean
}

/** Runs (a), (b) and (c) for every case; `type` is the SQL type name, `oid` its OID. */
export async function checkType(conn: Connection, type: string, oid: number, cases: Case[], opts: CheckOptions = {}): Promise<void> {
  const types = opts.types ?? conn.types
  const cols = cases.map((c, i) => `(${c.literal})::${type} as v${i}, ((${c.literal})::${type})::text as t${i}`).join(', ')
  const sql = `select ${cols}`
  const text = await conn.query<unknown[]>(sql, [], { prepare: false, types, rowMode: 'array' })
  // The cached statement asks for what resultFormat says: text, binary
  // wherever a binary decoder exists, or the default choice between them.
  const textNamed = await conn.query<unknown[]>(sql, [], { types, rowMode: 'array', resultFormat: 'text' })
  const binary = await conn.query<unknown[]>(sql, [], { types, rowMode: 'array', resultFormat: 'binary' })
  const auto = await conn.query<unknown[]>(sql, [], { types, rowMode: 'array' })
  const textRow = text.rows[0]!
  const binRow = binary.rows[0]!
  const wantBinary = conn.types.hasBinary(oid, false)
  for (let i = 0; i < cases.length; i++) {
    const what = `${cases[i]!.literal}::${type}`
    expect(text.fields[2 * i]!.format, what).toBe(0)
    expect(textNamed.fields[2 * i]!.format, what).toBe(0)
    expect(binary.fields[2 * i]!.format, what).toBe(wantBinary ? 1 : 0)
    expect(auto.fields[2 * i]!.format, what).toBe(conn.types.hasBinary(oid) ? 1 : 0)
    expect(binRow[2 * i], `${what}: binary vs text`).toEqual(textRow[2 * i])
    expect(textNamed.rows[0]![2 * i], `${what}: named text vs unnamed text`).toEqual(textRow[2 * i])
    expect(auto.rows[0]![2 * i], `${what}: auto vs text`).toEqual(textRow[2 * i])
    if ('value' in cases[i]!) expect(textRow[2 * i], what).toEqual(cases[i]!.value)
  }
  if (opts.noRoundTrip) return
  const params = new TypedParams(oid, types)
  const sent = await Promise.all(
    cases.map((c, i) =>
      c.roundTrip === 'skip'
        ? undefined
        : conn.query<unknown[]>(`select $1::${type} as v, $1::${type}::text as t`, [textRow[2 * i]], { types: params, rowMode: 'array' }),
    ),
  )
  for (let i = 0; i < cases.length; i++) {
    const what = `${cases[i]!.literal}::${type} sent back`
    if (sent[i] === undefined) continue
    const row = sent[i]!.rows[0]!
    expect(row[0], what).toEqual(textRow[2 * i])
    if (cases[i]!.roundTrip !== 'value') expect(row[1], what).toBe(textRow[2 * i + 1])
  }
}

/** checkType for the type's array: all cases plus a NULL in one array, a 2-D array, and lower bounds. */
export async function checkArray(conn: Connection, type: string, arrayOid: number, cases: Case[], opts: CheckOptions = {}): Promise<void> {
  const usable = cases.filter((c) => c.roundTrip !== 'skip')
  const lits = usable.map((c) => `(${c.literal})::${type}`)
  const roundTrip = usable.some((c) => c.roundTrip === 'value') ? 'value' : undefined
  const pairs = lits.length >= 2 ? `array[array[${lits[0]}, ${lits[1]}], array[${lits[1]}, null]]` : `array[array[${lits[0]}]]`
  await checkType(
    conn,
    `${type}[]`,
    arrayOid,
    [
      { literal: `array[${lits.join(', ')}, null]`, roundTrip },
      { literal: pairs, roundTrip: opts.oneDimensional ? 'skip' : roundTrip },
      { literal: `array[]::${type}[]` },
      // Non-default lower bounds are dropped (JS arrays start at 0), so the text differs.
      { literal: `('[0:${lits.length - 1}]=' || array[${lits.join(', ')}]::text)::${type}[]`, roundTrip: 'value' },
    ],
    opts,
  )
}
