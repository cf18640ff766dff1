// Finds the highest $n placeholder in a SQL string, skipping string
// literals, quoted identifiers, comments and dollar-quoted bodies, so a wrong
// parameter count is caught before anything is sent.

const DOLLAR_TAG = /\$([A-Za-z_\u0080-\uffff][A-Za-z_0-9\u0080-\uffff]*)?\$/y

function isIdentChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 128 || c === 36
}

// Services run the same few hundred statements over and over: remember the
// answer per SQL text instead of scanning it on every call.
const cache = new Map<string, number>()
const CACHE_LIMIT = 2048

/** Returns the largest n among $n placeholders outside quotes and comments (0 if none). */
export function maxPlaceholder(sql: string): number {
  let n = cache.get(sql)
  if (n === undefined) {
    n = scan(sql)
    if (cache.size >= CACHE_LIMIT) cache.clear()
    cache.set(sql, n)
  }
  return n
}

function scan(sql: string): number {
  let max = 0
  const n = sql.length
  let i = 0
  while (i < n) {
    const c = sql.charCodeAt(i)
    if (c === 39 /* ' */) {
      // E'...' strings treat backslash as an escape; standard strings do not.
      const escapes = i > 0 && (sql.charCodeAt(i - 1) | 32) === 101 /* e */ && (i < 2 || !isIdentChar(sql.charCodeAt(i - 2)))
      i++
      while (i < n) {
        const d = sql.charCodeAt(i)
        if (escapes && d === 92 /* \ */) i += 2
        else if (d === 39) {
          if (sql.charCodeAt(i + 1) === 39) i += 2
          else break
        } else i++
      }
      i++
    } else if (c === 34 /* " */) {
      i++
      while (i < n) {
        if (sql.charCodeAt(i) === 34) {
          if (sql.charCodeAt(i + 1) === 34) i += 2
          else break
        } else i++
      }
      i++
    } else if (c === 45 /* - */ && sql.charCodeAt(i + 1) === 45) {
      const nl = sql.indexOf('\n', i)
      i = nl === -1 ? n : nl + 1
    } else if (c === 47 /* / */ && sql.charCodeAt(i + 1) === 42 /* * */) {
      // Block comments nest in PostgreSQL.
      let depth = 1
      i += 2
      while (i < n && depth > 0) {
        if (sql.charCodeAt(i) === 47 && sql.charCodeAt(i + 1) === 42) {
          depth++
          i += 2
        } else if (sql.charCodeAt(i) === 42 && sql.charCodeAt(i + 1) === 47) {
          depth--
          i += 2
        } else i++
      }
    } else if (c === 36 /* $ */) {
      const d = sql.charCodeAt(i + 1)
      if (d >= 48 && d <= 57 && (i === 0 || !isIdentChar(sql.charCodeAt(i - 1)))) {
        let j = i + 1
        let v = 0
        while (j < n) {
          const e = sql.charCodeAt(j)
          if (e < 48 || e > 57) break
          v = v * 10 + (e - 48)
          j++
        }
        if (v > max) max = v
        i = j
        continue
      }
      if (i > 0 && isIdentChar(sql.charCodeAt(i - 1))) {
        i++ // a $ inside an identifier such as a$b
        continue
      }
      DOLLAR_TAG.lastIndex = i
      const m = DOLLAR_TAG.exec(sql)
      if (m === null) {
        i++
        continue
      }
      const close = sql.indexOf(m[0], i + m[0].length)
      i = close === -1 ? n : close + m[0].length
    } else {
      i++
    }
  }
  return max
}
