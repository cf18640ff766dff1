// Rotating credentials: `password` as a function (sync or async), called for
// each new connection when the server asks for a password, with the host,
// port, user and database it is for. Against the real server: a role whose
// password is changed between connects, a pool that picks up the new one,
// and failures that say what went wrong without ever showing a password.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ClientAuthenticationError,
  connect,
  ConnectionError,
  DatabaseError,
  InterfaceError,
  Pool,
  type Connection,
  type ConnectionOptions,
  type PasswordTarget,
  type PoolErrorSource,
} from '../../src/index.js'
import { resolveConfig } from '../../src/config/config.js'
import { connectSync } from '../../src/sync/index.js'
import { testServer } from '../support/env.js'
import { connectAs, optionsFor, uniqueName, until } from './_util.js'

let admin: Connection
/** A role of this file's own, whose password the tests change. */
const role = uniqueName('pgline_rotating')
const first = `first-${uniqueName('pw')}`
const second = `second-${uniqueName('pw')}`
/** What the password functions give: the role's password of the moment. */
let current = first

beforeAll(async () => {
  admin = await connectAs('superuser')
  await admin.query(`create role ${role} login password '${first}'`)
})
afterAll(async () => {
  if (admin === undefined) return
  await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = $1', [role])
  await admin.query(`drop role if exists ${role}`)
  await admin.close()
})

/** Connection options for the rotating role, with `password` as given. */
function rotating(password: ConnectionOptions['password'], extra: ConnectionOptions = {}): ConnectionOptions {
  const o = optionsFor('scram')
  return { host: o.host, port: o.port, database: o.database, user: role, password, ...extra }
}

async function setPassword(pw: string): Promise<void> {
  await admin.query(`alter role ${role} password '${pw}'`)
}

/** Every printed form of `x` a log line might carry. */
function printed(x: unknown): string {
  const forms = [inspect(x), inspect(x, { depth: Infinity, showHidden: true }), String(x)]
  try {
    forms.push(JSON.stringify(x) ?? '')
  } catch (err) {
    forms.push(String(err))
  }
  if (x instanceof Error) forms.push(x.stack ?? '', x.message, inspect(x.cause, { depth: Infinity, showHidden: true }))
  return forms.join('\n')
}

async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection')
    },
    (err: Error) => err,
  )
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))


describe('a password function', () => {
  it('sync or async, is called with the host, port, user and database of the connection', async () => {
    const s = testServer()
    for (const fn of [(_: PasswordTarget) => current, async (_: PasswordTarget) => current]) {
      const seen: PasswordTarget[] = []
      const c = await connect(
        rotating((t) => {
          seen.push(t)
          return fn(t)
        }),
      )
      try {
        expect((await c.query<{ u: string }>('select current_user as u')).rows).toEqual([{ u: role }])
      } finally {
        await c.close()
      }
      expect(seen).toEqual([{ host: s.host, port: s.port, user: role, database: s.database }])
    }
  })

  it('is taken from a connection string plus options, and no password file is read when it is given', async () => {
    const o = optionsFor('scram')
    const url = `postgres://${role}@${o.host}:${o.port}/${o.database}`
    const c = await connect(url, { password: () => current })
    await c.close()

    const dir = mkdtempSync(path.join(tmpdir(), 'pgline-pgpass-'))
    try {
      const passfile = path.join(dir, 'pgpass')
      writeFileSync(passfile, `*:*:*:*:from-the-file\n`, { mode: 0o600 })
      const config = resolveConfig({ host: 'db.example', user: 'u', password: () => 'x', passfile })
      expect(config.hosts[0]!.passwordSource).toBe('function')
      expect(config.password).toBeUndefined()
      expect(typeof config.passwordFunction).toBe('function')
      // Without the function the file gives it, as before.
      expect(resolveConfig({ host: 'db.example', user: 'u', passfile }).password?.reveal()).toBe('from-the-file')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('answers md5 and cleartext requests too', async () => {
    for (const r of ['md5', 'password'] as const) {
      const given = optionsFor(r).password as string
      let calls = 0
      const c = await connect(
        optionsFor(r, {
          password: async () => {
            calls++
            return given
          },
        }),
      )
      await c.close()
      expect(calls).toBe(1)
    }
  })

  it('is not called when the method the server asks for is refused anyway (requireAuth)', async () => {
    let calls = 0
    const err = await failure(
      connect(
        optionsFor('md5', {
          requireAuth: 'scram-sha-256',
          password: () => {
            calls++
            return 'unused'
          },
        }),
      ),
    )
    expect(err).toBeInstanceOf(ClientAuthenticationError)
    expect(err.message).toMatch(/requireAuth does not allow/)
    expect(calls).toBe(0)
  })

  it('is not called for a trust login: it is asked only when the server asks for a password', async () => {
    let calls = 0
    const c = await connect(
      optionsFor('trust', {
        password: () => {
          calls++
          return 'unused'
        },
      }),
    )
    await c.close()
    expect(calls).toBe(0)
  })

  it('is called once per host tried, with that host', async () => {
    const s = testServer()
    const seen: string[] = []
    // Two names for the one server; neither is a standby, so both are tried and refused.
    const err = await failure(
      connect(
        rotating(
          (t) => {
            seen.push(`${t.host}:${t.port}`)
            return current
          },
          { host: 'a.example,b.example', hostaddr: `${s.host},${s.host}`, targetSessionAttrs: 'standby', tls: 'disable' },
        ),
      ),
    )
    expect(err).toBeInstanceOf(ConnectionError)
    expect(seen).toEqual([`a.example:${s.port}`, `b.example:${s.port}`])
  })

  it('counts against connectTimeout: one that never answers fails the connect in time', async () => {
    const err = await failure(connect(rotating(() => new Promise<string>(() => {}), { connectTimeout: 300 })))
    expect(err).toBeInstanceOf(ConnectionError)
    expect(err.message).toMatch(/timed out after 300 ms/)
  })
})

describe('rotation', () => {
  it("a pool's next connection uses the new password; the connections it has keep working", async () => {
    current = first
    const calls: PasswordTarget[] = []
    const pool = new Pool(
      rotating(async (t) => {
        calls.push(t)
        await sleep(1)
        return current
      }),
      { max: 3 },
    )
    try {
      const a = await pool.acquire()
      expect(calls).toHaveLength(1)

      await setPassword(second)
      // The old password no longer logs in...
      const stale = await failure(connect(rotating(first)))
      expect(stale).toBeInstanceOf(DatabaseError)
      expect((stale as DatabaseError).code).toBe('28P01')
      current = second

      // ...but the pool's next connection asks the function again.
      const b = await pool.acquire()
      expect(calls).toHaveLength(2)
      expect(b.connection.processId).not.toBe(a.connection.processId)
      expect((await b.connection.query<{ u: string }>('select current_user as u')).rows).toEqual([{ u: role }])
      // The connection opened with the old password is still fine.
      expect((await a.connection.query<{ n: number }>('select 1 as n')).rows).toEqual([{ n: 1 }])
      await a.release()
      await b.release()
      expect((await pool.query<{ n: number }>('select 2 as n')).rows).toEqual([{ n: 2 }])
    } finally {
      await pool.close()
      await setPassword(first)
      current = first
    }
  })
})

describe('failures', () => {
  it('a throwing function fails the connect with ClientAuthenticationError, the original as its cause', async () => {
    const boom = new Error('token service unreachable')
    const err = await failure(
      connect(
        rotating(() => {
          throw boom
        }),
      ),
    )
    expect(err).toBeInstanceOf(ClientAuthenticationError)
    expect(err.message).toMatch(new RegExp(`password function failed for role "${role}" on .*: token service unreachable`))
    expect(err.cause).toBe(boom)
  })

  it('so does a rejecting one', async () => {
    const boom = new TypeError('vault said no')
    const err = await failure(connect(rotating(() => Promise.reject(boom))))
    expect(err).toBeInstanceOf(ClientAuthenticationError)
    expect(err.message).toMatch(/password function failed .*vault said no/)
    expect(err.cause).toBe(boom)
  })

  it('a result that is not a string is refused, naming its type and never its value', async () => {
    const cases: [unknown, RegExp][] = [
      [12345, /returned number, not a string/],
      [undefined, /returned undefined, not a string/],
      [null, /returned null, not a string/],
      [Buffer.from(first), /returned an object \(Buffer\), not a string/],
      [{ token: first }, /returned an object, not a string/],
      ['', /returned an empty string/],
    ]
    for (const [value, message] of cases) {
      const err = await failure(connect(rotating(async () => value as string)))
      expect(err).toBeInstanceOf(ClientAuthenticationError)
      expect(err.message).toMatch(message)
      expect(printed(err)).not.toContain(first)
      expect(printed(err)).not.toContain('12345')
    }
  })

  it('a pool reports the failure to onError, fails waiting callers with it, and retries with backoff until the function works', async () => {
    let calls = 0
    const errors: { err: Error; source: PoolErrorSource }[] = []
    const pool = new Pool(
      rotating(() => {
        calls++
        if (calls <= 3) throw new Error(`attempt ${calls} failed`)
        return current
      }),
      { min: 1, backoff: { initialMs: 5, maxMs: 20 }, onError: (err, source) => errors.push({ err, source }) },
    )
    try {
      await until('three failed connects', () => errors.length >= 3)
      for (const { err, source } of errors) {
        expect(source).toBe('connect')
        expect(err).toBeInstanceOf(ClientAuthenticationError)
        expect(err.message).toMatch(/password function failed/)
        expect(printed(err)).not.toContain(first)
      }
      // The backoff brought a fourth attempt, which worked.
      await until('the pool has its connection', () => pool.toJSON().open >= 1)
      expect((await pool.query<{ u: string }>('select current_user as u')).rows).toEqual([{ u: role }])
      expect(calls).toBe(4)
    } finally {
      await pool.close()
    }
  })

  it('with no connection open, a waiting caller gets the failure rather than a PoolTimeout', async () => {
    const pool = new Pool(
      rotating(() => {
        throw new Error('no token today')
      }),
      { backoff: { initialMs: 1000, maxMs: 1000 }, acquireTimeout: 10_000 },
    )
    try {
      const err = await failure(pool.query('select 1'))
      expect(err).toBeInstanceOf(ClientAuthenticationError)
      expect(err.message).toMatch(/no token today/)
    } finally {
      await pool.close()
    }
  })
})

describe('the password never shows', () => {
  it('not in a refused login, nor in inspect or JSON of the connection, its config or a pool', async () => {
    const wrong = `wrong-${uniqueName('pw')}`
    const refused = await failure(connect(rotating(() => wrong)))
    expect(refused).toBeInstanceOf(DatabaseError)
    expect(printed(refused)).not.toContain(wrong)

    const c = await connect(rotating(async () => current))
    const pool = new Pool(rotating(async () => current), { min: 1 })
    try {
      await pool.query('select 1')
      for (const x of [c, c.config, pool, pool.toJSON()]) expect(printed(x)).not.toContain(current)
    } finally {
      await c.close()
      await pool.close()
    }
  })

  it('a password that is neither a string nor a function is refused by type', async () => {
    const err = await failure(connect(rotating(12345 as unknown as string)))
    expect(err).toBeInstanceOf(InterfaceError)
    expect(err.message).toBe('password must be a string or a function that gives one, got number')
  })
})

describe('the sync API', () => {
  it('refuses a password function (it cannot cross to the worker thread)', () => {
    expect(() => connectSync(rotating(() => current))).toThrow(InterfaceError)
    expect(() => connectSync(rotating(() => current))).toThrow(/cannot take a password function/)
  })
})
