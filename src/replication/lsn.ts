// Log sequence numbers (XLogRecPtr): unsigned 64-bit WAL positions. They are
// plain bigints so they compare with < and ===, sort, and go into Maps
// without a wrapper; these functions add the server's 'X/Y' text form and
// the range check a bigint alone does not have.

/** InvalidXLogRecPtr: the server's "no position" ('0/0'). */
export const LSN_ZERO = 0n
/** The largest LSN, 'FFFFFFFF/FFFFFFFF'. */
export const LSN_MAX = 0xffff_ffff_ffff_ffffn

// Each half is at most 8 hex digits: the server prints the high and low
// 32 bits separately, so '100000000/0' is not an LSN.
const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/

/** Returns `lsn` unchanged when it is a bigint in 0..2^64-1; TypeError or RangeError otherwise. */
export function checkLsn(lsn: bigint): bigint {
  if (typeof lsn !== 'bigint') throw new TypeError(`an LSN must be a bigint, got ${typeof lsn}`)
  if (lsn < 0n || lsn > LSN_MAX) throw new RangeError(`LSN ${lsn} is outside 0..2^64-1`)
  return lsn
}

/** Parses the server's 'X/Y' form (hex, either case, 1-8 digits each side), e.g. '0/16B3748'. */
export function parseLsn(text: string): bigint {
  const m = typeof text === 'string' ? LSN_TEXT.exec(text) : null
  if (m === null) {
    const shown = typeof text === 'string' ? JSON.stringify(text) : String(text)
    throw new TypeError(`invalid LSN ${shown}: expected two groups of 1-8 hex digits, like '0/16B3748'`)
  }
  return (BigInt(`0x${m[1]!}`) << 32n) | BigInt(`0x${m[2]!}`)
}

/** The server's form: upper-case hex halves without zero padding, e.g. '0/16B3748'. */
export function formatLsn(lsn: bigint): string {
  checkLsn(lsn)
  const high = (lsn >> 32n).toString(16).toUpperCase()
  const low = (lsn & 0xffff_ffffn).toString(16).toUpperCase()
  return `${high}/${low}`
}

/** -1, 0 or 1 as `a` is before, at or after `b` (for Array.prototype.sort). */
export function compareLsn(a: bigint, b: bigint): -1 | 0 | 1 {
  checkLsn(a)
  checkLsn(b)
  return a < b ? -1 : a > b ? 1 : 0
}
