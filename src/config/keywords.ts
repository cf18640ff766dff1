// The libpq connection keywords pgline understands, the PG* environment
// variable that supplies each one when nothing else does, and the helpers that
// produce errors naming a keyword (and never a secret value).

import { InterfaceError } from '../errors/base.js'

/** Every keyword accepted in a connection string, a URI query or a service file. */
export const KEYWORDS = [
  'host',
  'hostaddr',
  'port',
  'dbname',
  'user',
  'password',
  'passfile',
  'require_auth',
  'channel_binding',
  'connect_timeout',
  'client_encoding',
  'options',
  'application_name',
  'fallback_application_name',
  'keepalives',
  'keepalives_idle',
  'keepalives_interval',
  'keepalives_count',
  'tcp_user_timeout',
  'replication',
  'gssencmode',
  'sslmode',
  'sslnegotiation',
  'sslcompression',
  'sslcert',
  'sslkey',
  'sslpassword',
  'sslcertmode',
  'sslrootcert',
  'sslcrl',
  'sslcrldir',
  'sslsni',
  'requirepeer',
  'ssl_min_protocol_version',
  'ssl_max_protocol_version',
  'krbsrvname',
  'gsslib',
  'service',
  'target_session_attrs',
  'load_balance_hosts',
  'min_protocol_version',
  'max_protocol_version',
] as const

export type Keyword = (typeof KEYWORDS)[number]

const KEYWORD_SET: ReadonlySet<string> = new Set(KEYWORDS)

export function isKeyword(name: string): name is Keyword {
  return KEYWORD_SET.has(name)
}

/** The environment variable read for a keyword that no higher layer set. */
export const ENV_VARS: Partial<Record<Keyword, string>> = {
  host: 'PGHOST',
  hostaddr: 'PGHOSTADDR',
  port: 'PGPORT',
  dbname: 'PGDATABASE',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  passfile: 'PGPASSFILE',
  require_auth: 'PGREQUIREAUTH',
  channel_binding: 'PGCHANNELBINDING',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  client_encoding: 'PGCLIENTENCODING',
  options: 'PGOPTIONS',
  application_name: 'PGAPPNAME',
  gssencmode: 'PGGSSENCMODE',
  sslmode: 'PGSSLMODE',
  sslnegotiation: 'PGSSLNEGOTIATION',
  sslcompression: 'PGSSLCOMPRESSION',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcertmode: 'PGSSLCERTMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcrl: 'PGSSLCRL',
  sslcrldir: 'PGSSLCRLDIR',
  sslsni: 'PGSSLSNI',
  requirepeer: 'PGREQUIREPEER',
  ssl_min_protocol_version: 'PGSSLMINPROTOCOLVERSION',
  ssl_max_protocol_version: 'PGSSLMAXPROTOCOLVERSION',
  krbsrvname: 'PGKRBSRVNAME',
  gsslib: 'PGGSSLIB',
  service: 'PGSERVICE',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
  load_balance_hosts: 'PGLOADBALANCEHOSTS',
  min_protocol_version: 'PGMINPROTOCOLVERSION',
  max_protocol_version: 'PGMAXPROTOCOLVERSION',
}

/** Keywords whose values are never repeated in a message. */
export const SECRET_KEYWORDS: ReadonlySet<string> = new Set(['password', 'sslpassword'])

/**
 * The error for a keyword nobody knows, with a suggestion when one is close.
 * `redactHint` is given when the word may be the tail of a password: then the
 * word is not repeated and the hint says how to write such a password.
 */
export function unknownKeyword(name: string, where: string, redactHint?: string): InterfaceError {
  if (redactHint !== undefined) {
    return new InterfaceError(
      `unknown connection parameter after the password in ${where} (${redactHint}); known parameters: ${KEYWORDS.join(', ')}`,
    )
  }
  const close = closest(name)
  const hint = close === undefined ? '' : ` (did you mean "${close}"?)`
  return new InterfaceError(`unknown connection parameter "${name}" in ${where}${hint}; known parameters: ${KEYWORDS.join(', ')}`)
}

function closest(name: string): string | undefined {
  let best: string | undefined
  let bestDistance = 3
  for (const k of KEYWORDS) {
    const d = editDistance(name.toLowerCase(), k)
    if (d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  return best
}

/** Levenshtein distance: how many single-character edits turn a into b. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = up
    }
  }
  return row[b.length]!
}
