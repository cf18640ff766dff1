import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import * as base from '../../src/errors/base.js'
import * as sqlstate from '../../src/errors/sqlstate.js'
import {
  ClientAuthenticationError,
  ConnectionError,
  createDatabaseError,
  DatabaseError,
  ForeignKeyViolation,
  IntegrityConstraintViolation,
  InterfaceError,
  InvalidPassword,
  ParameterError,
  PglineError,
  ProtocolError,
  QueryCanceled,
  SerializationFailure,
  SQLSTATE,
  StringDataRightTruncation,
  StringDataRightTruncationWarning,
  SyntaxError as PgSyntaxError,
  TimeoutError,
  TransactionRollback,
  UniqueViolation,
  conditionName,
  errorClassByClass,
  errorClassByCode,
} from '../../src/errors.js'
import type { NoticeFields } from '../../src/protocol/messages.js'

const fields = (code: string, extra: Partial<NoticeFields> = {}): NoticeFields => ({
  severity: 'ERROR',
  code,
  message: `failed with ${code}`,
  ...extra,
})

/** Every class on the prototype chain of C, most derived first. */
function chain(C: Function): Function[] {
  const out: Function[] = []
  for (let c: unknown = C; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    out.push(c as Function)
  }
  return out
}

describe('generated SQLSTATE classes', () => {
  const entries = Object.entries(SQLSTATE)

  it('cover the whole list', () => {
    expect(entries.length).toBeGreaterThan(250)
    expect(errorClassByCode.size).toBe(entries.length)
    expect(new Set(Object.values(SQLSTATE)).size).toBe(entries.length)
  })

  it.each(entries)('%s (%s) maps to a class under its SQLSTATE class', (_name, code) => {
    const C = errorClassByCode.get(code)!
    const ClassOf = errorClassByClass.get(code.slice(0, 2))!
    expect(C).toBeDefined()
    expect(ClassOf).toBeDefined()
    const ancestors = chain(C)
    expect(ancestors).toContain(ClassOf)
    expect(ancestors).toContain(DatabaseError)
    expect(ancestors).toContain(PglineError)
    const e = createDatabaseError(fields(code))
    expect(e).toBeInstanceOf(C)
    expect(e).toBeInstanceOf(ClassOf)
    expect(e).toBeInstanceOf(DatabaseError)
    expect(e).toBeInstanceOf(PglineError)
    expect(e).toBeInstanceOf(Error)
    expect(e.code).toBe(code)
  })

  it('every SQLSTATE class extends DatabaseError directly', () => {
    for (const [cls, C] of errorClassByClass) {
      expect(cls).toMatch(/^[0-9A-Z]{2}$/)
      expect(Object.getPrototypeOf(C)).toBe(DatabaseError)
    }
  })

  it('exports every class under its own name, and none clashes with base', () => {
    const exported = new Map(Object.entries(sqlstate).filter(([, v]) => typeof v === 'function'))
    for (const C of [...errorClassByCode.values(), ...errorClassByClass.values()]) {
      expect(exported.get(C.name)).toBe(C)
    }
    for (const name of Object.keys(base)) expect(exported.has(name)).toBe(false)
  })

  it('uses the expected names', () => {
    expect(SQLSTATE.unique_violation).toBe('23505')
    expect(errorClassByCode.get('23505')).toBe(UniqueViolation)
    expect(errorClassByCode.get('23503')).toBe(ForeignKeyViolation)
    expect(errorClassByCode.get('23000')).toBe(IntegrityConstraintViolation)
    expect(errorClassByCode.get('40001')).toBe(SerializationFailure)
    expect(Object.getPrototypeOf(SerializationFailure)).toBe(TransactionRollback)
    expect(errorClassByCode.get('57014')).toBe(QueryCanceled)
    expect(errorClassByCode.get('28P01')).toBe(InvalidPassword)
    expect(errorClassByCode.get('42601')).toBe(PgSyntaxError)
    expect(PgSyntaxError).not.toBe(globalThis.SyntaxError)
    expect(createDatabaseError(fields('42601')).name).toBe('SyntaxError')
    expect(errorClassByCode.get('F0000')).toBe(sqlstate.ConfigurationFileError)
  })

  it('disambiguates condition names PostgreSQL uses twice', () => {
    expect(SQLSTATE.string_data_right_truncation).toBe('22001')
    expect(SQLSTATE.string_data_right_truncation_warning).toBe('01004')
    expect(errorClassByCode.get('22001')).toBe(StringDataRightTruncation)
    expect(errorClassByCode.get('01004')).toBe(StringDataRightTruncationWarning)
    expect(conditionName('01004')).toBe('string_data_right_truncation')
    expect(conditionName('22001')).toBe('string_data_right_truncation')
  })

  it('conditionName reverses SQLSTATE', () => {
    expect(conditionName('23505')).toBe('unique_violation')
    expect(conditionName('99999')).toBeUndefined()
    for (const [name, code] of entries) expect(name.startsWith(conditionName(code)!)).toBe(true)
  })
})

describe('createDatabaseError', () => {
  it('picks the class of the exact code', () => {
    expect(createDatabaseError(fields('23505')).constructor).toBe(UniqueViolation)
  })

  it('falls back to the SQLSTATE class for an unknown code', () => {
    const e = createDatabaseError(fields('23ZZZ'))
    expect(e.constructor).toBe(IntegrityConstraintViolation)
    expect(e.code).toBe('23ZZZ')
  })

  it('falls back to DatabaseError for an unknown class', () => {
    expect(createDatabaseError(fields('ZZ123')).constructor).toBe(DatabaseError)
    expect(createDatabaseError(fields('')).constructor).toBe(DatabaseError)
  })

  it('copies every field', () => {
    const all: NoticeFields = {
      severity: 'FEHLER',
      severityNonLocalized: 'ERROR',
      code: '23505',
      message: 'duplicate key value violates unique constraint "t_pkey"',
      detail: 'Key (id)=(1) already exists.',
      hint: 'a hint',
      position: 12,
      internalPosition: 3,
      internalQuery: 'SELECT 1',
      where: 'PL/pgSQL function f() line 3',
      schema: 'public',
      table: 't',
      column: 'id',
      dataType: 'int4',
      constraint: 't_pkey',
      file: 'nbtinsert.c',
      line: 666,
      routine: '_bt_check_unique',
    }
    const e = createDatabaseError(all, 'INSERT INTO t VALUES (1)')
    const { message, ...rest } = all
    expect(e.message).toBe(message)
    expect(e).toMatchObject(rest)
    expect(e.query).toBe('INSERT INTO t VALUES (1)')
    expect(e.name).toBe('UniqueViolation')
    expect(String(e)).toBe(`UniqueViolation: ${message}`)
  })

  it('leaves absent fields and the query out of inspect output', () => {
    const e = createDatabaseError(fields('42P01'), "ALTER ROLE x PASSWORD 'hunter2'")
    expect(Object.keys(e).sort()).toEqual(['code', 'severity'])
    expect(inspect(e)).not.toContain('hunter2')
    expect(JSON.stringify(e)).not.toContain('hunter2')
    expect(e.query).toContain('hunter2')
  })
})

describe('client-side errors', () => {
  it('set name and keep the hierarchy', () => {
    const cause = new Error('ECONNREFUSED')
    const c = new ConnectionError('cannot connect', { retrySafe: true, cause })
    expect(c).toBeInstanceOf(PglineError)
    expect(c.name).toBe('ConnectionError')
    expect(c.retrySafe).toBe(true)
    expect(c.cause).toBe(cause)

    const p = new ProtocolError('unknown message type', 'q')
    expect(p.messageType).toBe('q')
    expect(p.name).toBe('ProtocolError')

    const pe = new ParameterError('cannot encode parameter $2: no codec accepts a symbol', { index: 1, valueType: 'symbol' })
    expect(pe).toBeInstanceOf(InterfaceError)
    expect(pe).toBeInstanceOf(PglineError)
    expect(pe.index).toBe(1)
    expect(pe.valueType).toBe('symbol')
    expect(pe.typeOid).toBeUndefined()
    expect(pe.name).toBe('ParameterError')

    expect(new ClientAuthenticationError('no password for role "app"').name).toBe('ClientAuthenticationError')
    expect(new TimeoutError('timed out')).toBeInstanceOf(PglineError)
  })
})

describe('scripts/gen-errcodes.mjs', () => {
  it('reproduces the committed src/errors/sqlstate.ts byte for byte', () => {
    const script = fileURLToPath(new URL('../../scripts/gen-errcodes.mjs', import.meta.url))
    const committed = fileURLToPath(new URL('../../src/errors/sqlstate.ts', import.meta.url))
    const dir = mkdtempSync(join(tmpdir(), 'pgline-errcodes-'))
    try {
      const out = join(dir, 'sqlstate.ts')
      execFileSync(process.execPath, [script, out])
      expect(readFileSync(out).equals(readFileSync(committed))).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('ParameterError', () => {
  it('is a TypeError and one of ours, and the brand does not leak to other classes', () => {
    const e = new ParameterError('cannot encode parameter $1 as int4: got string', { index: 0, valueType: 'string', typeOid: 23 })
    expect(e).toBeInstanceOf(TypeError)
    expect(e).toBeInstanceOf(ParameterError)
    expect(e).toBeInstanceOf(InterfaceError)
    expect(e).toBeInstanceOf(PglineError)
    expect(e).toBeInstanceOf(Error)
    expect(e.name).toBe('ParameterError')
    expect(e).not.toBeInstanceOf(DatabaseError)
    expect(e).not.toBeInstanceOf(ConnectionError)
    expect(new TypeError('x')).not.toBeInstanceOf(PglineError)
    expect(new InterfaceError('x')).not.toBeInstanceOf(ParameterError)
    expect(new InterfaceError('x')).toBeInstanceOf(PglineError)
    expect(createDatabaseError({ severity: 'ERROR', code: '23505', message: 'dup' } as never)).not.toBeInstanceOf(InterfaceError)
    expect({ index: 0 }).not.toBeInstanceOf(PglineError)
    expect((null as unknown as object) instanceof PglineError).toBe(false)
  })
})
