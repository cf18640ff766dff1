// min_protocol_version against real servers (issue 7): PostgreSQL 18 speaks
// protocol 3.2, so a minimum of 3.2 connects; PostgreSQL 14 answers with
// NegotiateProtocolVersion 3.0, which a minimum of 3.2 must refuse.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, ConnectionError } from '../../src/index.js'
import { startEmbedded, type ServerInfo } from '../support/embedded.js'
import { connectAs } from './_util.js'

describe('min_protocol_version against PostgreSQL 18', () => {
  it('connects in protocol 3.2 with min_protocol_version=3.2 (and latest)', async () => {
    for (const min of ['3.2', 'latest'] as const) {
      const c = await connectAs('scram', { minProtocolVersion: min })
      try {
        expect(c.protocolVersion).toBe('3.2')
        expect((await c.query<{ n: number }>('select 1 as n')).rows[0]!.n).toBe(1)
      } finally {
        await c.close()
      }
    }
  })
})

describe('min_protocol_version against PostgreSQL 14', () => {
  let server: { info: ServerInfo; stop(): Promise<void> } | undefined
  beforeAll(async () => {
    server = await startEmbedded({ major: 14 })
  }, 120_000)
  afterAll(async () => {
    await server?.stop()
  })

  const conninfo = (extra: string): string => {
    const i = server!.info
    const r = i.roles.scram
    return `host=${i.host} port=${i.port} dbname=${i.database} user=${r.user} password=${r.password} ${extra}`
  }

  it('refuses the downgrade to 3.0 with a clear ConnectionError naming both versions', async () => {
    const err = await connect(conninfo('min_protocol_version=3.2')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConnectionError)
    expect((err as Error).message).toBe('the server only supports protocol version 3.0, but min_protocol_version is 3.2')
  })

  it('accepts it with the default minimum (3.0)', async () => {
    const c = await connect(conninfo('min_protocol_version=3.0'))
    expect(c.protocolVersion).toBe('3.0')
    await c.close()
  })
})
