// The fast lane between the caller thread and the sync worker: requests and
// replies written as bytes into one growable SharedArrayBuffer, instead of
// postMessage (a structured clone, a MessagePort wake-up and, on the caller,
// receiveMessageOnPort). Only one call is ever in flight, so both directions
// share the buffer: the caller writes a request, the worker copies it out
// before it runs, then writes the reply over it.
//
// The codec covers what calls and results are made of: primitives (keeping
// -0, NaN and lone surrogates), bigints, Dates, Buffers, dense or holey
// arrays and plain objects (including an own `__proto__` key), with shared
// references and cycles kept as they are (as structured clone keeps them).
// Anything else (class instances, Maps, typed arrays other than Buffer,
// functions, proxies...) or anything larger than the buffer may grow to makes
// encode() give up, and the caller uses the MessagePort path (wire.ts), which
// restores or refuses such values as before. For what it covers the result
// is what structured clone plus unpack() would give.

import { types } from 'node:util'

/** Room the buffer starts with, and the most it may grow to; larger messages go through the MessagePort. */
export const SHARED_INITIAL = 64 * 1024
export const SHARED_MAX = 1024 * 1024

const enum T {
  Undefined,
  Null,
  False,
  True,
  Int32,
  Float64,
  /** u32 byte length, then the bytes (every code unit < 0x80). */
  Ascii,
  /** u32 byte length, then UTF-8 (a well-formed string). */
  Utf8,
  /** u32 code-unit count, then UTF-16LE (a string with lone surrogates). */
  Utf16,
  Date,
  BigInt64,
  /** A bigint beyond 64 bits, as its decimal text (Ascii body). */
  BigIntText,
  /** u32 length, then the elements. */
  Array,
  /** An array element that is a hole. */
  Hole,
  /** u32 key count, then key (a string value) and value pairs. */
  Object,
  /** u32 length, then the bytes. */
  Buffer,
  /** u32 index of an object already written (shared reference or cycle). */
  Ref,
  /** A plain object of a known shape: u32 shape id, then the values in key order. */
  Shaped,
  /** A plain object of a new shape: u32 shape id, u32 key count, the keys (string values), then the values. */
  ShapeDef,
}

/** Shapes each side remembers (then objects of the same keys are sent without them); past this, keys go inline. */
const MAX_SHAPES = 256
const MAX_SHAPE_KEYS = 200

/** Builds an object of one shape from the values that follow, in key order (one hidden class, no key-by-key lookups). */
type Builder = (io: SharedIO) => object

function compileBuilder(keys: readonly string[]): Builder {
  const lit = keys.map((k) => `${JSON.stringify(k)}: undefined`).join(', ')
  const sets = keys.map((k) => `o[${JSON.stringify(k)}] = io.read();`).join(' ')
  // The object is registered before its values are read: a value may refer back to it.
  return new Function('io', `const o = { ${lit} }; io.reg(o); ${sets} return o`) as Builder
}

/** Thrown inside the encoder for a value it does not cover (or no room): the caller falls back. */
const GIVE_UP = Symbol('give up')

interface GrowableSAB extends SharedArrayBuffer {
  grow(n: number): void
  readonly maxByteLength: number
}

/** Objects tracked for shared references with a list scan, before a Map takes over. */
const SEEN_LIST = 32
/** Strings up to this length try the ASCII fast path (a JS loop beats a native call on short strings). */
const SHORT = 64

/** One side's views over the shared buffer. */
export class SharedIO {
  private u8!: Uint8Array
  private buf!: Buffer
  private dv!: DataView
  private size = 0
  // Encoder state.
  private pos = 0
  /** The objects written so far in this value, in order (their index is their Ref); a Map past a few dozen. */
  private seenList: object[] = []
  private seen: Map<object, number> | undefined
  private count = 0
  private strict = false
  /** Shapes this side has sent (ids are indexes); `mark`: how many there were when the message began. */
  private shapes: string[][] = []
  private mark = 0
  // Decoder state: the objects read so far in this value (their index is their Ref).
  private objects: unknown[] = []
  private nobjects = 0
  /** Shapes the other side has sent. */
  private builders: Builder[] = []

  constructor(readonly sab: SharedArrayBuffer) {
    this.views()
  }

  /** A growable shared buffer for a new channel. */
  static allocate(): SharedArrayBuffer {
    const Ctor = SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer
    return new Ctor(SHARED_INITIAL, { maxByteLength: SHARED_MAX })
  }

  private views(): void {
    const n = this.sab.byteLength
    if (n === this.size) return
    this.size = n
    this.u8 = new Uint8Array(this.sab, 0, n)
    this.buf = Buffer.from(this.sab, 0, n)
    this.dv = new DataView(this.sab, 0, n)
  }

  private room(n: number): void {
    const end = this.pos + n
    if (end <= this.size) return
    this.views() // the other side may have grown it
    if (end <= this.size) return
    const sab = this.sab as GrowableSAB
    if (typeof sab.grow !== 'function' || end > sab.maxByteLength) throw GIVE_UP
    sab.grow(Math.min(sab.maxByteLength, Math.max(end, this.size * 2)))
    this.views()
  }

  // ------------------------------------------------------------ encoding

  /**
   * Writes `head` (small unsigned integers) then `value` from offset 0;
   * returns the byte length, or -1 when the value is not covered (or too
   * large): send it the other way. `strict` (values from the user) also
   * refuses proxies, which structured clone refuses.
   */
  encode(head: readonly number[], value: unknown, strict: boolean): number {
    this.pos = 0
    this.strict = strict
    this.mark = this.shapes.length
    try {
      this.room(4 * head.length)
      for (const h of head) this.u32(h)
    } catch {
      return -1
    }
    return this.append(value)
  }

  /** Writes one more value after what encode() wrote; -1 when it does not fit or is not covered. */
  append(value: unknown): number {
    this.count = 0
    try {
      this.value(value, 0)
      return this.pos
    } catch {
      // GIVE_UP, or an error a getter threw: the MessagePort path reports it as it always has.
      // Shapes first sent in this message were not sent after all.
      this.shapes.length = this.mark
      return -1
    } finally {
      this.seen = undefined
      // Let go of the caller's objects (a loop: Array.prototype.fill is a slow builtin call for a few entries).
      const list = this.seenList
      for (let i = Math.min(this.count, SEEN_LIST) - 1; i >= 0; i--) list[i] = undefined as never
    }
  }

  private u32(n: number): void {
    this.dv.setUint32(this.pos, n, true)
    this.pos += 4
  }

  private tag(t: T): void {
    this.room(1)
    this.u8[this.pos++] = t
  }

  private value(v: unknown, depth: number): void {
    switch (typeof v) {
      case 'string':
        return this.string(v)
      case 'number':
        if ((v | 0) === v && (v !== 0 || 1 / v > 0)) {
          this.room(5)
          this.u8[this.pos++] = T.Int32
          this.dv.setInt32(this.pos, v, true)
          this.pos += 4
        } else {
          this.room(9)
          this.u8[this.pos++] = T.Float64
          this.dv.setFloat64(this.pos, v, true)
          this.pos += 8
        }
        return
      case 'boolean':
        return this.tag(v ? T.True : T.False)
      case 'undefined':
        return this.tag(T.Undefined)
      case 'bigint':
        if (BigInt.asIntN(64, v) === v) {
          this.room(9)
          this.u8[this.pos++] = T.BigInt64
          this.dv.setBigInt64(this.pos, v, true)
          this.pos += 8
        } else {
          this.tag(T.BigIntText)
          this.ascii(v.toString())
        }
        return
      case 'object':
        if (v === null) return this.tag(T.Null)
        return this.object(v, depth)
      default:
        throw GIVE_UP // functions and symbols
    }
  }

  private string(s: string): void {
    const n = s.length
    if (n <= SHORT) {
      this.room(5 + n)
      const u8 = this.u8
      const start = this.pos + 5
      let i = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        u8[start + i] = c
      }
      if (i === n) {
        u8[this.pos] = T.Ascii
        this.dv.setUint32(this.pos + 1, n, true)
        this.pos = start + n
        return
      }
    }
    if ((s as string & { isWellFormed(): boolean }).isWellFormed()) {
      this.room(5 + 3 * n)
      this.u8[this.pos] = T.Utf8
      const written = (this.buf as Buffer & { utf8Write(s: string, o: number, l: number): number }).utf8Write(s, this.pos + 5, 3 * n)
      this.dv.setUint32(this.pos + 1, written, true)
      this.pos += 5 + written
    } else {
      this.room(5 + 2 * n)
      this.u8[this.pos] = T.Utf16
      this.dv.setUint32(this.pos + 1, n, true)
      ;(this.buf as Buffer & { ucs2Write(s: string, o: number, l: number): number }).ucs2Write(s, this.pos + 5, 2 * n)
      this.pos += 5 + 2 * n
    }
  }

  /** A bigint's decimal text: ASCII by construction. */
  private ascii(s: string): void {
    const n = s.length
    this.room(4 + n)
    this.u32(n)
    for (let i = 0; i < n; i++) this.u8[this.pos + i] = s.charCodeAt(i)
    this.pos += n
  }

  /** The Ref index of `o` if written before, else -1 after recording it (the next index). */
  private remember(o: object): number {
    const n = this.count
    if (n < SEEN_LIST) {
      const list = this.seenList
      const i = list.indexOf(o)
      if (i !== -1 && i < n) return i
      list[n] = o
    } else {
      let seen = this.seen
      if (seen === undefined) {
        seen = this.seen = new Map()
        for (let i = 0; i < SEEN_LIST; i++) seen.set(this.seenList[i]!, i)
      }
      const ref = seen.get(o)
      if (ref !== undefined) return ref
      seen.set(o, n)
    }
    this.count = n + 1
    return -1
  }

  private object(o: object, depth: number): void {
    if (depth > 256) throw GIVE_UP
    const proto = Object.getPrototypeOf(o) as object | null
    if (this.strict && types.isProxy(o)) throw GIVE_UP
    if (proto !== Array.prototype && proto !== Object.prototype && proto !== null && proto !== Date.prototype && proto !== Buffer.prototype) throw GIVE_UP
    const ref = this.remember(o)
    if (ref !== -1) {
      this.room(5)
      this.u8[this.pos++] = T.Ref
      this.u32(ref)
      return
    }
    if (proto === Array.prototype) {
      if (!Array.isArray(o)) throw GIVE_UP
      const a = o as unknown[]
      const n = a.length
      this.room(5)
      this.u8[this.pos++] = T.Array
      this.u32(n)
      for (let i = 0; i < n; i++) {
        const e = a[i]
        if (e === undefined && !(i in a)) this.tag(T.Hole)
        else this.value(e, depth + 1)
      }
      return
    }
    if (proto === Object.prototype || proto === null) {
      const keys = Object.keys(o)
      const n = keys.length
      let id = this.shapeOf(keys)
      if (id >= 0) {
        this.room(5)
        this.u8[this.pos++] = T.Shaped
        this.u32(id)
      } else if (n > 0 && n <= MAX_SHAPE_KEYS && this.shapes.length < MAX_SHAPES && !keys.includes('__proto__')) {
        id = this.shapes.length
        this.shapes.push(keys)
        this.room(9)
        this.u8[this.pos++] = T.ShapeDef
        this.u32(id)
        this.u32(n)
        for (let i = 0; i < n; i++) this.string(keys[i]!)
      } else {
        this.room(5)
        this.u8[this.pos++] = T.Object
        this.u32(n)
        for (let i = 0; i < n; i++) {
          const k = keys[i]!
          this.string(k)
          this.value((o as Record<string, unknown>)[k], depth + 1)
        }
        return
      }
      for (let i = 0; i < n; i++) this.value((o as Record<string, unknown>)[keys[i]!], depth + 1)
      return
    }
    if (proto === Date.prototype) {
      this.room(9)
      this.u8[this.pos++] = T.Date
      this.dv.setFloat64(this.pos, (o as Date).getTime(), true)
      this.pos += 8
      return
    }
    if (proto === Buffer.prototype) {
      const b = o as Buffer
      const n = b.byteLength
      this.room(5 + n)
      this.u8[this.pos++] = T.Buffer
      this.u32(n)
      this.u8.set(b, this.pos)
      this.pos += n
      return
    }
    throw GIVE_UP
  }

  /** The id of a shape sent before with these keys in this order, or -1. */
  private shapeOf(keys: string[]): number {
    const shapes = this.shapes
    const n = keys.length
    outer: for (let s = 0; s < shapes.length; s++) {
      const k = shapes[s]!
      if (k.length !== n) continue
      for (let i = 0; i < n; i++) if (k[i] !== keys[i]) continue outer
      return s
    }
    return -1
  }

  // ------------------------------------------------------------ decoding

  /** Reads `count` head integers from offset 0; then value() reads what follows. */
  decodeHead(count: number): number[] {
    this.views()
    this.pos = 0
    const head: number[] = []
    for (let i = 0; i < count; i++) {
      head.push(this.dv.getUint32(this.pos, true))
      this.pos += 4
    }
    return head
  }

  /** The next value; shared references resolve within one call of it. */
  decodeValue(): unknown {
    this.nobjects = 0
    try {
      return this.read()
    } finally {
      const objects = this.objects
      for (let i = this.nobjects - 1; i >= 0; i--) objects[i] = undefined
    }
  }

  /** @internal Records an object read (for the shape builders). */
  reg(o: unknown): void {
    this.objects[this.nobjects++] = o
  }

  /** @internal The next value (for the shape builders). */
  read(): unknown {
    const t = this.u8[this.pos++] as T
    switch (t) {
      case T.Undefined:
        return undefined
      case T.Null:
        return null
      case T.False:
        return false
      case T.True:
        return true
      case T.Int32: {
        const v = this.dv.getInt32(this.pos, true)
        this.pos += 4
        return v
      }
      case T.Float64: {
        const v = this.dv.getFloat64(this.pos, true)
        this.pos += 8
        return v
      }
      case T.Ascii: {
        const n = this.dv.getUint32(this.pos, true)
        const start = this.pos + 4
        this.pos = start + n
        return (this.buf as Buffer & { latin1Slice(s: number, e: number): string }).latin1Slice(start, start + n)
      }
      case T.Utf8: {
        const n = this.dv.getUint32(this.pos, true)
        const start = this.pos + 4
        this.pos = start + n
        return (this.buf as Buffer & { utf8Slice(s: number, e: number): string }).utf8Slice(start, start + n)
      }
      case T.Utf16: {
        const n = this.dv.getUint32(this.pos, true)
        const start = this.pos + 4
        this.pos = start + 2 * n
        return (this.buf as Buffer & { ucs2Slice(s: number, e: number): string }).ucs2Slice(start, start + 2 * n)
      }
      case T.Date: {
        const d = new Date(this.dv.getFloat64(this.pos, true))
        this.pos += 8
        this.reg(d)
        return d
      }
      case T.BigInt64: {
        const v = this.dv.getBigInt64(this.pos, true)
        this.pos += 8
        return v
      }
      case T.BigIntText: {
        const n = this.dv.getUint32(this.pos, true)
        const start = this.pos + 4
        this.pos = start + n
        return BigInt((this.buf as Buffer & { latin1Slice(s: number, e: number): string }).latin1Slice(start, start + n))
      }
      case T.Array: {
        const n = this.dv.getUint32(this.pos, true)
        this.pos += 4
        const a: unknown[] = []
        this.reg(a)
        for (let i = 0; i < n; i++) {
          if (this.u8[this.pos] === T.Hole) {
            this.pos++
            a.length = i + 1
          } else a.push(this.read())
        }
        return a
      }
      case T.Object: {
        const n = this.dv.getUint32(this.pos, true)
        this.pos += 4
        const o: Record<string, unknown> = {}
        this.reg(o)
        for (let i = 0; i < n; i++) {
          const k = this.read() as string
          const v = this.read()
          if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
          else o[k] = v
        }
        return o
      }
      case T.Buffer: {
        const n = this.dv.getUint32(this.pos, true)
        const start = this.pos + 4
        this.pos = start + n
        const b = Buffer.allocUnsafeSlow(n)
        b.set(this.u8.subarray(start, start + n))
        this.reg(b)
        return b
      }
      case T.Shaped: {
        const id = this.dv.getUint32(this.pos, true)
        this.pos += 4
        return this.builders[id]!(this)
      }
      case T.ShapeDef: {
        const id = this.dv.getUint32(this.pos, true)
        const n = this.dv.getUint32(this.pos + 4, true)
        this.pos += 8
        const keys: string[] = []
        for (let i = 0; i < n; i++) keys.push(this.read() as string)
        const b = compileBuilder(keys)
        this.builders[id] = b
        return b(this)
      }
      case T.Ref: {
        const i = this.dv.getUint32(this.pos, true)
        this.pos += 4
        return this.objects[i]
      }
      default:
        throw new Error(`pgline sync: corrupt shared message (tag ${t as number})`)
    }
  }
}
