// The password file (~/.pgpass, or passfile / PGPASSFILE): one
// `hostname:port:database:username:password` entry per line. The first four
// fields are a literal or `*` (anything); `\:` and `\\` stand for ':' and '\'.
// Lines starting with '#' and blank lines are skipped. The first entry that
// matches the connection gives the password.

export interface PgpassEntry {
  /** The four match fields as written (escapes still in), then the password (unescaped). */
  readonly host: string
  readonly port: string
  readonly database: string
  readonly user: string
  readonly password: string
}

export interface PgpassTarget {
  host: string
  port: string
  database: string
  user: string
}

/** Splits the file into entries; lines with fewer than five fields are dropped. */
export function parsePgpass(text: string): PgpassEntry[] {
  const entries: PgpassEntry[] = []
  for (let line of text.split('\n')) {
    if (line.endsWith('\r')) line = line.slice(0, -1)
    if (line === '' || line.startsWith('#')) continue
    const fields = splitFields(line)
    if (fields === undefined) continue
    entries.push({
      host: fields[0]!,
      port: fields[1]!,
      database: fields[2]!,
      user: fields[3]!,
      password: unescapeField(fields[4]!),
    })
  }
  return entries
}

/** The first four fields raw, then the rest of the line up to the next unescaped ':'. */
function splitFields(line: string): string[] | undefined {
  const fields: string[] = []
  let start = 0
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === '\\') {
      i++
    } else if (c === ':') {
      fields.push(line.slice(start, i))
      start = i + 1
      if (fields.length === 5) return fields
    }
  }
  if (fields.length < 4) return undefined
  fields.push(line.slice(start))
  return fields
}

function unescapeField(field: string): string {
  let out = ''
  for (let i = 0; i < field.length; i++) {
    if (field[i] === '\\') {
      i++
      if (i < field.length) out += field[i]
    } else {
      out += field[i]
    }
  }
  return out
}

function fieldMatches(field: string, value: string): boolean {
  return field === '*' || unescapeField(field) === value
}

/** The password of the first entry matching the target, if any. */
export function lookupPgpass(entries: readonly PgpassEntry[], t: PgpassTarget): string | undefined {
  for (const e of entries) {
    if (
      fieldMatches(e.host, t.host) &&
      fieldMatches(e.port, t.port) &&
      fieldMatches(e.database, t.database) &&
      fieldMatches(e.user, t.user)
    ) {
      return e.password
    }
  }
  return undefined
}

/** Escapes a value for a pgpass field. */
export function escapePgpassField(value: string): string {
  return value.replace(/[\\:]/g, (c) => '\\' + c)
}
