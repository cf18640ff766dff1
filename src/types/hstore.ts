// hstore (an extension type, so its OID differs per database; the client
// looks it up and calls registerHstore) -> an object of string keys to string
// or null values. Text and binary decode alike; parameters go as text from
// such an object, a Map, or a literal string.
import type { TypeMap } from './type-map.js'
import { makeEncoder, hasNul, NUL_REFUSAL, isPlainObject, quote, refuse } from './param.js'

export type Hstore = Record<string, string | null>

/** Sets a key even when it is '__proto__', which plain assignment would treat as the prototype. */
function put(out: Hstore, key: string, value: string | null): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  else out[key] = value
}

/** Binary: int32 pair count, then per pair int32 key length + key, int32 value length (-1 = NULL) + value. */
export function decodeHstoreBinary(buf: Buffer, start: number, end: number): Hstore {
  const n = buf.readInt32BE(start)
  const out: Hstore = {}
  let i = start + 4
  for (let k = 0; k < n; k++) {
    const klen = buf.readInt32BE(i)
    const key = buf.toString('utf8', i + 4, i + 4 + klen)
    i += 4 + klen
    const vlen = buf.readInt32BE(i)
    i += 4
    if (i + Math.max(vlen, 0) > end) throw new RangeError('malformed hstore value (truncated)')
    put(out, key, vlen < 0 ? null : buf.toString('utf8', i, i + vlen))
    i += Math.max(vlen, 0)
  }
  return out
}

/** Text: `"key"=>"value", "k2"=>NULL`; tokens may also be unquoted, as hstore_in allows. */
export function decodeHstoreText(buf: Buffer, start: number, end: number): Hstore {
  const s = buf.toString('utf8', start, end)
  const out: Hstore = {}
  let i = 0
  const skip = (): void => {
    while (i < s.length && /\s/.test(s[i]!)) i++
  }
  const token = (): { text: string; quoted: boolean } => {
    skip()
    let text = ''
    if (s[i] === '"') {
      for (i++; i < s.length && s[i] !== '"'; i++) text += s[i] === '\\' ? s[++i] : s[i]
      if (i++ >= s.length) throw new RangeError('malformed hstore value (unterminated quote)')
      return { text, quoted: true }
    }
    for (; i < s.length && !/[\s,=]/.test(s[i]!); i++) text += s[i] === '\\' ? s[++i] : s[i]
    return { text, quoted: false }
  }
  for (skip(); i < s.length; skip()) {
    const key = token().text
    skip()
    if (s.slice(i, i + 2) !== '=>') throw new RangeError(`malformed hstore value (expected "=>" at ${i})`)
    i += 2
    const v = token()
    put(out, key, !v.quoted && v.text.toUpperCase() === 'NULL' ? null : v.text)
    skip()
    if (i < s.length && s[i++] !== ',') throw new RangeError(`malformed hstore value (expected "," at ${i - 1})`)
  }
  return out
}

function hstoreEncoder(oid: number) {
  return makeEncoder(oid, 'hstore', 0, (value) => {
    if (typeof value === 'string') return hasNul(value) ? NUL_REFUSAL : value
    const entries = value instanceof Map ? [...value.entries()] : isPlainObject(value) ? Object.entries(value) : undefined
    if (entries === undefined) return undefined
    const parts: string[] = []
    for (const [k, v] of entries) {
      if (typeof k !== 'string') return refuse('keys must be strings')
      if (v !== null && v !== undefined && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'bigint' && typeof v !== 'boolean') {
        return refuse(`the value of ${JSON.stringify(k)} is not a string or null`)
      }
      const text = v === null || v === undefined ? 'NULL' : quote(String(v))
      if (hasNul(k) || hasNul(text)) return NUL_REFUSAL
      parts.push(`${quote(k)}=>${text}`)
    }
    return parts.join(', ')
  })
}

/** Registers hstore codecs under the OIDs the extension got in this database. */
export function registerHstore(map: TypeMap, oid: number, arrayOid?: number): void {
  map.registerDecoder(oid, 0, decodeHstoreText)
  map.registerDecoder(oid, 1, decodeHstoreBinary)
  map.registerEncoder(oid, hstoreEncoder(oid))
  if (arrayOid !== undefined) map.registerArray(oid, arrayOid)
}
