// A growable byte buffer for building frontend messages. One per connection:
// messages are appended back to back and flushed together, which is how
// writes get coalesced without copying each message separately. flush()
// hands out a view of the bytes, not a copy: the writer only ever moves
// forward in a buffer (bytes handed out are never written again, so a write
// the socket still holds stays intact) and starts a fresh one when the rest
// is small.

const INITIAL_SIZE = 16 * 1024
const MIN_ROOM = 2 * 1024

export class Writer {
  buf: Buffer
  pos = 0
  /** Start of the bytes not yet flushed (everything before it was handed out). */
  private base = 0
  private lengthAt = -1
  private msgStart = -1

  constructor(size = INITIAL_SIZE) {
    this.buf = Buffer.allocUnsafe(size)
  }

  get length(): number {
    return this.pos - this.base
  }

  private ensure(n: number): void {
    const need = this.pos + n
    if (need <= this.buf.length) return
    // max(): a Writer created with size 0 would otherwise double 0 forever.
    let size = Math.max(this.buf.length * 2, 64)
    while (size < need) size *= 2
    const next = Buffer.allocUnsafe(size)
    // Same offsets in the new buffer: a caller may hold a position in the
    // open message (a length to fill in later).
    this.buf.copy(next, this.base, this.base, this.pos)
    this.buf = next
  }

  /** Starts a message with a type byte (or none for startup-style packets) and a length placeholder. */
  start(type?: number): this {
    if (this.lengthAt !== -1) throw new Error('Writer: message already open')
    this.ensure(5)
    this.msgStart = this.pos
    if (type !== undefined) this.buf[this.pos++] = type
    this.lengthAt = this.pos
    this.pos += 4
    return this
  }

  /** Back-patches the length of the open message (it counts itself, not the type byte). */
  end(): this {
    const at = this.lengthAt
    if (at === -1) throw new Error('Writer: no open message')
    this.patchI32(at, this.pos - at)
    this.lengthAt = -1
    this.msgStart = -1
    return this
  }

  /**
   * Drops the open message, if any, so the Writer is usable again. Called
   * before the Writer throws on a bad value: a half-written message must not
   * stay open (every later start() would fail) nor ever be flushed.
   */
  abort(): this {
    if (this.lengthAt !== -1) {
      this.pos = this.msgStart
      this.lengthAt = -1
      this.msgStart = -1
    }
    return this
  }

  private fail(message: string): never {
    this.abort()
    throw new RangeError(`Writer: ${message}`)
  }

  // Bytes by hand, after our own range checks: Buffer's writeInt*BE check
  // the arguments again, which costs more than the write. Typed-array stores
  // keep the low 8 bits, which is two's complement for negative values.
  private put16(v: number): void {
    const buf = this.buf
    const pos = this.pos
    buf[pos] = v >>> 8
    buf[pos + 1] = v
    this.pos = pos + 2
  }

  /** Writes a 32-bit big-endian value at `at` (signed or unsigned, range already checked). */
  patchI32(at: number, v: number): void {
    const buf = this.buf
    buf[at] = v >>> 24
    buf[at + 1] = v >>> 16
    buf[at + 2] = v >>> 8
    buf[at + 3] = v
  }

  u8(v: number): this {
    this.ensure(1)
    this.buf[this.pos++] = v
    return this
  }

  i16(v: number): this {
    if (!(v >= -0x8000 && v <= 0x7fff)) this.fail(`${v} does not fit an Int16`)
    this.ensure(2)
    this.put16(v)
    return this
  }

  /** An unsigned 16-bit count (the server reads parameter counts as uint16: up to 65535). */
  u16(v: number): this {
    if (!(v >= 0 && v <= 0xffff)) this.fail(`${v} does not fit a UInt16`)
    this.ensure(2)
    this.put16(v)
    return this
  }

  i32(v: number): this {
    if (!(v >= -0x80000000 && v <= 0x7fffffff)) this.fail(`${v} does not fit an Int32`)
    this.ensure(4)
    this.patchI32(this.pos, v)
    this.pos += 4
    return this
  }

  /** An unsigned 32-bit value, such as a type OID (OIDs go up to 2^32-1). */
  u32(v: number): this {
    if (!(v >= 0 && v <= 0xffffffff)) this.fail(`${v} does not fit a UInt32`)
    this.ensure(4)
    this.patchI32(this.pos, v)
    this.pos += 4
    return this
  }

  /**
   * A NUL-terminated UTF-8 string. A NUL inside would end the string early and
   * shift every later field (the server would parse the rest of the string as
   * other fields), so it is refused.
   */
  cstr(s: string): this {
    // Short ASCII (portal and statement names, most identifiers): byte by
    // byte beats the native UTF-8 length and write calls.
    const len = s.length
    if (len <= 32) {
      this.ensure(len + 1)
      const buf = this.buf
      let pos = this.pos
      let i = 0
      for (; i < len; i++) {
        const c = s.charCodeAt(i)
        if (c === 0 || c >= 0x80) break
        buf[pos++] = c
      }
      if (i === len) {
        buf[pos++] = 0
        this.pos = pos
        return this
      }
    }
    if (s.includes('\0')) this.fail('string contains a NUL character')
    const n = Buffer.byteLength(s)
    this.ensure(n + 1)
    this.pos += this.buf.write(s, this.pos, n, 'utf8')
    this.buf[this.pos++] = 0
    return this
  }

  /** UTF-8 string bytes without a terminator. */
  str(s: string): this {
    const n = Buffer.byteLength(s)
    this.ensure(n)
    this.pos += this.buf.write(s, this.pos, n, 'utf8')
    return this
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
    return this
  }

  /** Takes everything written so far as one Buffer and resets. */
  flush(): Buffer {
    if (this.lengthAt !== -1) throw new Error('Writer: flush inside an open message')
    const out = this.buf.subarray(this.base, this.pos)
    this.base = this.pos
    // A fresh buffer when little room is left, and after one large message
    // (so a huge buffer is not kept alive).
    if (this.buf.length - this.pos < MIN_ROOM || this.buf.length > 1024 * 1024) {
      this.buf = Buffer.allocUnsafe(INITIAL_SIZE)
      this.base = this.pos = 0
    }
    return out
  }
}
