// Opens pgline connections to the test server as one of its roles.
import { connect, type Connection, type ConnectionOptions } from '../../src/index.js'
import { testServer } from '../support/env.js'

export type Role = 'superuser' | 'trust' | 'password' | 'md5' | 'scram'

export function optionsFor(role: Role = 'scram', extra: ConnectionOptions = {}): ConnectionOptions {
  const s = testServer()
  const r = role === 'superuser' ? s.superuser : s.roles[role]
  // The 'password' role is the one that sends a cleartext password: allowed here on loopback on purpose.
  const cleartext = role === 'password' ? { allowCleartextPassword: true } : {}
  return { host: s.host, port: s.port, database: s.database, user: r.user, password: r.password, ...cleartext, ...extra }
}

export function connectAs(role: Role = 'scram', extra: ConnectionOptions = {}): Promise<Connection> {
  return connect(optionsFor(role, extra))
}

/** A table name unique to this test run, so tests in parallel files don't collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
}
