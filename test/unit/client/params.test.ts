// What params.ts refuses before anything is written: lone UTF-16 surrogates
// (UTF-8 would carry U+FFFD instead), more parameters than the protocol
// counts, toPostgres() results that are not text; and the same surrogate
// check on COPY rows.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { copyBinaryEncoder } from '../../../src/types/copy-binary.js'
import { CopyIn, CopyInRequest, textRowEncoder, type CopyHost } from '../../../src/client/copy.js'
import { checkParamCount, checkSqlText, encodeTyped, encodeUntyped, MAX_PARAMS } from '../../../src/session/params.js'
import { InterfaceError, ParameterError } from '../../../src/errors.js'
import { defaultTypeMap } from '../../../src/types/index.js'
import * as O from '../../../src/types/oids.js'

/** The oracle, by the definition: every high surrogate followed by a low one, every low one preceded by a high one. */
function wellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1)
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false
      i++
    } else if (c >= 0xdc00 && c <= 0xdfff) return false
  }
  return true
}

// Code units drawn so that surrogates (paired or not) are common, and one-byte and two-byte strings both occur.
const unit = fc.oneof(
  fc.integer({ min: 0x01, max: 0x7f }),
  fc.integer({ min: 0xd800, max: 0xdbff }),
  fc.integer({ min: 0xdc00, max: 0xdfff }),
  fc.integer({ min: 0x80, max: 0xffff }),
)
const anyString = fc.array(unit, { maxLength: 40 }).map((units) => String.fromCharCode(...units))
const wellFormedString = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0'))
const loneString = fc
  .tuple(wellFormedString, fc.integer({ min: 0xd800, max: 0xdfff }), wellFormedString)
  // A low surrogate first in the tail could pair with a high one before it; a space keeps it alone.
  .map(([a, c, b]) => a + String.fromCharCode(c) + ' ' + b)

function untyped(value: unknown): unknown {
  return encodeUntyped(defaultTypeMap, [1, value]).values[1]
}

function typed(oid: number, value: unknown): unknown {
  return encodeTyped(defaultTypeMap, [O.INT4, oid], [1, value]).values[1]
}

function refused(run: () => unknown): ParameterError {
  let err: unknown
  try {
    run()
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(ParameterError)
  return err as ParameterError
}

describe('lone UTF-16 surrogates in parameters', () => {
  it('passes every well-formed string unchanged and refuses every other, unnamed and typed (property)', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const ok = wellFormed(s) && !s.includes('\0')
        for (const encode of [untyped, (v: unknown) => typed(O.TEXT, v), (v: unknown) => typed(O.VARCHAR, v)]) {
          if (ok) expect(encode(s)).toBe(s)
          else expect(() => encode(s)).toThrow(ParameterError)
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('refuses a string with a lone surrogate naming $n and never the value (property)', () => {
    fc.assert(
      fc.property(loneString, (s) => {
        for (const run of [() => untyped(s), () => typed(O.TEXT, s), () => typed(O.JSONB, s)]) {
          const err = refused(run)
          expect(err.index).toBe(1)
          expect(err.valueType).toBe('string')
          expect(err.message).toMatch(/^cannot encode parameter \$2: the string contains a lone UTF-16 surrogate/)
          expect(err.message).not.toContain(s)
        }
      }),
      { numRuns: 500 },
    )
  })

  it('checks what arrays, ranges and toPostgres() spell, once, on the final text', () => {
    expect(refused(() => untyped(['a', ['b', '\uD800']])).message).toMatch(/\$2: its text form contains/)
    expect(refused(() => typed(O.TEXT_ARRAY, ['a', '\uDC00'])).message).toMatch(/\$2: its text form/)
    expect(refused(() => untyped({ toPostgres: () => 'x\uDBFF' })).message).toMatch(/\$2/)
    expect(refused(() => typed(O.INT4RANGE, '[1,\uD8005)')).message).toMatch(/\$2.*surrogate/)
    expect(refused(() => typed(O.INT4_ARRAY, '{1,\uD800}')).message).toMatch(/\$2.*surrogate/)
    // JSON.stringify already escapes a lone surrogate (\ud800): nothing to refuse, nothing changed.
    expect(typed(O.JSONB, { k: '\uD800' })).toBe('{"k":"\\ud800"}')
    expect(untyped({ k: '\uDC00' })).toBe('{"k":"\\udc00"}')
    expect(untyped(['\uD83D\uDC18'])).toBe('{"\uD83D\uDC18"}')
  })

  it('refuses SQL text with a lone surrogate as an InterfaceError that does not quote it', () => {
    expect(() => checkSqlText('select 1 -- \uD83D\uDC18')).not.toThrow()
    expect(() => checkSqlText("select 'secret\uD800'")).toThrow(InterfaceError)
    expect(() => checkSqlText("select 'secret\uD800'")).not.toThrow(/secret/)
  })
})

describe('parameter count', () => {
  it('allows 65535 and refuses 65536, naming the count and the limit', () => {
    expect(MAX_PARAMS).toBe(65535)
    expect(encodeUntyped(defaultTypeMap, new Array(65535).fill(1)).values).toHaveLength(65535)
    const err = refused(() => encodeUntyped(defaultTypeMap, new Array(65536).fill(1)))
    expect(err.message).toMatch(/65536.*65535/)
    expect(err.index).toBe(65535)
    expect(() => encodeTyped(defaultTypeMap, new Array(65536).fill(O.INT4), new Array(65536).fill(1))).toThrow(/65535/)
    expect(() => checkParamCount(70000)).toThrow(/70000.*65535/)
    expect(() => checkParamCount(65535)).not.toThrow()
  })
})

describe('toPostgres()', () => {
  it('must return a string: anything else is a ParameterError naming $n, not a TypeError from inside', () => {
    for (const spelled of [42, null, undefined, { x: 1 }, ['a'], 10n]) {
      const err = refused(() => untyped({ toPostgres: () => spelled }))
      expect(err.constructor).toBe(ParameterError)
      expect(err.message).toMatch(/^cannot encode parameter \$2: its toPostgres\(\) returned .*, not a string$/)
      expect(err.message).not.toContain('42')
    }
    expect(untyped({ toPostgres: () => '1 day' })).toBe('1 day')
  })
})

describe('lone UTF-16 surrogates in COPY rows', () => {
  function copyIn(format: 'text' | 'csv' | 'binary', columns: number): { w: CopyIn; sent: (Buffer | string)[] } {
    const sent: (Buffer | string)[] = []
    const host: CopyHost = {
      sendData: async (d) => void sent.push(d),
      sendDone: () => {},
      sendFail: () => {},
    }
    const text = copyBinaryEncoder(defaultTypeMap, O.TEXT, new Map())!
    const binary = (v: unknown, col: number): Buffer => (col === 0 ? (defaultTypeMap.encoder(O.INT4)!.encode(v, col) as Buffer) : text(v, col))
    const encoder = textRowEncoder(defaultTypeMap, binary)
    const info = { format: format === 'binary' ? (1 as const) : (0 as const), columns }
    const w = new CopyIn(host, new CopyInRequest('copy t from stdin'), info, { format, delimiter: format === 'csv' ? ',' : '\t' }, encoder)
    return { w, sent }
  }

  for (const format of ['text', 'csv', 'binary'] as const) {
    it(`names the row and column, never the value (${format}, property)`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.oneof(wellFormedString, loneString), { minLength: 1, maxLength: 8 }), async (values) => {
          const { w } = copyIn(format, 2)
          for (let r = 0; r < values.length; r++) {
            const s = values[r]!
            const attempt = w.writeRow([r, s]).then(
              () => undefined,
              (e: unknown) => e,
            )
            const err = await attempt
            if (wellFormed(s)) {
              expect(err).toBeUndefined()
            } else {
              expect(err).toBeInstanceOf(ParameterError)
              const e = err as ParameterError
              expect(e.message).toMatch(new RegExp(`^row ${r + 1}, column 2: the string contains a lone UTF-16 surrogate`))
              expect(e.row).toBe(r + 1)
              expect(e.index).toBe(1)
              expect(e.message).not.toContain(s)
            }
          }
        }),
        { numRuns: 100 },
      )
    })
  }

  it('refuses raw COPY text with a lone surrogate, and sends well-formed text as is', async () => {
    const { w, sent } = copyIn('text', 2)
    await expect(w.write('1\t\uDC00\n')).rejects.toThrow(InterfaceError)
    await w.write('1\t\uD83D\uDC18\n')
    expect(sent).toEqual(['1\t\uD83D\uDC18\n'])
  })
})
