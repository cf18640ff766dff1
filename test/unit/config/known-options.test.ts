// Unknown option keys are refused, with the pgline name they most likely meant.
import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../../../src/config/config.js'
import { checkOptionKeys, unknownOptionMessage } from '../../../src/config/known-options.js'
import { InterfaceError } from '../../../src/errors.js'

const resolve = (o: object) => resolveConfig(o as never, {}, { homeDir: undefined, socketDirs: [] })

describe('unknown connection options', () => {
  it("refuses node-postgres' habits, naming the key and pgline's own name", () => {
    const cases: [string, RegExp][] = [
      ['ssl', /^unknown option 'ssl' \(did you mean 'sslMode' or 'tls'\?\)$/],
      ['db', /^unknown option 'db' \(did you mean 'database'\?\)$/],
      ['dbname', /'database'/],
      ['username', /'user'/],
      ['connectionString', /^unknown option 'connectionString': pass the connection string itself as the first argument/],
      ['connectionTimeoutMillis', /'connectTimeout'/],
      ['idleTimeoutMillis', /pool option: use 'maxIdle'/],
      ['statement_timeout', /'statementTimeout'/],
      ['query_timeout', /'queryTimeout'/],
      ['application_name', /'applicationName'/],
      ['connect_timeout', /'connectTimeout', in milliseconds/],
      ['binary', /resultFormat: 'binary'/],
      ['lock_timeout', /parameters/],
    ]
    for (const [key, message] of cases) {
      let err: unknown
      try {
        resolve({ host: 'h', [key]: 1 })
      } catch (e) {
        err = e
      }
      expect(err, key).toBeInstanceOf(InterfaceError)
      expect((err as Error).message, key).toMatch(message)
    }
  })

  it("suggests the nearest name for slips, libpq's snake_case and wrong case", () => {
    expect(unknownOptionMessage('hots', 'connection')).toBe("unknown option 'hots' (did you mean 'host'?)")
    expect(unknownOptionMessage('pasword', 'connection')).toMatch(/'password'/)
    expect(unknownOptionMessage('sslmode', 'connection')).toMatch(/'sslMode'/)
    expect(unknownOptionMessage('sslrootcert', 'connection')).toMatch(/'sslRootCert'/)
    expect(unknownOptionMessage('target_session_attrs', 'connection')).toMatch(/'targetSessionAttrs'/)
    expect(unknownOptionMessage('statementCacheSise', 'connection')).toMatch(/'statementCacheSize'/)
    // Nothing close: no guess.
    expect(unknownOptionMessage('frobnicate', 'connection')).toBe("unknown option 'frobnicate'")
  })

  it('says where pool options go, and connection options given as pool options', () => {
    expect(unknownOptionMessage('max', 'connection')).toMatch(/'max' is a pool option; pass it in the second argument of new Pool/)
    expect(unknownOptionMessage('host', 'pool')).toMatch(/^unknown pool option 'host': 'host' is a connection option; pass it in the first argument/)
    expect(unknownOptionMessage('idleTimeoutMillis', 'pool')).toMatch(/'maxIdle'/)
    expect(unknownOptionMessage('mx', 'pool')).toMatch(/'max'/)
    expect(() => checkOptionKeys({ max: 3, maxIdle: 10, connectTimeout: 1 }, 'pool')).not.toThrow()
    expect(() => checkOptionKeys({ max: 3, sslMode: 'require' }, 'pool')).toThrow(InterfaceError)
  })

  it('knows the sync API options', () => {
    expect(() => checkOptionKeys({ host: 'h', replyGrace: 1, workerStallTimeout: 1 }, 'sync')).not.toThrow()
    expect(unknownOptionMessage('replyGrase', 'sync')).toMatch(/'replyGrace'/)
    expect(unknownOptionMessage('connectionString', 'sync')).toMatch(/connectSync\(url, options\)/)
    expect(() => checkOptionKeys({ replyGrace: 1 }, 'connection')).toThrow(InterfaceError)
  })

  it('accepts every option connect() takes, and unknown keys whose value is undefined', () => {
    const c = resolve({
      host: 'h',
      port: 5433,
      database: 'app',
      prepare: false,
      resultFormat: 'text',
      pooler: 'transaction',
      statementCacheSize: 10,
      queryTimeout: 1,
      statementTimeout: 1,
      maxInFlight: 5,
      tls: 'disable',
      allowCleartextPassword: false,
      typeOptions: {},
      debug: false,
      ssl: undefined,
      db: undefined,
    })
    expect(c.database).toBe('app')
  })

  it('leaves connection strings to the keyword parser (which refuses unknown keywords itself)', () => {
    expect(() => resolveConfig('host=h dbname=app', {})).not.toThrow()
    expect(() => resolveConfig('host=h ssl=true', {})).toThrow(InterfaceError)
  })
})

describe('startup strings with a lone surrogate', () => {
  it('are refused naming the setting, never the value', () => {
    for (const [key, name] of [
      ['user', 'user'],
      ['password', 'password'],
      ['database', 'database'],
      ['applicationName', 'application_name'],
      ['options', 'options'],
    ] as const) {
      const value = `secret-${key}-\uD800`
      let err: unknown
      try {
        resolveConfig({ host: 'h', user: 'u', [key]: value })
      } catch (e) {
        err = e
      }
      expect(err, key).toBeInstanceOf(InterfaceError)
      expect((err as Error).message).toContain(`${name} contains a lone UTF-16 surrogate`)
      expect((err as Error).message).not.toContain('secret-')
    }
    expect(() => resolveConfig({ host: 'h', user: 'u', parameters: { search_path: 'a\uDC00' } })).toThrow(/search_path contains a lone/)
    expect(resolveConfig({ host: 'h', user: 'u', password: 'pässwörd 🐘' }).user).toBe('u')
  })
})
