// The replication protocol's timestamps: signed 64-bit microseconds since
// 2000-01-01 00:00 UTC (the server's TimestampTz). They stay bigints on the
// wire-facing side, since a Date keeps only milliseconds; these convert.

/** 2000-01-01 00:00 UTC in milliseconds since the Unix epoch. */
const PG_EPOCH_MS = 946_684_800_000n
const PG_EPOCH_MICROS = PG_EPOCH_MS * 1000n
const INT64_MIN = -(1n << 63n)
const INT64_MAX = (1n << 63n) - 1n
/** The farthest instant a Date holds, either side of the Unix epoch. */
const DATE_LIMIT_MS = 8_640_000_000_000_000n

/**
 * A Date for a TimestampTz. Microseconds are floored to the millisecond, so
 * order is kept; an instant beyond what a Date holds gives an Invalid Date,
 * as the timestamptz decoder does.
 */
export function pgMicrosToDate(micros: bigint): Date {
  let ms = micros / 1000n
  // bigint division truncates toward zero; floor instead for instants before 2000.
  if (micros < 0n && ms * 1000n !== micros) ms -= 1n
  ms += PG_EPOCH_MS
  if (ms > DATE_LIMIT_MS || ms < -DATE_LIMIT_MS) return new Date(Number.NaN)
  return new Date(Number(ms))
}

/**
 * A TimestampTz for a Date or a count of milliseconds since the Unix epoch
 * (fractions of a millisecond kept to the microsecond, floored). RangeError
 * for an Invalid Date, a non-finite number or an instant outside Int64.
 */
export function dateToPgMicros(value: Date | number): bigint {
  const ms = value instanceof Date ? value.getTime() : value
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new RangeError(`cannot convert ${value instanceof Date ? 'an Invalid Date' : String(value)} to a PostgreSQL timestamp`)
  }
  // Whole milliseconds go through bigint: ms * 1000 can pass 2^53 and lose digits.
  const whole = Math.floor(ms)
  const micros = BigInt(whole) * 1000n + BigInt(Math.floor((ms - whole) * 1000)) - PG_EPOCH_MICROS
  if (micros < INT64_MIN || micros > INT64_MAX) throw new RangeError(`${String(value)} is outside the PostgreSQL timestamp range`)
  return micros
}

/** Throws a RangeError unless `micros` fits the signed 64-bit field it is written to. */
export function checkPgMicros(micros: bigint): bigint {
  if (typeof micros !== 'bigint') throw new TypeError(`a timestamp in microseconds must be a bigint, got ${typeof micros}`)
  if (micros < INT64_MIN || micros > INT64_MAX) throw new RangeError(`timestamp ${micros} is outside the signed 64-bit range`)
  return micros
}
