// A bounds-checked cursor over one replication message. Every overrun or
// malformed field becomes a ProtocolError naming the message, never a
// RangeError from Buffer or a read past the message into its neighbours.
import { ProtocolError } from '../errors/base.js'

export { printable } from '../protocol/decoder.js'

export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
    /** What the message is, for errors: e.g. "pgoutput 'I' (Insert) message". */
    readonly what: string,
    /** Printable type byte, for ProtocolError.messageType. */
    readonly type: string,
  ) {}

  fail(why: string): never {
    throw new ProtocolError(`malformed ${this.what}: ${why}`, this.type)
  }

  need(n: number): void {
    if (this.pos + n > this.end) this.fail(`truncated (needed ${n} more bytes at offset ${this.pos}, ${this.end - this.pos} left)`)
  }

  u8(): number {
    this.need(1)
    return this.buf[this.pos++]!
  }

  /** A byte that must be 0 or 1. */
  bool(field: string): boolean {
    const v = this.u8()
    if (v > 1) this.fail(`${field} is ${v}, expected 0 or 1`)
    return v === 1
  }

  i16(): number {
    this.need(2)
    const v = this.buf.readInt16BE(this.pos)
    this.pos += 2
    return v
  }

  i32(): number {
    this.need(4)
    const v = this.buf.readInt32BE(this.pos)
    this.pos += 4
    return v
  }

  /** An OID or a TransactionId (both unsigned 32-bit). */
  u32(): number {
    this.need(4)
    const v = this.buf.readUInt32BE(this.pos)
    this.pos += 4
    return v
  }

  /** An XLogRecPtr (unsigned). */
  u64(): bigint {
    this.need(8)
    const v = this.buf.readBigUInt64BE(this.pos)
    this.pos += 8
    return v
  }

  /** A TimestampTz (signed). */
  i64(): bigint {
    this.need(8)
    const v = this.buf.readBigInt64BE(this.pos)
    this.pos += 8
    return v
  }

  cstr(): string {
    const nul = this.buf.indexOf(0, this.pos)
    if (nul === -1 || nul >= this.end) this.fail(`string at offset ${this.pos} has no terminator`)
    const s = this.buf.toString('utf8', this.pos, nul)
    this.pos = nul + 1
    return s
  }

  /** Skips `n` bytes and returns where they start. */
  skip(n: number): number {
    this.need(n)
    const start = this.pos
    this.pos += n
    return start
  }

  /** Throws unless the whole message was read: trailing bytes mean we misread its layout. */
  done(): void {
    if (this.pos !== this.end) this.fail(`${this.end - this.pos} unexpected trailing bytes`)
  }
}
