// Shared by every server flavour we create ourselves (embedded 18/14, container):
// the pg_hba.conf that makes each auth method real, and the database/roles the
// tests log in with. Passwords are random per run and only ever live in memory.
import { randomBytes } from 'node:crypto'
import { withPg, type PgConfig } from './pg.js'
import type { RoleInfo, ServerInfo } from './embedded.js'

export const TEST_DATABASE = 'pgline_test'

/**
 * One role per auth method. Order matters: pg_hba.conf is first-match, so the
 * per-role lines precede the catch-all scram line. `v4`/`v6` are the client
 * networks (loopback for embedded servers, anything for a container, whose
 * clients arrive through the docker bridge).
 */
export function hbaConf(v4 = '127.0.0.1/32', v6 = '::1/128'): string {
  return [
    '# written by pgline test support: one role per auth method',
    'local all all trust',
    `host all pgline_trust ${v4} trust`,
    `host all pgline_password ${v4} password`,
    `host all pgline_md5 ${v4} md5`,
    `host all all ${v4} scram-sha-256`,
    `host all all ${v6} scram-sha-256`,
    '',
  ].join('\n')
}

export function randomPassword(): string {
  return randomBytes(18).toString('hex')
}

/**
 * Creates pgline_test and the four login roles as `superuser`, and returns the
 * role credentials. The md5 role's password is stored as an MD5 hash (otherwise
 * an `md5` hba line silently upgrades to SCRAM); PG 18 emits a deprecation
 * WARNING for that, which is forwarded to `log` like any other notice.
 */
export async function provision(
  superuser: PgConfig,
  log: (line: string) => void,
): Promise<ServerInfo['roles']> {
  const roles = {
    trust: { user: 'pgline_trust' } as RoleInfo,
    password: { user: 'pgline_password', password: randomPassword() },
    md5: { user: 'pgline_md5', password: randomPassword() },
    scram: { user: 'pgline_scram', password: randomPassword() },
  }
  await withPg({ ...superuser, database: 'postgres' }, async (c) => {
    c.on('notice', (n) => log(`provision: ${n.severity ?? 'NOTICE'}: ${n.message}`))
    await c.query(`create database ${TEST_DATABASE}`)
    await c.query(`create role pgline_trust login`)
    await c.query(`set password_encryption = 'scram-sha-256'`)
    for (const r of [roles.password, roles.scram]) {
      await c.query(`create role ${r.user} login password ${c.escapeLiteral(r.password)}`)
    }
    await c.query(`set password_encryption = 'md5'`)
    await c.query(`create role ${roles.md5.user} login password ${c.escapeLiteral(roles.md5.password)}`)
    const all = Object.values(roles).map((r) => r.user).join(', ')
    await c.query(`grant all on database ${TEST_DATABASE} to ${all}`)
  })
  // PG 15+ no longer lets PUBLIC create in schema public; the tests need to.
  await withPg({ ...superuser, database: TEST_DATABASE }, (c) =>
    c.query('grant all on schema public to public'),
  )
  return roles
}

/** Server major version, e.g. 18 (from server_version_num 180004). */
export async function serverMajor(config: PgConfig): Promise<number> {
  return withPg(config, async (c) => {
    const { rows } = await c.query('show server_version_num')
    return Math.floor(Number(rows[0]?.['server_version_num']) / 10000)
  })
}
