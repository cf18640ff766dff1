// The option names each entry point takes, so that a misspelt or foreign key
// (node-postgres' `ssl`, `db`) is refused instead of silently ignored: an
// ignored `ssl: true` connects with TLS unverified, an ignored `db` to
// another database. One list per options interface, each checked against
// it (`satisfies Record<keyof ..., true>`), so an option added to an
// interface but not here fails type-checking. The interfaces of the higher
// layers are imported as types only: erased, so config/ still loads nothing
// from client/, pool/ or sync/ at run time.

import type { ConnectionOptions } from '../client/connection.js'
import { InterfaceError } from '../errors/base.js'
import type { PoolOptions } from '../pool/pool.js'
import type { SyncConnectionOptions } from '../sync/index.js'
import type { ConnectOptions } from './config.js'
import { editDistance } from './keywords.js'

const CONNECT_KEYS = {
  host: true,
  hostaddr: true,
  port: true,
  user: true,
  password: true,
  database: true,
  passfile: true,
  service: true,
  requireAuth: true,
  channelBinding: true,
  applicationName: true,
  fallbackApplicationName: true,
  options: true,
  clientEncoding: true,
  connectTimeout: true,
  keepAlive: true,
  keepAliveInitialDelay: true,
  keepAliveInterval: true,
  keepAliveCount: true,
  tcpUserTimeout: true,
  gssEncMode: true,
  sslMode: true,
  sslNegotiation: true,
  sslCert: true,
  sslKey: true,
  sslPassword: true,
  sslCertMode: true,
  sslRootCert: true,
  sslCrl: true,
  sslCrlDir: true,
  sslSni: true,
  requirePeer: true,
  sslMinProtocolVersion: true,
  sslMaxProtocolVersion: true,
  krbSrvName: true,
  gssLib: true,
  targetSessionAttrs: true,
  loadBalanceHosts: true,
  protocolVersion: true,
  minProtocolVersion: true,
  parameters: true,
  replication: true,
  maxMessageSize: true,
  types: true,
  onNotice: true,
} as const satisfies Record<keyof ConnectOptions, true>

const CONNECTION_KEYS = {
  ...CONNECT_KEYS,
  prepare: true,
  resultFormat: true,
  pooler: true,
  statementCacheSize: true,
  queryTimeout: true,
  cancelGrace: true,
  statementTimeout: true,
  maxInFlight: true,
  tls: true,
  allowCleartextPassword: true,
  typeOptions: true,
  debug: true,
  slowQueryMs: true,
  log: true,
  printNotices: true,
  maxRows: true,
  maxResultBytes: true,
} as const satisfies Record<keyof ConnectionOptions, true>

const POOL_KEYS = {
  min: true,
  max: true,
  acquireTimeout: true,
  maxWaiting: true,
  maxLifetime: true,
  maxIdle: true,
  leakTimeout: true,
  connectTimeout: true,
  releaseTimeout: true,
  backoff: true,
  check: true,
  configure: true,
  reset: true,
  onError: true,
  allowExitOnIdle: true,
  multiplexing: true,
  multiplexingDepth: true,
  replicas: true,
} as const satisfies Record<keyof PoolOptions, true>

// `types` is known here so that connectSync()'s own refusal (a type map
// cannot cross to the worker thread) is the one that speaks.
const SYNC_KEYS = {
  ...CONNECTION_KEYS,
  replyGrace: true,
  workerStallTimeout: true,
} as const satisfies Record<keyof SyncConnectionOptions | 'types', true>

/** Which options object is being checked: connect()'s (also Pool's first argument), Pool's second, connectSync()'s. */
export type OptionsKind = 'connection' | 'pool' | 'sync'

const KNOWN: Record<OptionsKind, ReadonlySet<string>> = {
  connection: new Set(Object.keys(CONNECTION_KEYS)),
  pool: new Set(Object.keys(POOL_KEYS)),
  sync: new Set(Object.keys(SYNC_KEYS)),
}

const POOL_SECOND_ARGUMENT = 'new Pool(connectionOptions, poolOptions)'

/**
 * Keys from other drivers' habits (node-postgres mostly) whose pgline name
 * neither spelling distance nor snake_case folding finds, or finds with a
 * catch. A list of names is offered as "did you mean"; a string is said as
 * it stands.
 */
const SHARED_HABITS: Readonly<Record<string, readonly string[] | string>> = {
  ssl: ['sslMode', 'tls'],
  db: ['database'],
  dbname: ['database'],
  username: ['user'],
  hostname: ['host'],
  connectionString: 'pass the connection string itself as the first argument: connect(url, options), new Pool(url, poolOptions)',
  connectionTimeoutMillis: ['connectTimeout'],
  keepAliveInitialDelayMillis: ['keepAliveInitialDelay'],
  connect_timeout: "use 'connectTimeout', in milliseconds (not libpq's seconds)",
  keepalives_idle: "use 'keepAliveInitialDelay', in milliseconds (not libpq's seconds)",
  binary: "use resultFormat: 'binary'",
  lock_timeout: "a server setting: pass it in parameters, e.g. { parameters: { lock_timeout: '5s' } }",
  idle_in_transaction_session_timeout: "a server setting: pass it in parameters, e.g. { parameters: { idle_in_transaction_session_timeout: '60s' } }",
}

const HABITS: Record<OptionsKind, Readonly<Record<string, readonly string[] | string>>> = {
  connection: {
    ...SHARED_HABITS,
    idleTimeoutMillis: `a pool option: use 'maxIdle', in the second argument of ${POOL_SECOND_ARGUMENT}`,
  },
  pool: {
    idleTimeoutMillis: ['maxIdle'],
    connectionTimeoutMillis: ['acquireTimeout', 'connectTimeout'],
    maxLifetimeSeconds: "use 'maxLifetime', in milliseconds",
    connectionString: `the connection string is the first argument of ${POOL_SECOND_ARGUMENT}`,
  },
  sync: {
    ...SHARED_HABITS,
    connectionString: 'pass the connection string itself as the first argument: connectSync(url, options)',
  },
}

/**
 * Throws an InterfaceError for the first key of `options` that `kind` does
 * not know, with the nearest known name. Keys whose value is undefined pass
 * (spreading optional settings must not fail).
 */
export function checkOptionKeys(options: object, kind: OptionsKind): void {
  const known = KNOWN[kind]
  for (const key of Object.keys(options)) {
    if (known.has(key) || (options as Record<string, unknown>)[key] === undefined) continue
    throw new InterfaceError(unknownOptionMessage(key, kind))
  }
}

export function unknownOptionMessage(key: string, kind: OptionsKind): string {
  const head = `unknown ${kind === 'pool' ? 'pool option' : 'option'} '${key}'`
  const habit = Object.hasOwn(HABITS[kind], key) ? HABITS[kind][key] : undefined
  if (typeof habit === 'string') return `${head}: ${habit}`
  if (habit !== undefined) return `${head} (did you mean ${habit.map((k) => `'${k}'`).join(' or ')}?)`
  // Valid, but in the other argument of new Pool().
  if (kind === 'connection' && KNOWN.pool.has(key)) return `${head}: '${key}' is a pool option; pass it in the second argument of ${POOL_SECOND_ARGUMENT}`
  if (kind === 'pool' && KNOWN.connection.has(key)) return `${head}: '${key}' is a connection option; pass it in the first argument of ${POOL_SECOND_ARGUMENT}`
  const near = nearest(key, KNOWN[kind])
  return near === undefined ? head : `${head} (did you mean '${near}'?)`
}

/** Case, '_' and '-' ignored: libpq's and node-postgres' snake_case names find their camelCase twins. */
function fold(s: string): string {
  return s.toLowerCase().replace(/[_-]/g, '')
}

/** The known name closest in edit distance, if close enough to be a likely slip (a third of the length, at least 2). */
function nearest(key: string, known: ReadonlySet<string>): string | undefined {
  const k = fold(key)
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(k.length / 3)) + 1
  for (const name of known) {
    const d = editDistance(k, fold(name))
    if (d < bestDistance) {
      best = name
      bestDistance = d
    }
  }
  return best
}
