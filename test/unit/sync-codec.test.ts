// The shared-buffer codec of pgline/sync (src/sync/codec.ts), without a
// worker: what it covers must come out as structured clone plus unpack()
// (the MessagePort path) would give it, and what it does not cover must be
// refused (encode() gives -1) so the caller takes the MessagePort path.
import { describe, expect, it } from 'vitest'
import { PgInterval } from '../../src/index.js'
import { SHARED_INITIAL, SHARED_MAX, SharedIO } from '../../src/sync/codec.js'
import { pack, unpack, type Packed } from '../../src/sync/wire.js'

function pair(): { writer: SharedIO; reader: SharedIO } {
  const sab = SharedIO.allocate()
  return { writer: new SharedIO(sab), reader: new SharedIO(sab) }
}

/** Encodes with a head, then decodes it back, on a fresh pair (or the given one, to carry shapes over). */
function hop(value: unknown, strict = false, p = pair()): unknown {
  expect(p.writer.encode([7, 9], value, strict)).toBeGreaterThan(0)
  expect(p.reader.decodeHead(2)).toEqual([7, 9])
  return p.reader.decodeValue()
}

/** What the MessagePort path gives. */
function viaPort(value: unknown, strict = false): unknown {
  return unpack(structuredClone(pack(value, strict)) as Packed)
}

function same(a: unknown, b: unknown): void {
  expect(a).toStrictEqual(b)
  if (typeof a === 'object' && a !== null) {
    expect(Object.getPrototypeOf(a)).toBe(Object.getPrototypeOf(b))
    for (const k of Object.keys(a)) same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
  }
}

describe('sync shared-buffer codec', () => {
  it('gives what the MessagePort path gives, for the values results and parameters are made of', () => {
    const values: unknown[] = [
      undefined,
      null,
      true,
      false,
      0,
      -0,
      1,
      -1,
      2 ** 31,
      -(2 ** 31),
      1.5,
      NaN,
      Infinity,
      -Infinity,
      Number.MAX_VALUE,
      '',
      'plain ascii',
      'héllo wörld ✓ 𝄞',
      'x'.repeat(100) + 'é',
      '\ud800 lone \udfff',
      'a'.repeat(70),
      0n,
      -5n,
      2n ** 63n - 1n,
      -(2n ** 63n),
      2n ** 64n,
      -(2n ** 200n) + 7n,
      new Date(0),
      new Date(1_700_000_000_123),
      new Date(NaN),
      Buffer.from('bytes'),
      Buffer.alloc(0),
      [],
      [1, 'two', [3, [4]], { five: 5 }],
      {},
      { a: 1, b: 'x', c: null, d: undefined, e: [new Date(5)], f: { g: Buffer.from([1, 2]) } },
      { 2: 'two', 1: 'one', z: 'z', a: 'a' },
      Object.assign(Object.create(null) as object, { nullProto: true }),
      JSON.parse('{"__proto__": {"polluted": true}, "x": 1}'),
      { command: 'SELECT', rowCount: 1, rows: [{ id: 1, name: 'n', at: new Date(3) }], fields: [{ name: 'id', typeOid: 23, format: 1 }] },
    ]
    for (const v of values) {
      const out = hop(v)
      same(out, viaPort(v))
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) expect(Object.keys(out as object)).toEqual(Object.keys(v))
    }
  })

  it('keeps -0, lone surrogates and an own __proto__ key exactly', () => {
    expect(Object.is(hop(-0), -0)).toBe(true)
    expect(hop('\ud800')).toBe('\ud800')
    const o = hop(JSON.parse('{"__proto__": 5}')) as Record<string, unknown>
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(o, '__proto__')?.value).toBe(5)
  })

  it('gives Buffers back as Buffers with their own memory, and Dates as Dates', () => {
    const src = Buffer.from('abcdef').subarray(1, 4)
    const out = hop({ b: src, d: new Date(9) }) as { b: Buffer; d: Date }
    expect(Buffer.isBuffer(out.b)).toBe(true)
    expect(out.b.toString()).toBe('bcd')
    expect(out.b.buffer).not.toBeInstanceOf(SharedArrayBuffer)
    expect(out.d).toBeInstanceOf(Date)
    expect(out.d.getTime()).toBe(9)
  })

  it('keeps holes, shared references and cycles as structured clone does', () => {
    // eslint-disable-next-line no-sparse-arrays
    const holey = [1, , 3, ,]
    const out = hop(holey) as unknown[]
    expect(out.length).toBe(4)
    expect(1 in out).toBe(false)
    expect(3 in out).toBe(false)
    expect(out[2]).toBe(3)

    const shared = { k: 1 }
    const d = new Date(1)
    const s = hop({ a: shared, b: shared, c: [d, d] }) as { a: object; b: object; c: Date[] }
    expect(s.a).toBe(s.b)
    expect(s.c[0]).toBe(s.c[1])

    const cyclic: Record<string, unknown> = { name: 'root' }
    cyclic.self = cyclic
    cyclic.list = [cyclic]
    const c = hop(cyclic) as Record<string, unknown>
    expect(c.self).toBe(c)
    expect((c.list as unknown[])[0]).toBe(c)
  })

  it('keeps shared references among many objects (past the list scan)', () => {
    const shared = { s: 1 }
    const many = Array.from({ length: 100 }, (_, i) => ({ i, shared }))
    const out = hop(many) as Array<{ i: number; shared: object }>
    expect(out[99]!.i).toBe(99)
    expect(out[0]!.shared).toBe(out[99]!.shared)
    expect(out[0]).not.toBe(out[1])
  })

  it('refuses what it does not cover, so the MessagePort path takes it', () => {
    const { writer } = pair()
    for (const v of [
      () => 1,
      Symbol('s'),
      new Map([[1, 2]]),
      new Set([1]),
      new Uint8Array([1]),
      new Float64Array([1]),
      new PgInterval(1, 2, 3),
      new (class Foo {})(),
      new Error('e'),
      /re/,
      [1, () => 2],
      { nested: { deeper: new Map() } },
    ]) {
      expect(writer.encode([1], v, false), String(v)).toBe(-1)
    }
    // Proxies: refused from the user (structured clone refuses them); results never hold them.
    expect(writer.encode([1], [new Proxy({}, {})], true)).toBe(-1)
    // A getter that throws: the MessagePort path reports it as before.
    expect(
      writer.encode(
        [1],
        {
          get bad(): never {
            throw new Error('getter')
          },
        },
        true,
      ),
    ).toBe(-1)
  })

  it('sends a shape once, then objects of it without their keys; a refused message does not leave a shape behind', () => {
    const p = pair()
    const row = (i: number): object => ({ id: i, name: `n${i}`, at: new Date(i) })
    const first = p.writer.encode([1], [row(1), row(2)], false)
    p.reader.decodeHead(1)
    expect(p.reader.decodeValue()).toEqual([row(1), row(2)])
    const second = p.writer.encode([1], [row(1), row(2)], false)
    expect(second).toBeLessThan(first)
    p.reader.decodeHead(1)
    expect(p.reader.decodeValue()).toEqual([row(1), row(2)])

    // A new shape in a message that is then refused: the reader never sees it, so the writer must forget it.
    expect(p.writer.encode([1], [{ fresh: 1 }, new Map()], false)).toBe(-1)
    expect(hop([{ fresh: 2 }, row(3)], false, p)).toEqual([{ fresh: 2 }, row(3)])
    expect(hop({ fresh: 3 }, false, p)).toEqual({ fresh: 3 })
  })

  it('appends values after the first, each with its own references', () => {
    const p = pair()
    const shared = { x: 1 }
    expect(p.writer.encode([3], { a: shared }, false)).toBeGreaterThan(0)
    expect(p.writer.append([shared, shared])).toBeGreaterThan(0)
    p.reader.decodeHead(1)
    const a = p.reader.decodeValue() as { a: object }
    const b = p.reader.decodeValue() as object[]
    expect(a).toEqual({ a: { x: 1 } })
    expect(b[0]).toBe(b[1])
    expect(b[0]).not.toBe(a.a)
  })

  it('grows the buffer for larger messages, and refuses what would pass its maximum', () => {
    const p = pair()
    const big = 'y'.repeat(SHARED_INITIAL * 2)
    expect(hop({ big }, false, p)).toEqual({ big })
    expect(p.writer.sab.byteLength).toBeGreaterThan(SHARED_INITIAL)
    const rows = Array.from({ length: 2000 }, (_, i) => ({ i, text: 'é'.repeat(i % 50) }))
    expect(hop(rows, false, p)).toEqual(rows)
    expect(p.writer.encode([1], Buffer.alloc(SHARED_MAX + 1), false)).toBe(-1)
    expect(hop('after', false, p)).toBe('after')
  })
})
