// An idle connection whose server went away (terminated backend, shutdown,
// network cut): the next query never reaches the wire, so it fails with a
// ConnectionError that is safe to retry and says why the connection ended,
// not with the InterfaceError a query after the caller's own close() gets.
import { describe, expect, it } from 'vitest'
import { connect, ConnectionError, DatabaseError, InterfaceError, Pool, type Connection } from '../../src/index.js'
import { startFakeServer } from '../support/fake-server.js'
import { connectAs, optionsFor, until } from './_util.js'

/** Terminates `victim`'s backend from a second connection and waits until the client noticed. */
async function terminate(victim: Connection): Promise<void> {
  const admin = await connectAs('superuser')
  try {
    const r = await admin.query<{ ok: boolean }>('select pg_terminate_backend($1) as ok', [victim.processId])
    expect(r.rows[0]!.ok).toBe(true)
  } finally {
    await admin.close()
  }
  await until('the client sees the connection closed', () => victim.closed)
}

describe('an idle connection whose server went away', () => {
  it('fails the next query with a retry-safe ConnectionError that says the server closed it and why', async () => {
    const victim = await connectAs('scram')
    const closes: unknown[] = []
    victim.on('close', (e) => closes.push(e))
    await terminate(victim)
    const err = await victim.query('select 1').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConnectionError)
    expect(err).not.toBeInstanceOf(InterfaceError)
    expect((err as ConnectionError).retrySafe).toBe(true)
    expect((err as Error).message).toBe('the server closed the connection: terminating connection due to administrator command (SQLSTATE 57P01)')
    expect((err as Error).cause).toBeInstanceOf(DatabaseError)
    expect(((err as Error).cause as DatabaseError).code).toBe('57P01')
    // Every entry point says the same, and says it again.
    await expect(victim.query('select 1')).rejects.toBeInstanceOf(ConnectionError)
    await expect(victim.transaction(async () => undefined)).rejects.toBeInstanceOf(ConnectionError)
    expect(closes).toHaveLength(1)
    expect(closes[0]).toBe((err as Error).cause)
    // close() afterwards is harmless; from then on, using the connection is the caller's mistake.
    await victim.close()
    await expect(victim.query('select 1')).rejects.toBeInstanceOf(InterfaceError)
  })

  it('still fails a query after the caller’s own close() with InterfaceError', async () => {
    const c = await connectAs('scram')
    await c.close()
    const err = await c.query('select 1').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InterfaceError)
    expect((err as Error).message).toBe('the connection is closed')
    const t = await connectAs('scram')
    t.terminate()
    await expect(t.query('select 1')).rejects.toBeInstanceOf(InterfaceError)
  })

  it('lets a pool lease holding it see a ConnectionError, and the pool replace it', async () => {
    const pool = new Pool(optionsFor('scram'), { max: 1 })
    try {
      const lease = await pool.acquire()
      await terminate(lease.connection)
      const err = await lease.query('select 1').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConnectionError)
      expect((err as ConnectionError).retrySafe).toBe(true)
      await lease.release()
      expect((await pool.query<{ n: number }>('select 2 as n')).rows[0]!.n).toBe(2)
    } finally {
      await pool.close()
    }
  })

  it('says the connection was lost when the server hung up without a word', async () => {
    const server = await startFakeServer(async (conn) => {
      await conn.handshake()
      conn.destroy()
    })
    try {
      const c = await connect({ host: '127.0.0.1', port: server.port, user: 'u', database: 'd', connectTimeout: 5000, tls: 'disable' })
      await until('the client sees the connection closed', () => c.closed)
      const err = await c.query('select 1').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConnectionError)
      expect((err as ConnectionError).retrySafe).toBe(true)
      expect((err as Error).message).toMatch(/^the connection was lost: /)
      expect((err as Error).cause).toBeInstanceOf(ConnectionError)
    } finally {
      await server.close()
    }
  })
})
