// pgline/prisma's error mapping and the factory's printed form, without a server.
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { ConnectionError } from '../../../src/errors/base.js'
import { createDatabaseError } from '../../../src/errors.js'
import { PoolTimeout } from '../../../src/pool/errors.js'
import { mapError, PrismaPgline } from '../../../src/prisma/index.js'

describe('mapError', () => {
  it("a server error: Prisma's kind, with the SQLSTATE and message it builds its own errors from", () => {
    const e = createDatabaseError({ severity: 'ERROR', code: '23505', message: 'duplicate key value violates unique constraint "t_pkey"', detail: 'Key (id)=(1) already exists.', constraint: 't_pkey', table: 't' })
    expect(mapError(e)).toEqual({ kind: 'UniqueConstraintViolation', constraint: { index: 't_pkey' }, table: 't', originalCode: '23505', originalMessage: e.message })
    const other = createDatabaseError({ severity: 'ERROR', code: '42601', message: 'syntax error at or near "selec"' })
    expect(mapError(other)).toMatchObject({ kind: 'postgres', code: '42601', originalCode: '42601' })
  })

  it('28000 names the database, not the host', () => {
    const e = createDatabaseError({ severity: 'FATAL', code: '28000', message: 'no pg_hba.conf entry for host "10.1.2.3", user "bob", database "shop", no encryption' })
    expect(mapError(e)).toMatchObject({ kind: 'DatabaseAccessDenied', db: 'shop' })
  })

  it('a pool that could not connect: the refused connect decides', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', syscall: 'connect' })
    const timeout = new PoolTimeout('timed out waiting for a connection', 3000, { cause: new ConnectionError('cannot connect to 127.0.0.1:1', { retrySafe: true, cause: refused }) })
    expect(mapError(timeout)).toEqual({ kind: 'DatabaseNotReachable' })
  })
})

describe('PrismaPgline', () => {
  it('printed or serialised, shows no password', () => {
    const url = 'postgres://bob:s3cret-pw@127.0.0.1:5432/shop'
    const f = new PrismaPgline(url)
    const g = new PrismaPgline({ host: '127.0.0.1', user: 'bob', password: 's3cret-pw' })
    for (const x of [f, g]) {
      expect(JSON.stringify(x)).not.toContain('s3cret-pw')
      expect(inspect(x, { depth: 10 })).not.toContain('s3cret-pw')
    }
  })
})
