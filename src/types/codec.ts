// The shapes every codec plugs into. Decoders work on byte ranges of the
// DataRow buffer so the hot path never slices or copies unless the value
// itself needs its own memory (bytea, unknown binary).

/**
 * Decodes one non-NULL value from `buf[start, end)`. NULL never reaches a
 * decoder. A decoder must not keep a reference to `buf`: the protocol layer
 * reuses its buffers, so anything retained has to be copied.
 */
export type Decoder = (buf: Buffer, start: number, end: number) => unknown

/** One Bind parameter: the type OID for Parse (0 = let the server infer it), its format code and bytes. */
export interface EncodedParam {
  oid: number
  format: 0 | 1
  value: Buffer | string | null
}

/**
 * Encodes JS values for a parameter whose type the server has described.
 * `format` is fixed per encoder: a binary encoder always returns a Buffer, a
 * text encoder a string. NULL (null/undefined) never reaches an encoder.
 * Values that do not fit the type throw a ParameterError naming `$<index+1>`.
 */
export interface ParamEncoder {
  format: 0 | 1
  encode(value: unknown, index: number): Buffer | string
}

/**
 * How some types map to JS. Defaults: int8 'bigint', numeric 'string', date
 * 'string', timestamp 'Date', json 'parse'.
 * - int8 'number' throws a RangeError for values beyond ±(2^53 - 1); 'string' is the decimal text.
 * - numeric 'number' is Number(text): NaN and ±Infinity included, precision beyond a double lost.
 * - date 'Date' is midnight UTC of that day; ±infinity become ±Infinity.
 * - timestamp 'string' (timestamp and timestamptz) keeps microseconds:
 *   'YYYY-MM-DD HH:MM:SS[.ffffff][ BC]' for timestamp, and the same in UTC
 *   with '+00' for timestamptz (whatever the session TimeZone); 'infinity' and '-infinity' as text.
 * - json 'string' gives the JSON text unparsed (jsonb as the server normalised it).
 */
export interface TypeOptions {
  int8?: 'bigint' | 'number' | 'string'
  numeric?: 'string' | 'number'
  date?: 'string' | 'Date'
  timestamp?: 'Date' | 'string'
  json?: 'parse' | 'string'
}
