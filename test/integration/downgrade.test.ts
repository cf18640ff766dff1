// An older server (PostgreSQL 14) answers our request for protocol 3.2 with
// NegotiateProtocolVersion; the connection must carry on in 3.0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from '../../src/index.js'
import { startEmbedded, type ServerInfo } from '../support/embedded.js'

let server: { info: ServerInfo; stop(): Promise<void> }

beforeAll(async () => {
  server = await startEmbedded({ major: 14 })
}, 120_000)
afterAll(async () => {
  await server?.stop()
})

describe('PostgreSQL 14', () => {
  for (const role of ['scram', 'md5', 'password', 'trust'] as const) {
    it(`accepts the downgrade to protocol 3.0 (${role} auth) and runs queries`, async () => {
      const i = server.info
      const r = i.roles[role]
      const conn = await connect({ host: i.host, port: i.port, database: i.database, user: r.user, password: r.password, protocolVersion: '3.2', allowCleartextPassword: true })
      try {
        expect(conn.serverVersion).toMatch(/^14\./)
        expect(conn.protocolVersion).toBe('3.0')
        const res = await conn.query<{ n: number; u: string }>('select $1::int * 2 as n, current_user as u', [21])
        expect(res.rows[0]).toEqual({ n: 42, u: r.user })
        const [a, b] = await Promise.all([conn.query('select 1 as v'), conn.query('select 2 as v')])
        expect([a.rows[0]!.v, b.rows[0]!.v]).toEqual([1, 2])
      } finally {
        await conn.close()
      }
    })
  }
})
