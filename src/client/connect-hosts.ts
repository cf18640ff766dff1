// Multi-host connecting (libpq's host lists): try each host in turn, in the
// given order or shuffled (load_balance_hosts=random), until one accepts and
// is the kind of server target_session_attrs asks for. prefer-standby makes
// two passes: a standby if any host is one, else the first that accepts.
// Opening a connection and asking the server what it is are parameters, so
// the loop is tested without a server.

import { shuffleHosts, type HostTarget, type ResolvedConfig, type TargetSessionAttrs } from '../config/config.js'
import { ConnectionError, DatabaseError } from '../errors/base.js'
import { describeTarget } from '../transport/socket.js'

export interface HostConnector<C extends { close(): Promise<void> }> {
  /** Opens a connection to the one host of `one` and waits until it is ready for queries. */
  open(one: ResolvedConfig): Promise<C>
  /** Whether the server `conn` reached is what `want` asks for (sessionMatches). NoInfer: C comes from `open`. */
  matches(conn: NoInfer<C>, want: TargetSessionAttrs): Promise<boolean>
  /** Reorders the hosts in place for load_balance_hosts=random; shuffleHosts unless a test replaces it. */
  shuffle?: (hosts: HostTarget[]) => void
}

/**
 * Connects to the first host of `config.hosts` that accepts and matches
 * target_session_attrs. A connection-level failure (ConnectionError) or the
 * server's 57P03 "cannot connect now" moves on to the next host; any other
 * error (a refused login, a mistake in the options) is the answer and is
 * thrown at once. With a single host its own error is thrown as it is;
 * otherwise a ConnectionError lists what each host said.
 */
export async function connectToHosts<C extends { close(): Promise<void> }>(config: ResolvedConfig, connector: HostConnector<C>): Promise<C> {
  const hosts = [...config.hosts]
  if (config.loadBalanceHosts === 'random') (connector.shuffle ?? shuffleHosts)(hosts)
  // prefer-standby: a standby if there is one, else anything.
  const passes: TargetSessionAttrs[] = config.targetSessionAttrs === 'prefer-standby' ? ['standby', 'any'] : [config.targetSessionAttrs]
  const failures: string[] = []
  let last: unknown
  for (const want of passes) {
    for (const h of hosts) {
      const one: ResolvedConfig = { ...config, host: h.hostaddr ?? h.host, port: h.port, password: h.password, hosts: [h] }
      let conn: C
      try {
        conn = await connector.open(one)
      } catch (err) {
        last = err
        failures.push(`${describeTarget(one)}: ${(err as Error).message}`)
        // Only connection-level failures move on, and (as libpq) 57P03 "cannot connect now":
        // starting up, shutting down, not yet accepting connections. A refused login is the answer.
        const movesOn = err instanceof ConnectionError || (err instanceof DatabaseError && err.code === '57P03')
        if (!movesOn || hosts.length === 1) throw err
        continue
      }
      if (await connector.matches(conn, want)) return conn
      failures.push(`${describeTarget(one)}: not ${want}`)
      await conn.close().catch(() => undefined)
    }
  }
  if (hosts.length === 1 && passes.length === 1 && last !== undefined) throw last
  throw new ConnectionError(`no host accepted the connection (${failures.join('; ')})`, { retrySafe: true, cause: last })
}

/** What sessionMatches needs of a connection: one unprepared query. */
export interface SessionProbe {
  query<R>(sql: string, params: readonly unknown[], options: { prepare: boolean }): Promise<{ rows: R[] }>
}

/** target_session_attrs: whether this server is what the caller asked for. */
export async function sessionMatches(conn: SessionProbe, want: TargetSessionAttrs): Promise<boolean> {
  if (want === 'any') return true
  if (want === 'read-write' || want === 'read-only') {
    const ro = (await conn.query<{ ro: string }>("select current_setting('transaction_read_only') as ro", [], { prepare: false })).rows[0]!.ro
    return (ro === 'on') === (want === 'read-only')
  }
  const recovery = (await conn.query<{ r: boolean }>('select pg_is_in_recovery() as r', [], { prepare: false })).rows[0]!.r
  return recovery === (want === 'standby' || want === 'prefer-standby')
}
