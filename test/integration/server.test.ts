// Proves the test-server fixture itself, using the independent `pg` package:
// every role logs in with the auth method its pg_hba.conf line promises, the
// unix socket works, and a PG 14 server can be started and fully cleaned up.
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { startEmbedded } from '../support/embedded.js'
import { testServer } from '../support/env.js'
import { queryOne, withPg, type PgConfig } from '../support/pg.js'

const info = testServer()
const tcp = (role: { user: string; password?: string }): PgConfig => ({
  host: info.host, port: info.port, database: info.database, user: role.user, password: role.password,
})
// Distinct roles exist unless PGLINE_TEST_URL supplied a single user.
const provisioned = info.roles.trust.user !== info.roles.scram.user

describe('test server fixture', () => {
  // system_user (PG 16+) reports "method:identity" and is NULL for trust.
  const expected = { trust: null, password: 'password', md5: 'md5', scram: 'scram-sha-256' } as const
  for (const kind of ['trust', 'password', 'md5', 'scram'] as const) {
    it(`${kind} role logs in over TCP`, async () => {
      const role = info.roles[kind]
      expect(await queryOne(tcp(role), 'select current_user')).toBe(role.user)
      if (provisioned && info.major >= 16) {
        const method = expected[kind]
        expect(await queryOne(tcp(role), 'select system_user')).toBe(method && `${method}:${role.user}`)
      }
    })
  }

  it.skipIf(!provisioned)('password-protected roles reject a wrong password', async () => {
    for (const kind of ['password', 'md5', 'scram'] as const) {
      const role = { user: info.roles[kind].user, password: 'wrong' }
      await expect(queryOne(tcp(role), 'select 1')).rejects.toThrow(/password authentication failed/)
    }
  })

  it('superuser logs in over TCP with scram', async () => {
    expect(await queryOne(tcp(info.superuser), 'select current_user')).toBe(info.superuser.user)
  })

  it.skipIf(!info.socketDir)('superuser logs in over the unix socket', async () => {
    const cfg = { ...tcp(info.superuser), host: info.socketDir, password: undefined }
    expect(await queryOne(cfg, 'select current_user')).toBe(info.superuser.user)
    expect(await queryOne(cfg, `select rolsuper from pg_roles where rolname = current_user`)).toBe(true)
  })

  it('test roles can create tables in the test database', async () => {
    const table = `fixture_${process.pid}`
    await withPg(tcp(info.roles.scram), async (c) => {
      await c.query(`create table ${table} (x int)`)
      await c.query(`drop table ${table}`)
    })
  })
})

describe('embedded PostgreSQL 14', () => {
  it('starts, reports major 14, pins to a CPU, and leaves nothing behind', async () => {
    const srv = await startEmbedded({ major: 14, cpu: 0 })
    const { info: i14 } = srv
    try {
      expect(i14.major).toBe(14)
      const cfg = { host: i14.host, port: i14.port, database: i14.database }
      for (const kind of ['trust', 'password', 'md5', 'scram'] as const) {
        expect(await queryOne({ ...cfg, ...i14.roles[kind] }, 'select current_user')).toBe(i14.roles[kind].user)
      }
      if (existsSync('/usr/bin/taskset') || existsSync('/bin/taskset')) {
        // Backends forked after pinning inherit the postmaster's affinity.
        const pm = Number(readFileSync(path.join(i14.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
        await withPg({ ...cfg, ...i14.roles.scram }, async (c) => {
          const { rows } = await c.query('select pg_backend_pid() as pid')
          for (const pid of [pm, Number(rows[0]?.['pid'])]) {
            expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/Cpus_allowed_list:\s*0\n/)
          }
        })
      }
    } finally {
      await srv.stop()
    }
    expect(existsSync(i14.dataDir)).toBe(false)
    expect(existsSync(i14.socketDir)).toBe(false)
  }, 120_000)
})
