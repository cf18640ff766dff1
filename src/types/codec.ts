// The two shapes every codec plugs into. Decoders work on byte ranges of the
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
