// The password file, from the libpq documentation ("The Password File"):
// hostname:port:database:username:password lines, '*' wildcards, '\:' and
// '\\' escapes, the first match wins, used only without a given password,
// refused when group or world can read it.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveConfig, type ConnectOptions } from '../../../src/config/config.js'
import { escapePgpassField, lookupPgpass, parsePgpass } from '../../../src/config/pgpass.js'
import { nodeSystem } from '../../../src/config/system.js'
import { memorySystem, type MemoryFile } from './_system.js'

const target = { host: 'db.example', port: '5432', database: 'app', user: 'alice' }

describe('parsing and matching', () => {
  it('matches literal fields and * wildcards, first matching line wins', () => {
    const entries = parsePgpass(['other:5432:app:alice:no', 'db.example:*:app:alice:yes', '*:*:*:*:fallback'].join('\n'))
    expect(lookupPgpass(entries, target)).toBe('yes')
    expect(lookupPgpass(entries, { ...target, host: 'elsewhere' })).toBe('fallback')
    expect(lookupPgpass(parsePgpass('db.example:5433:app:alice:no'), target)).toBeUndefined()
  })

  it('reads \\: and \\\\ in every field, and only a whole-field * as a wildcard', () => {
    const entries = parsePgpass(['h\\:x:5432:d\\\\b:u:pw', 'h:5432:\\*:u:star', 'h:5432:*:u:any'].join('\n'))
    expect(lookupPgpass(entries, { host: 'h:x', port: '5432', database: 'd\\b', user: 'u' })).toBe('pw')
    expect(lookupPgpass(entries, { host: 'h', port: '5432', database: '*', user: 'u' })).toBe('star')
    expect(lookupPgpass(entries, { host: 'h', port: '5432', database: 'x', user: 'u' })).toBe('any')
    expect(lookupPgpass(parsePgpass('*:*:*:*:a*b'), target)).toBe('a*b')
  })

  it('unescapes the password, which ends at an unescaped colon', () => {
    expect(lookupPgpass(parsePgpass('*:*:*:*:p\\:w\\\\d'), target)).toBe('p:w\\d')
    expect(lookupPgpass(parsePgpass('*:*:*:*:before:after'), target)).toBe('before')
    expect(lookupPgpass(parsePgpass('*:*:*:*:'), target)).toBe('')
  })

  it('skips comments, blank lines, short lines, and copes with CRLF', () => {
    const text = '# hostname:port:database:username:password\r\n\r\nshort:line\r\n*:*:*:*:pw\r\n'
    expect(lookupPgpass(parsePgpass(text), target)).toBe('pw')
    expect(parsePgpass(text)).toHaveLength(1)
  })

  it('escapePgpassField produces fields that match the original value', () => {
    for (const v of ['a:b', 'c\\d', '*', 'plain']) {
      const line = `${escapePgpassField(v)}:*:*:*:ok`
      expect(lookupPgpass(parsePgpass(line), { ...target, host: v })).toBe('ok')
    }
  })
})

describe('in resolveConfig', () => {
  const file = '/home/alice/.pgpass'
  function resolve(input: string | ConnectOptions, env: Record<string, string>, files: Record<string, string | MemoryFile>) {
    return resolveConfig(input, env, memorySystem(files))
  }

  it('supplies the password when none is given', () => {
    const c = resolve('host=db.example dbname=app', {}, { [file]: 'db.example:5432:app:alice:from-file' })
    expect(c.password?.reveal()).toBe('from-file')
    expect(c.hosts[0]!.passwordSource).toBe('passfile')
    expect(c.passfile).toBe(file)
  })

  it('is not used when a password is given: options, string, service or PGPASSWORD', () => {
    const files = { [file]: '*:*:*:*:from-file', '/home/alice/.pg_service.conf': '[s]\npassword=from-service\n' }
    expect(resolve({ host: 'h', password: 'explicit' }, {}, files).password?.reveal()).toBe('explicit')
    expect(resolve('host=h password=in-string', {}, files).password?.reveal()).toBe('in-string')
    expect(resolve('host=h service=s', {}, files).password?.reveal()).toBe('from-service')
    const env = resolve('host=h', { PGPASSWORD: 'from-env' }, files)
    expect(env.password?.reveal()).toBe('from-env')
    expect(env.hosts[0]!.passwordSource).toBe('given')
  })

  it('is used when the given password is empty, as in libpq', () => {
    expect(resolve({ host: 'h', password: '' }, {}, { [file]: '*:*:*:*:from-file' }).password?.reveal()).toBe('from-file')
  })

  it('comes from passfile, else PGPASSFILE, else ~/.pgpass', () => {
    const files = { [file]: '*:*:*:*:home', '/p1': '*:*:*:*:option', '/p2': '*:*:*:*:env' }
    expect(resolve('host=h passfile=/p1', { PGPASSFILE: '/p2' }, files).password?.reveal()).toBe('option')
    expect(resolve('host=h', { PGPASSFILE: '/p2' }, files).password?.reveal()).toBe('env')
    expect(resolve('host=h', {}, files).password?.reveal()).toBe('home')
    expect(resolve('host=h passfile=/missing', {}, files).password).toBeUndefined()
  })

  it('matches the resolved port, database (defaulting to the user) and user', () => {
    const text = ['h:5433:alice:alice:by-default-db', 'h:5432:app:bob:bob-app', '*:*:*:*:other'].join('\n')
    expect(resolve('host=h port=5433', {}, { [file]: text }).password?.reveal()).toBe('by-default-db')
    expect(resolve('host=h dbname=app', { PGUSER: 'bob' }, { [file]: text }).password?.reveal()).toBe('bob-app')
  })

  it('looks each host up on its own', () => {
    const text = ['a:1:*:*:pw-a', 'b:2:*:*:pw-b'].join('\n')
    const c = resolve('host=a,b,c port=1,2,3', {}, { [file]: text })
    expect(c.hosts.map((h) => h.password?.reveal())).toEqual(['pw-a', 'pw-b', undefined])
    expect(c.password?.reveal()).toBe('pw-a')
  })

  it("matches 'localhost' for the default socket directory, and other socket directories by path", () => {
    const text = ['localhost:5432:*:*:local', '/srv/pg:5432:*:*:by-path'].join('\n')
    const sock = { kind: 'socket' } as const
    expect(resolve({}, {}, { [file]: text, '/var/run/postgresql/.s.PGSQL.5432': sock }).password?.reveal()).toBe('local')
    expect(resolve('host=/var/run/postgresql', {}, { [file]: text }).password?.reveal()).toBe('local')
    expect(resolve('host=/tmp/', {}, { [file]: text }).password?.reveal()).toBe('local')
    expect(resolve('host=/srv/pg', {}, { [file]: text }).password?.reveal()).toBe('by-path')
    expect(resolve({}, {}, { [file]: text }).password?.reveal()).toBe('local') // no socket: localhost over TCP
  })

  it('matches the host name when there is one, else the hostaddr', () => {
    const text = ['db.example:*:*:*:by-name', '10.0.0.1:*:*:*:by-addr'].join('\n')
    expect(resolve('host=db.example hostaddr=10.0.0.1', {}, { [file]: text }).password?.reveal()).toBe('by-name')
    expect(resolve('hostaddr=10.0.0.1', {}, { [file]: text }).password?.reveal()).toBe('by-addr')
  })

  it('is refused, with a warning and no password, when group or world has access', () => {
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      const c = resolve('host=h', {}, { [file]: { content: '*:*:*:*:loose-secret', mode } })
      expect(c.password).toBeUndefined()
      expect(c.warnings).toEqual([
        `password file "${file}" has group or world access (mode 0${mode.toString(8)}); ignored: permissions should be u=rw (0600) or less`,
      ])
      expect(c.warnings.join()).not.toContain('loose-secret')
    }
    expect(resolve('host=h', {}, { [file]: { content: '*:*:*:*:ok', mode: 0o400 } }).password?.reveal()).toBe('ok')
  })

  it('warns about a password file that is not a plain file', () => {
    const c = resolve('host=h', {}, { [file]: { kind: 'dir' } })
    expect(c.warnings).toEqual([`password file "${file}" is not a plain file; ignored`])
  })

  it('does not check permissions on Windows', () => {
    const c = resolveConfig({ host: 'h', passfile: 'C:\\pg\\pgpass.conf' }, {}, memorySystem({ 'C:\\pg\\pgpass.conf': { content: '*:*:*:*:win', mode: 0o666 } }, { platform: 'win32' }))
    expect(c.password?.reveal()).toBe('win')
  })
})

describe.skipIf(process.platform === 'win32')('with real files and chmod', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgline-pgpass-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const sys = { ...nodeSystem(), homeDir: dir, socketDirs: [] }

  function write(name: string, mode: number, text: string): string {
    const p = join(dir, name)
    writeFileSync(p, text)
    chmodSync(p, mode)
    return p
  }

  it('reads a 0600 file', () => {
    const p = write('good', 0o600, 'h:5432:db:u:real-file-pw\n')
    const c = resolveConfig(`host=h dbname=db user=u passfile=${p}`, {}, sys)
    expect(c.password?.reveal()).toBe('real-file-pw')
    expect(c.warnings).toEqual([])
  })

  it('refuses a 0644 file with a warning that never shows the password', () => {
    const p = write('loose', 0o644, 'h:5432:db:u:real-file-pw\n')
    const c = resolveConfig(`host=h dbname=db user=u passfile=${p}`, {}, sys)
    expect(c.password).toBeUndefined()
    expect(c.warnings).toHaveLength(1)
    expect(c.warnings[0]).toContain(p)
    expect(c.warnings[0]).toContain('0644')
    expect(inspect(c, { depth: 10 }) + JSON.stringify(c)).not.toContain('real-file-pw')
  })

  it('uses ~/.pgpass by default and ignores a directory in its place', () => {
    write('.pgpass', 0o600, '*:*:*:*:home-pw\n')
    expect(resolveConfig('host=h', {}, sys).password?.reveal()).toBe('home-pw')
    const sub = join(dir, 'sub')
    mkdirSync(sub)
    const c = resolveConfig(`host=h passfile=${sub}`, {}, sys)
    expect(c.password).toBeUndefined()
    expect(c.warnings[0]).toMatch(/is not a plain file/)
  })
})
