// The multi-host loop without a server: `open` and `matches` are fakes that
// record what was tried. (test/unit/config/multi-host.test.ts drives the same
// rules through connect() and fake servers; test/integration/standby.test.ts
// against a real primary and standby.)
import { describe, expect, expectTypeOf, it, vi } from 'vitest'
import type { Connection } from '../../../src/client/connection.js'
import { connectToHosts, sessionMatches, type HostConnector, type SessionProbe } from '../../../src/client/connect-hosts.js'
import { resolveConfig, type ConnectOptions, type HostTarget, type ResolvedConfig, type TargetSessionAttrs } from '../../../src/config/config.js'
import { Secret } from '../../../src/config/secret.js'
import { createDatabaseError } from '../../../src/errors.js'
import { ConnectionError, DatabaseError, InterfaceError } from '../../../src/errors/base.js'
import { memorySystem } from '../config/_system.js'

function resolve(input: ConnectOptions): ResolvedConfig {
  return resolveConfig(input, {}, memorySystem())
}

function dbError(code: string, message: string): DatabaseError {
  return createDatabaseError({ severity: 'FATAL', code, message })
}

/** A fake connection: which host it reached, whether it was closed. */
class FakeConn {
  closed = false
  constructor(
    readonly config: ResolvedConfig,
    readonly kind: 'primary' | 'standby',
  ) {}
  close(): Promise<void> {
    this.closed = true
    return Promise.resolve()
  }
}

interface Script {
  /** host -> what opening it does: fail with this error, or reach this kind of server (default primary). */
  [host: string]: Error | 'primary' | 'standby'
}

/** A connector over a script; `tried` lists `host:port` per open, `asked` what matches was asked. */
function scripted(script: Script, extra: Partial<HostConnector<FakeConn>> = {}) {
  const tried: string[] = []
  const asked: string[] = []
  const opened: FakeConn[] = []
  const connector: HostConnector<FakeConn> = {
    open: async (one) => {
      tried.push(`${one.host}:${one.port}`)
      const step = script[one.hosts[0]!.host] ?? 'primary'
      if (step instanceof Error) throw step
      const conn = new FakeConn(one, step)
      opened.push(conn)
      return conn
    },
    matches: async (conn, want) => {
      asked.push(`${conn.config.hosts[0]!.host}:${want}`)
      if (want === 'any') return true
      return (want === 'standby' || want === 'read-only') === (conn.kind === 'standby')
    },
    ...extra,
  }
  return { connector, tried, asked, opened }
}

const refused = (host: string): ConnectionError => new ConnectionError(`connect ECONNREFUSED ${host}`, { retrySafe: true })

describe('connectToHosts: order and per-host config', () => {
  it('tries the hosts in the given order and returns the first that opens', async () => {
    const config = resolve({ host: 'a,b,c', port: '5432,5433,5434' })
    const { connector, tried } = scripted({ a: refused('a'), b: 'primary' })
    const conn = await connectToHosts(config, connector)
    expect(tried).toEqual(['a:5432', 'b:5433'])
    expect(conn.config.hosts[0]!.host).toBe('b')
  })

  it('opens each host with a config of its own: host (the hostaddr if any), port, password and a one-host list', async () => {
    const config = resolve({ host: 'a,b', hostaddr: '10.0.0.1,10.0.0.2', port: '5001,5002', password: 'pw' })
    const seen: ResolvedConfig[] = []
    const { connector } = scripted({ a: refused('a') })
    const open = connector.open
    await connectToHosts(config, {
      ...connector,
      open: (one) => {
        seen.push(one)
        return open(one)
      },
    })
    expect(seen.map((c) => [c.host, c.port, c.hosts])).toEqual([
      ['10.0.0.1', 5001, [config.hosts[0]]],
      ['10.0.0.2', 5002, [config.hosts[1]]],
    ])
    expect(seen[1]!.password).toBe(config.hosts[1]!.password)
    // Everything else is the config's own.
    const { host: _h, port: _p, password: _pw, hosts: _hs, ...rest } = seen[1]!
    const { host: _h2, port: _p2, password: _pw2, hosts: _hs2, ...restOfConfig } = config
    expect(rest).toStrictEqual(restOfConfig)
  })

  it('gives each host its own password-file password', async () => {
    const config = resolve({ host: 'a,b' })
    const secrets = { a: new Secret('pa'), b: new Secret('pb') }
    config.hosts[0]!.password = secrets.a
    config.hosts[1]!.password = secrets.b
    const { connector, opened } = scripted({ a: refused('a') })
    await connectToHosts(config, connector)
    expect(opened[0]!.config.password).toBe(secrets.b)
  })
})

describe('connectToHosts: load_balance_hosts', () => {
  it('calls the shuffle only for random, on a copy of the host list, and tries hosts in the shuffled order', async () => {
    const config = resolve({ host: 'a,b,c', loadBalanceHosts: 'random' })
    const shuffle = vi.fn((hosts: HostTarget[]) => {
      hosts.reverse()
    })
    const { connector, tried } = scripted({ c: refused('c'), b: refused('b') }, { shuffle })
    const conn = await connectToHosts(config, connector)
    expect(shuffle).toHaveBeenCalledTimes(1)
    expect(shuffle.mock.calls[0]![0]).not.toBe(config.hosts)
    expect(config.hosts.map((h) => h.host)).toEqual(['a', 'b', 'c'])
    expect(tried).toEqual(['c:5432', 'b:5432', 'a:5432'])
    expect(conn.config.host).toBe('a')
  })

  it('does not shuffle with disable (the default)', async () => {
    const shuffle = vi.fn()
    const { connector, tried } = scripted({ a: refused('a') }, { shuffle })
    await connectToHosts(resolve({ host: 'a,b,c' }), connector)
    expect(shuffle).not.toHaveBeenCalled()
    expect(tried).toEqual(['a:5432', 'b:5432'])
  })

  it('keeps the shuffled order for both prefer-standby passes', async () => {
    const config = resolve({ host: 'a,b', loadBalanceHosts: 'random', targetSessionAttrs: 'prefer-standby' })
    const shuffle = vi.fn((hosts: HostTarget[]) => {
      hosts.reverse()
    })
    const { connector, tried } = scripted({}, { shuffle })
    await connectToHosts(config, connector)
    expect(shuffle).toHaveBeenCalledTimes(1)
    expect(tried).toEqual(['b:5432', 'a:5432', 'b:5432'])
  })
})

describe('connectToHosts: target_session_attrs', () => {
  it('asks each opened host with the wanted attribute, closes those that do not match, keeps the one that does', async () => {
    const config = resolve({ host: 'a,b,c', targetSessionAttrs: 'standby' })
    const { connector, asked, opened } = scripted({ a: 'primary', b: refused('b'), c: 'standby' })
    const conn = await connectToHosts(config, connector)
    expect(asked).toEqual(['a:standby', 'c:standby'])
    expect(opened.map((c) => [c.config.host, c.closed])).toEqual([
      ['a', true],
      ['c', false],
    ])
    expect(conn).toBe(opened[1])
  })

  it('prefer-standby: a standby anywhere in the list wins over an earlier primary', async () => {
    const config = resolve({ host: 'a,b', targetSessionAttrs: 'prefer-standby' })
    const { connector, tried, asked } = scripted({ a: 'primary', b: 'standby' })
    const conn = await connectToHosts(config, connector)
    expect(tried).toEqual(['a:5432', 'b:5432'])
    expect(asked).toEqual(['a:standby', 'b:standby'])
    expect(conn.config.host).toBe('b')
  })

  it('prefer-standby: with no standby, a second pass takes the first host that opens', async () => {
    const config = resolve({ host: 'a,b,c', targetSessionAttrs: 'prefer-standby' })
    const { connector, tried, asked, opened } = scripted({ a: refused('a') })
    const conn = await connectToHosts(config, connector)
    expect(tried).toEqual(['a:5432', 'b:5432', 'c:5432', 'a:5432', 'b:5432'])
    expect(asked).toEqual(['b:standby', 'c:standby', 'b:any'])
    expect(opened.map((c) => c.closed)).toEqual([true, true, false])
    expect(conn).toBe(opened[2])
  })

  it('prefer-standby on a single primary: the second pass connects to it again', async () => {
    const { connector, tried } = scripted({ a: 'primary' })
    const conn = await connectToHosts(resolve({ host: 'a', targetSessionAttrs: 'prefer-standby' }), connector)
    expect(tried).toEqual(['a:5432', 'a:5432'])
    expect(conn.closed).toBe(false)
  })

  it('no match anywhere: a ConnectionError saying what each host was not', async () => {
    const config = resolve({ host: 'a,b', port: '1,2', targetSessionAttrs: 'read-write' })
    const { connector } = scripted({}, { matches: async () => false })
    const err = await connectToHosts(config, connector).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConnectionError)
    expect((err as ConnectionError).message).toBe('no host accepted the connection (a:1: not read-write; b:2: not read-write)')
    expect((err as ConnectionError).retrySafe).toBe(true)
    expect((err as ConnectionError).cause).toBeUndefined()
  })

  it('a single host that does not match: the combined error too, not a rethrow', async () => {
    const { connector, opened } = scripted({}, { matches: async () => false })
    const err = await connectToHosts(resolve({ host: 'a', targetSessionAttrs: 'primary' }), connector).catch((e: unknown) => e)
    expect((err as Error).message).toBe('no host accepted the connection (a:5432: not primary)')
    expect(opened[0]!.closed).toBe(true)
  })

  it('waits for a host that does not match to close before opening the next', async () => {
    const events: string[] = []
    const { connector } = scripted({ b: 'standby' })
    const open = connector.open
    connector.open = async (one) => {
      events.push(`open ${one.host}`)
      const conn = await open(one)
      conn.close = async () => {
        await new Promise((resolve) => setTimeout(resolve, 5))
        events.push(`closed ${one.host}`)
      }
      return conn
    }
    await connectToHosts(resolve({ host: 'a,b', targetSessionAttrs: 'standby' }), connector)
    expect(events).toEqual(['open a', 'closed a', 'open b'])
  })

  it('a close that fails does not stop the search', async () => {
    const { connector, opened } = scripted({ b: 'standby' })
    const open = connector.open
    connector.open = async (one) => {
      const conn = await open(one)
      if (one.host === 'a') conn.close = () => Promise.reject(new Error('close failed'))
      return conn
    }
    const conn = await connectToHosts(resolve({ host: 'a,b', targetSessionAttrs: 'standby' }), connector)
    expect(conn).toBe(opened[1])
  })
})

describe('connectToHosts: which errors move on', () => {
  it('a ConnectionError moves on to the next host', async () => {
    const { connector, tried } = scripted({ a: refused('a') })
    await connectToHosts(resolve({ host: 'a,b' }), connector)
    expect(tried).toEqual(['a:5432', 'b:5432'])
  })

  it('57P03 (cannot connect now) moves on to the next host', async () => {
    const { connector, tried } = scripted({ a: dbError('57P03', 'the database system is starting up') })
    const conn = await connectToHosts(resolve({ host: 'a,b' }), connector)
    expect(tried).toEqual(['a:5432', 'b:5432'])
    expect(conn.config.host).toBe('b')
  })

  it('any other DatabaseError (a refused login) stops at once and is thrown as it is', async () => {
    const denied = dbError('28P01', 'password authentication failed for user "u"')
    const { connector, tried } = scripted({ a: refused('a'), b: denied })
    const err = await connectToHosts(resolve({ host: 'a,b,c' }), connector).catch((e: unknown) => e)
    expect(err).toBe(denied)
    expect(tried).toEqual(['a:5432', 'b:5432'])
  })

  it('an error that is no ConnectionError nor DatabaseError (a mistake in the options) stops at once', async () => {
    const mistake = new InterfaceError('cancelGrace must be a non-negative number of milliseconds, got -1')
    const { connector, tried } = scripted({ a: mistake })
    await expect(connectToHosts(resolve({ host: 'a,b' }), connector)).rejects.toBe(mistake)
    expect(tried).toEqual(['a:5432'])
  })

  it('with a single host, its own error is thrown as it is, even one that would move on', async () => {
    const err = refused('a')
    const { connector } = scripted({ a: err })
    await expect(connectToHosts(resolve({ host: 'a' }), connector)).rejects.toBe(err)
    const starting = dbError('57P03', 'the database system is starting up')
    await expect(connectToHosts(resolve({ host: 'a', targetSessionAttrs: 'prefer-standby' }), scripted({ a: starting }).connector)).rejects.toBe(starting)
  })

  it('when every host fails: one ConnectionError listing each, with the last error as its cause', async () => {
    const last = dbError('57P03', 'the database system is shutting down')
    const { connector } = scripted({ a: refused('a'), b: last })
    const err = await connectToHosts(resolve({ host: 'a,b', port: '1,2' }), connector).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConnectionError)
    expect((err as ConnectionError).message).toBe(
      'no host accepted the connection (a:1: connect ECONNREFUSED a; b:2: the database system is shutting down)',
    )
    expect((err as ConnectionError).retrySafe).toBe(true)
    expect((err as ConnectionError).cause).toBe(last)
  })

  it('prefer-standby lists the failures of both passes', async () => {
    const { connector } = scripted({ a: refused('a'), b: refused('b') })
    const err = await connectToHosts(resolve({ host: 'a,b', targetSessionAttrs: 'prefer-standby' }), connector).catch((e: unknown) => e)
    expect((err as Error).message).toBe(
      'no host accepted the connection (a:5432: connect ECONNREFUSED a; b:5432: connect ECONNREFUSED b; a:5432: connect ECONNREFUSED a; b:5432: connect ECONNREFUSED b)',
    )
  })

  it('names a unix-socket host by its socket path in the combined message', async () => {
    const { connector } = scripted({ '/run/a': refused('a'), '/run/b': refused('b') })
    const err = await connectToHosts(resolve({ host: '/run/a,/run/b' }), connector).catch((e: unknown) => e)
    expect((err as Error).message).toBe(
      'no host accepted the connection (/run/a/.s.PGSQL.5432: connect ECONNREFUSED a; /run/b/.s.PGSQL.5432: connect ECONNREFUSED b)',
    )
  })

  it('an error from matches is not caught', async () => {
    const boom = new ConnectionError('lost during the check', { retrySafe: false })
    const { connector, tried } = scripted({}, { matches: () => Promise.reject(boom) })
    await expect(connectToHosts(resolve({ host: 'a,b', targetSessionAttrs: 'read-write' }), connector)).rejects.toBe(boom)
    expect(tried).toEqual(['a:5432'])
  })
})

describe('sessionMatches', () => {
  /** A connection whose server reports these settings; records the SQL asked. */
  function probe(readOnly: 'on' | 'off', inRecovery: boolean) {
    const asked: { sql: string; params: readonly unknown[]; options: { prepare: boolean } }[] = []
    const conn: SessionProbe = {
      query: async <R>(sql: string, params: readonly unknown[], options: { prepare: boolean }) => {
        asked.push({ sql, params, options })
        const row = sql.includes('transaction_read_only') ? { ro: readOnly } : { r: inRecovery }
        return { rows: [row as R] }
      },
    }
    return { conn, asked }
  }

  const cases: [TargetSessionAttrs, 'on' | 'off', boolean, boolean][] = [
    ['read-write', 'off', false, true],
    ['read-write', 'on', false, false],
    ['read-only', 'on', true, true],
    ['read-only', 'off', false, false],
    ['primary', 'on', false, true],
    ['primary', 'off', true, false],
    ['standby', 'on', true, true],
    ['standby', 'off', false, false],
    ['prefer-standby', 'on', true, true],
    ['prefer-standby', 'off', false, false],
  ]
  it.each(cases)('%s on a server with transaction_read_only=%s, in recovery %s: %s', async (want, ro, recovery, expected) => {
    expect(await sessionMatches(probe(ro, recovery).conn, want)).toBe(expected)
  })

  it('any asks the server nothing', async () => {
    const { conn, asked } = probe('on', true)
    expect(await sessionMatches(conn, 'any')).toBe(true)
    expect(asked).toEqual([])
  })

  it('asks with one unprepared query: read-write/read-only by transaction_read_only, the rest by pg_is_in_recovery()', async () => {
    const rw = probe('off', false)
    await sessionMatches(rw.conn, 'read-write')
    expect(rw.asked).toEqual([{ sql: "select current_setting('transaction_read_only') as ro", params: [], options: { prepare: false } }])
    const sb = probe('off', false)
    await sessionMatches(sb.conn, 'standby')
    expect(sb.asked).toEqual([{ sql: 'select pg_is_in_recovery() as r', params: [], options: { prepare: false } }])
  })

  it('takes a Connection (structural type)', () => {
    expectTypeOf<Connection>().toExtend<SessionProbe>()
  })
})
