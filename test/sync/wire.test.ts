// The value and error codecs of pgline/sync, without a worker: pack() then a
// real structured clone (what postMessage does) then unpack().
import { describe, expect, it } from 'vitest'
import * as api from '../../src/index.js'
import { pack, rebuildError, registryOf, serializeError, unpack, type Packed, type Registry } from '../../src/sync/wire.js'

class Interval {
  constructor(
    readonly months: number,
    readonly days: number,
  ) {}
  total(): number {
    return this.months * 30 + this.days
  }
}

class Range {
  constructor(
    readonly lower: unknown,
    readonly upper: unknown,
  ) {}
}

const registry: Registry = registryOf(api, { Interval, Range })

function hop(value: unknown, strict: boolean): unknown {
  return unpack(structuredClone(pack(value, strict, registry)) as Packed, registry)
}

describe('values', () => {
  it('needs no fixups for plain data, so the receiver does no walk', () => {
    const rows = [{ a: 1, b: 'x', c: null, d: 2n, e: new Date(5), f: [1, [2, { g: true }]] }]
    const p = pack(rows, false, registry)
    expect(p.fx).toBeUndefined()
    expect(p.v).toBe(rows)
  })

  it('turns Uint8Arrays that were Buffers back into Buffers over the same memory, and leaves other typed arrays alone', () => {
    const value = { b: Buffer.from('abc'), nested: [[Buffer.from([1])]], mask: new Uint8Array([1, 0]), f: new Float64Array([1.5]) }
    const cloned = structuredClone(pack(value, false, registry)) as Packed
    const u8 = (cloned.v as { b: Uint8Array }).b
    const out = unpack(cloned, registry) as typeof value
    expect(Buffer.isBuffer(out.b)).toBe(true)
    expect(out.b.buffer).toBe(u8.buffer) // no copy
    expect(out.b.toString()).toBe('abc')
    expect(Buffer.isBuffer(out.nested[0]![0])).toBe(true)
    expect(Buffer.isBuffer(out.mask)).toBe(false)
    expect(out.mask).toBeInstanceOf(Uint8Array)
    expect(out.f).toBeInstanceOf(Float64Array)
  })

  it('copies a small Buffer view of a large backing store instead of cloning all of it', () => {
    const big = Buffer.alloc(1 << 20, 9)
    const p = pack([big.subarray(5, 8)], true, registry)
    expect(((p.v as Uint8Array[])[0]!).buffer.byteLength).toBe(3)
    const out = unpack(structuredClone(p) as Packed, registry) as Buffer[]
    expect(out[0]).toEqual(Buffer.from([9, 9, 9]))
  })

  it('restores instances of registered classes, nested in each other, with Buffers and Dates inside', () => {
    const value = [new Range(new Interval(1, 2), new Date(7)), new Range(Buffer.from('x'), null)]
    const out = hop(value, false) as Range[]
    expect(out[0]).toBeInstanceOf(Range)
    expect(out[0]!.lower).toBeInstanceOf(Interval)
    expect((out[0]!.lower as Interval).total()).toBe(32)
    expect(out[0]!.upper).toEqual(new Date(7))
    expect(Buffer.isBuffer(out[1]!.lower)).toBe(true)
  })

  it('results: instances of unregistered classes arrive as plain objects with their fields', () => {
    class Other {
      x = 1
    }
    const out = hop({ o: new Other() }, false) as { o: object }
    expect(Object.getPrototypeOf(out.o)).toBe(Object.prototype)
    expect(out.o).toEqual({ x: 1 })
  })

  it('parameters: stand-ins keep the class name, own fields, toPostgres() and toJSON() results; functions and symbols stay refusable', () => {
    class Money {
      constructor(readonly cents: number) {}
      toPostgres(): string {
        return `${this.cents / 100}`
      }
    }
    class Doc {
      secret = 's'
      toJSON(): unknown {
        return { doc: Buffer.from('z') }
      }
    }
    const fn = function named(): void {}
    const params = [new Money(250), new Doc(), fn, Symbol('tag'), { inner: new Money(1) }, new Map([[1, 2]])]
    const before = [...params]
    const out = hop(params, true) as unknown[]
    expect(params).toEqual(before) // the caller's values are untouched (copy on write)
    const money = out[0] as { constructor: { name: string }; cents: number; toPostgres(): string }
    expect(money.constructor.name).toBe('Money')
    expect(money.cents).toBe(250)
    expect(money.toPostgres()).toBe('2.5')
    const doc = out[1] as { toJSON(): { doc: Buffer } }
    expect(Buffer.isBuffer(doc.toJSON().doc)).toBe(true)
    expect(typeof out[2]).toBe('function')
    expect((out[2] as () => void).name).toBe('named')
    expect(typeof out[3]).toBe('symbol')
    expect((out[3] as symbol).description).toBe('tag')
    expect(((out[4] as { inner: Money }).inner as unknown as { toPostgres(): string }).toPostgres()).toBe('0.01')
    expect(out[5]).toEqual(new Map([[1, 2]]))
  })

  it('stops walking at a depth limit (cycles are left to structured clone and the encoders)', () => {
    const a: unknown[] = [Buffer.from('x')]
    a.push(a)
    const out = hop(a, true) as unknown[]
    expect(out[1]).toBe(out)
    expect(Buffer.isBuffer(out[0])).toBe(true)
  })
})

describe('errors', () => {
  it('rebuilds the exact pgline class with every own property, enumerable or not, and the cause chain', () => {
    const cause = new api.TimeoutError('query timed out after 5 ms')
    const err = api.createDatabaseError({ severity: 'ERROR', code: '57014', message: 'canceling statement due to user request', detail: 'd' }, 'select 1')
    Object.defineProperty(err, 'cause', { value: cause, enumerable: false, writable: true, configurable: true })
    const back = rebuildError(structuredClone(serializeError(err, registry)), undefined, registry) as api.QueryCanceled
    expect(back).toBeInstanceOf(api.QueryCanceled)
    expect(back).toBeInstanceOf(api.OperatorIntervention)
    expect(back).toBeInstanceOf(Error)
    expect(back.name).toBe('QueryCanceled')
    expect(back.code).toBe('57014')
    expect(back.detail).toBe('d')
    expect(back.query).toBe('select 1')
    expect(Object.keys(back)).toEqual(Object.keys(err))
    expect(Object.getOwnPropertyDescriptor(back, 'query')!.enumerable).toBe(false)
    expect(back.cause).toBeInstanceOf(api.TimeoutError)
    expect((back.cause as Error).message).toBe('query timed out after 5 ms')
    expect(back.stack).toBe(err.stack)
  })

  it('keeps ConnectionError.retrySafe and ParameterError fields', () => {
    const c = rebuildError(serializeError(new api.ConnectionError('gone', { retrySafe: true }), registry), undefined, registry) as api.ConnectionError
    expect(c).toBeInstanceOf(api.ConnectionError)
    expect(c.retrySafe).toBe(true)
    const p = rebuildError(
      serializeError(new api.ParameterError('bad $2', { index: 1, valueType: 'symbol', typeOid: 23 }), registry),
      undefined,
      registry,
    ) as api.ParameterError
    expect(p).toBeInstanceOf(api.ParameterError)
    expect(p).toBeInstanceOf(api.InterfaceError)
    expect([p.index, p.valueType, p.typeOid]).toEqual([1, 'symbol', 23])
  })

  it("tells pgline's SyntaxError from the global one, and keeps built-in error classes", () => {
    const pg = rebuildError(serializeError(api.createDatabaseError({ severity: 'ERROR', code: '42601', message: 'x' }), registry), undefined, registry)
    expect(pg).toBeInstanceOf(api.SyntaxError)
    const js = rebuildError(serializeError(new SyntaxError('y'), registry), undefined, registry)
    expect(js).toBeInstanceOf(SyntaxError)
    expect(js).not.toBeInstanceOf(api.PglineError)
    expect(rebuildError(serializeError(new TypeError('t'), registry), undefined, registry)).toBeInstanceOf(TypeError)
  })

  it('falls back to the nearest class it knows: a private subclass becomes its exported parent', () => {
    class Private extends api.InterfaceError {}
    const back = rebuildError(serializeError(new Private('p'), registry), undefined, registry)
    expect(back).toBeInstanceOf(api.InterfaceError)
    expect(back.name).toBe('Private')
  })

  it('serializes what structured clone refuses: non-errors thrown, DOMException causes, unclonable fields', () => {
    expect(rebuildError(serializeError('a string', registry), undefined, registry).message).toBe('non-error thrown: a string')
    const e = new Error('outer', { cause: new DOMException('stop', 'AbortError') })
    ;(e as Error & { fn?: unknown }).fn = () => 1
    const back = rebuildError(structuredClone(serializeError(e, registry)), undefined, registry)
    expect((back.cause as Error).name).toBe('AbortError')
    expect((back.cause as Error).message).toBe('stop')
    expect(typeof (back as Error & { fn?: unknown }).fn).toBe('string')
  })

  it('appends the caller frames to the worker stack', () => {
    const back = rebuildError(serializeError(new api.InterfaceError('x'), registry), '\n    at caller (file.js:1:1)', registry)
    expect(back.stack).toMatch(/<pgline sync worker>\n {4}at caller \(file\.js:1:1\)$/)
  })
})
