// The two spellings of a libpq connection string, read into the same
// keyword -> value map:
//
//   key=value:  host=db1 port=5432 dbname='my db' password='it\'s'
//     Whitespace separates pairs and may surround '='. A value is either a run
//     of non-space characters or a single-quoted string; in both, a backslash
//     takes the next character literally. Note that whitespace after '=' is
//     skipped, so `host= port=5` gives host the value "port=5", as libpq does;
//     write an empty value as ''.
//
//   URI:  postgres[ql]://[user[:password]@][host[:port]][,host[:port]...][/dbname][?keyword=value&...]
//     Every part is percent-decoded (%00 is refused, '+' stays '+'). IPv6
//     addresses go in brackets. Several hosts give comma-joined host and port
//     lists (an empty entry meaning the default). Query keys are libpq
//     keywords; ssl=true is accepted as sslmode=require.
//
// A keyword given twice keeps its last value. Messages about malformed input
// never quote the password. Two deliberate differences from libpq: the URI
// scheme is case-insensitive, and an unencoded '@' after the credentials
// (`postgres://u:p@ss@h`) is refused rather than read as part of the host
// name, where errors would print it.

import { InterfaceError } from '../errors/base.js'
import { isKeyword, SECRET_KEYWORDS, unknownKeyword, type Keyword } from './keywords.js'

const URI_PREFIX = /^postgres(?:ql)?:\/\//i

export function isConnectionUri(s: string): boolean {
  return URI_PREFIX.test(s)
}

/** Reads a key=value string or a postgres:// URI into keyword -> value, in order of appearance. */
export function parseConnectionKeywords(s: string): Map<Keyword, string> {
  return isConnectionUri(s) ? parseUri(s) : parseKeyValue(s)
}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v'
}

function parseKeyValue(s: string): Map<Keyword, string> {
  const out = new Map<Keyword, string>()
  let i = 0
  let previous: string | undefined
  const n = s.length
  while (true) {
    while (isSpace(s[i])) i++
    if (i >= n) break
    const keyStart = i
    while (i < n && s[i] !== '=' && !isSpace(s[i])) i++
    const key = s.slice(keyStart, i)
    // A stray word right after a password value is probably the rest of an
    // unquoted password: do not repeat it.
    const redact = previous !== undefined && SECRET_KEYWORDS.has(previous)
    while (isSpace(s[i])) i++
    if (s[i] !== '=') {
      if (redact) {
        throw new InterfaceError(
          `invalid connection string: the text after the ${previous} value is not keyword=value (quote values containing spaces: ${previous}='a b')`,
        )
      }
      throw new InterfaceError(`invalid connection string: missing "=" after "${key}" (quote values containing spaces: key='a b')`)
    }
    i++
    while (isSpace(s[i])) i++
    let value = ''
    if (s[i] === "'") {
      i++
      let closed = false
      while (i < n) {
        const c = s[i]!
        if (c === '\\') {
          i++
          if (i < n) value += s[i]
          i++
        } else if (c === "'") {
          i++
          closed = true
          break
        } else {
          value += c
          i++
        }
      }
      if (!closed) {
        const what = isKeyword(key) ? `the value of ${key}` : 'a value'
        throw new InterfaceError(`invalid connection string: unterminated quoted string in ${what}`)
      }
    } else {
      while (i < n && !isSpace(s[i])) {
        if (s[i] === '\\') {
          i++
          if (i < n) value += s[i]
          i++
        } else {
          value += s[i]
          i++
        }
      }
    }
    if (!isKeyword(key)) throw unknownKeyword(key, 'the connection string', redact ? `quote a ${previous} value that contains spaces: ${previous}='a b'` : undefined)
    out.delete(key)
    out.set(key, value)
    previous = key
  }
  return out
}

function parseUri(s: string): Map<Keyword, string> {
  const out = new Map<Keyword, string>()
  const prefix = URI_PREFIX.exec(s)![0]
  let p = prefix.length
  const n = s.length

  // user[:password]@ -- the first '@' before any '/'.
  let at = p
  while (at < n && s[at] !== '@' && s[at] !== '/') at++
  if (s[at] === '@') {
    const creds = s.slice(p, at)
    const colon = creds.indexOf(':')
    const user = colon < 0 ? creds : creds.slice(0, colon)
    if (user !== '') out.set('user', decode(user, 'the user name'))
    if (colon >= 0) {
      const password = creds.slice(colon + 1)
      if (password !== '') out.set('password', decode(password, 'the password'))
    }
    p = at + 1
  }

  // host[:port][,host[:port]...]
  const hosts: string[] = []
  const ports: string[] = []
  while (true) {
    let host: string
    if (s[p] === '[') {
      const close = s.indexOf(']', p)
      if (close < 0) throw new InterfaceError('invalid connection URI: missing "]" after an IPv6 host address')
      host = s.slice(p + 1, close)
      if (host === '') throw new InterfaceError('invalid connection URI: an IPv6 host address in brackets may not be empty')
      p = close + 1
      const next = s[p]
      if (p < n && next !== ':' && next !== '/' && next !== '?' && next !== ',') {
        throw new InterfaceError(
          `invalid connection URI: unexpected "${next}" after "]" at offset ${p} (expected ":", "/", "?" or ",")`,
        )
      }
    } else {
      const start = p
      while (p < n && s[p] !== ':' && s[p] !== '/' && s[p] !== '?' && s[p] !== ',') p++
      host = s.slice(start, p)
      // Only a second '@' gets here: an unencoded '@' in the user name or
      // password. libpq would look this up as a host name, and the host name
      // then shows up in errors: part of the password, printed.
      if (host.includes('@')) {
        throw new InterfaceError('invalid connection URI: "@" in the host part; percent-encode "@" in the user name or password as %40')
      }
    }
    let port = ''
    if (s[p] === ':') {
      const start = ++p
      while (p < n && s[p] !== '/' && s[p] !== '?' && s[p] !== ',') p++
      port = s.slice(start, p)
    }
    hosts.push(host)
    ports.push(port)
    if (s[p] !== ',') break
    p++
  }
  const hostList = hosts.join(',')
  const portList = ports.join(',')
  if (hostList !== '') out.set('host', decode(hostList, 'the host'))
  if (portList !== '') out.set('port', decode(portList, 'the port'))

  // /dbname
  if (s[p] === '/') {
    const start = ++p
    while (p < n && s[p] !== '?') p++
    const db = s.slice(start, p)
    if (db !== '') out.set('dbname', decode(db, 'the database name'))
  }

  // ?keyword=value&...
  if (s[p] === '?') {
    const parts = s.slice(p + 1).split('&')
    if (parts[parts.length - 1] === '') parts.pop() // "?" alone, or a trailing "&"
    let previous: string | undefined
    for (const part of parts) {
      const redact = previous !== undefined && SECRET_KEYWORDS.has(previous)
      const eq = part.indexOf('=')
      const rawKey = eq < 0 ? part : part.slice(0, eq)
      const shownKey = redact ? `after the ${previous} parameter` : `"${safeDecode(rawKey)}"`
      if (eq < 0) throw new InterfaceError(`invalid connection URI: query parameter ${shownKey} has no "="`)
      if (part.indexOf('=', eq + 1) >= 0) {
        throw new InterfaceError(`invalid connection URI: query parameter ${shownKey} has more than one "=" (encode it as %3D)`)
      }
      const key = decode(rawKey, 'a query parameter name')
      const value = decode(part.slice(eq + 1), SECRET_KEYWORDS.has(key) ? `the ${key} parameter` : `the value of "${key}"`)
      if (key === 'ssl' && value === 'true') {
        out.delete('sslmode')
        out.set('sslmode', 'require')
      } else if (isKeyword(key)) {
        out.delete(key)
        out.set(key, value)
      } else {
        throw unknownKeyword(key, 'the connection URI query', redact ? `percent-encode "&" in a ${previous} as %26` : undefined)
      }
      previous = key
    }
  }
  return out
}

function safeDecode(s: string): string {
  try {
    return decode(s, '')
  } catch {
    return s
  }
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 65 && c <= 70) return c - 55
  if (c >= 97 && c <= 102) return c - 87
  return -1
}

/** Percent-decodes one URI part into UTF-8 text; `what` names the part in errors (never its text). */
export function decode(s: string, what: string): string {
  if (!s.includes('%')) return s
  const bytes: number[] = []
  const src = Buffer.from(s, 'utf8')
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!
    if (c !== 0x25) {
      bytes.push(c)
      continue
    }
    const hi = i + 1 < src.length ? hex(src[i + 1]!) : -1
    const lo = i + 2 < src.length ? hex(src[i + 2]!) : -1
    if (hi < 0 || lo < 0) throw new InterfaceError(`invalid connection URI: bad percent-encoding in ${what} (use %XX with two hex digits)`)
    const b = hi * 16 + lo
    if (b === 0) throw new InterfaceError(`invalid connection URI: %00 is not allowed in ${what}`)
    bytes.push(b)
    i += 2
  }
  return Buffer.from(bytes).toString('utf8')
}

/**
 * Writes keyword -> value pairs as a key=value connection string that
 * parseConnectionKeywords reads back to the same map: values that are empty
 * or contain whitespace, quotes or backslashes are single-quoted with `\'`
 * and `\\` escapes.
 */
export function formatConnectionKeywords(values: Iterable<readonly [string, string]> | Readonly<Record<string, string>>): string {
  const pairs = Symbol.iterator in values ? [...(values as Iterable<readonly [string, string]>)] : Object.entries(values)
  return pairs.map(([k, v]) => `${k}=${quoteValue(v)}`).join(' ')
}

export function quoteValue(v: string): string {
  if (v !== '' && !/[\s'\\]/.test(v)) return v
  return `'${v.replace(/[\\']/g, (c) => '\\' + c)}'`
}
