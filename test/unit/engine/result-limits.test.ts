// maxRows / maxResultBytes in the engine, free of I/O: a result past its
// limit rejects with ResultTooLarge once its ReadyForQuery is in, the rows
// after the limit are not decoded, and the next operation runs as usual.
import { describe, expect, it } from 'vitest'
import { DatabaseError, InterfaceError, ResultTooLarge } from '../../../src/errors.js'
import type { PipelineGroupState } from '../../../src/session/ops/pipeline.js'
import { defaultTypeMap, TypeMap } from '../../../src/types/type-map.js'
import type { BackendMessage } from '../../../src/protocol/messages.js'
import { commandComplete, dataRow, errorResponse, readyForQuery, rowDescription } from '../../support/backend-encoder.js'
import { SansIo, unnamed, unnamedReply } from './_sans-io.js'

/** `n` one-column text rows: '1', '2', ... */
function rows(n: number): string[][] {
  return Array.from({ length: n }, (_, i) => [String(i + 1)])
}

/** A type map whose text decoder counts its calls. */
function countingTypes(): { types: TypeMap; decoded: () => number } {
  let calls = 0
  const types = new TypeMap(defaultTypeMap)
  types.registerDecoder(25, 0, (buf, start, end) => {
    calls++
    return buf.toString('utf8', start, end)
  })
  return { types, decoded: () => calls }
}

describe('sans-IO engine: result limits', () => {
  it('a result of exactly maxRows rows resolves; one more rejects with ResultTooLarge at its ReadyForQuery', () => {
    const t = new SansIo()
    const at = t.query('select a', { maxRows: 3 })
    expect(t.written()).toEqual(unnamed('select a'))
    t.reply(...unnamedReply(['a'], rows(3)))
    expect(at.value).toMatchObject({ rowCount: 3, rows: [{ a: '1' }, { a: '2' }, { a: '3' }] })

    const over = t.query('select a', { maxRows: 3 })
    t.written()
    const reply = unnamedReply(['a'], rows(4))
    t.reply(...reply.slice(0, -1))
    expect(over.settled).toBe(false) // not before the cycle ends
    t.reply(reply.at(-1)!)
    expect(over.error).toBeInstanceOf(ResultTooLarge)
    expect(over.error).toMatchObject({ kind: 'rows', limit: 3 })
    expect(over.error.message).toMatch(/more than 3 rows \(maxRows: 3\).*stream\(\)/)

    const next = t.query('select b')
    expect(t.written()).toEqual(unnamed('select b'))
    t.reply(...unnamedReply(['b'], rows(10)))
    expect(next.value).toMatchObject({ rowCount: 10 })
  })

  it('stops decoding at the limit: the rows after it are skipped, not decoded', () => {
    const t = new SansIo()
    const { types, decoded } = countingTypes()
    const q = t.query('select a', { maxRows: 5, types })
    t.written()
    t.reply(...unnamedReply(['a'], rows(1000)))
    expect(q.error).toBeInstanceOf(ResultTooLarge)
    expect(decoded()).toBe(5)
  })

  it('the connection-wide limit applies to every query; a query lifts it with 0 or Infinity, or sets its own', () => {
    const t = new SansIo({ maxRows: 2 })
    const a = t.query('select a')
    const b = t.query('select a', { maxRows: 0 })
    const c = t.query('select a', { maxRows: Infinity })
    const d = t.query('select a', { maxRows: 5 })
    t.written()
    for (let i = 0; i < 4; i++) t.reply(...unnamedReply(['a'], rows(4)))
    expect(a.error).toMatchObject({ kind: 'rows', limit: 2 })
    expect(b.value).toMatchObject({ rowCount: 4 })
    expect(c.value).toMatchObject({ rowCount: 4 })
    expect(d.value).toMatchObject({ rowCount: 4 })
  })

  it('maxResultBytes counts DataRow bytes as received: 7 bytes of header, 4 per column, then the value', () => {
    const t = new SansIo()
    // One text column of 3 characters: 7 + 4 + 3 = 14 bytes a row; a NULL: 7 + 4.
    const at = t.query('select a', { maxResultBytes: 14 * 2 + 11 })
    const over = t.query('select a', { maxResultBytes: 14 * 2 + 10 })
    t.written()
    const reply: BackendMessage[] = [
      { type: 'ParseComplete' },
      { type: 'BindComplete' },
      rowDescription(['a']),
      dataRow(['abc']),
      dataRow(['def']),
      dataRow([null]),
      commandComplete('SELECT 3'),
      readyForQuery('I'),
    ]
    t.reply(...reply, ...reply)
    expect(at.value).toMatchObject({ rowCount: 3 })
    expect(over.error).toBeInstanceOf(ResultTooLarge)
    expect(over.error).toMatchObject({ kind: 'bytes', limit: 38 })
    expect(over.error.message).toMatch(/larger than 38 bytes \(maxResultBytes: 38/)
  })

  it("'columns' and 'array' row modes are held to it the same way", () => {
    const t = new SansIo()
    const cols = t.query('select a', { maxRows: 2, rowMode: 'columns' })
    const arr = t.query('select a', { maxRows: 2, rowMode: 'array' })
    const colsOk = t.query('select a', { maxRows: 2, rowMode: 'columns' })
    t.written()
    t.reply(...unnamedReply(['a'], rows(3)), ...unnamedReply(['a'], rows(3)), ...unnamedReply(['a'], rows(2)))
    expect(cols.error).toBeInstanceOf(ResultTooLarge)
    expect(arr.error).toBeInstanceOf(ResultTooLarge)
    expect(colsOk.value).toMatchObject({ rowCount: 2, columns: { length: 2 } })
  })

  it('a simple query counts the rows of all its results together', () => {
    const t = new SansIo()
    const within = t.run({ kind: 'simple', sql: 'select a; select b', options: { maxRows: 4 } })
    const past = t.run({ kind: 'simple', sql: 'select a; select b', options: { maxRows: 3 } })
    t.written()
    const reply = (): BackendMessage[] => [
      rowDescription(['a']),
      ...rows(2).map((r) => dataRow(r)),
      commandComplete('SELECT 2'),
      rowDescription(['b']),
      ...rows(2).map((r) => dataRow(r)),
      commandComplete('SELECT 2'),
      readyForQuery('I'),
    ]
    t.reply(...reply(), ...reply())
    expect(within.value).toHaveLength(2)
    expect(past.error).toMatchObject({ kind: 'rows', limit: 3 })
  })

  it('an error from the server after the limit was passed is the one reported', () => {
    const t = new SansIo()
    const q = t.query('select a', { maxRows: 1 })
    t.written()
    t.reply(
      { type: 'ParseComplete' },
      { type: 'BindComplete' },
      rowDescription(['a']),
      ...rows(3).map((r) => dataRow(r)),
      errorResponse({ code: '22012', message: 'division by zero' }),
      readyForQuery('I'),
    )
    expect(q.error).toBeInstanceOf(DatabaseError)
    expect(q.error.code).toBe('22012')
  })

  it('in a pipeline group only the statement past its limit fails; the others resolve (the server ran them all)', () => {
    const t = new SansIo()
    const token = {}
    t.engine.claim(token, undefined, 'pipeline()')
    const state: PipelineGroupState = { request: undefined }
    const group = (): PipelineGroupState => state
    const stmt = (sql: string, maxRows?: number) =>
      t.run({ kind: 'pipelined', sql, params: [], options: maxRows === undefined ? {} : { maxRows }, group }, token)
    const a = stmt('select a')
    const b = stmt('select b', 2)
    const c = stmt('select c')
    const sync = t.run({ kind: 'sync', group }, token)
    t.written()
    const one = (col: string, n: number): BackendMessage[] => [
      { type: 'ParseComplete' },
      { type: 'BindComplete' },
      rowDescription([col]),
      ...rows(n).map((r) => dataRow(r)),
      commandComplete(`SELECT ${n}`),
    ]
    t.reply(...one('a', 1), ...one('b', 5), ...one('c', 1))
    expect(a.value).toMatchObject({ rows: [{ a: '1' }] })
    expect(b.error).toBeInstanceOf(ResultTooLarge)
    expect(c.value).toMatchObject({ rows: [{ c: '1' }] })
    t.reply(readyForQuery('I'))
    expect(sync.value).toBeUndefined()
  })

  it('refuses a limit that is not a non-negative integer, naming the option and not running the query', () => {
    const t = new SansIo()
    for (const bad of [-1, 1.5, NaN, '10' as unknown as number]) {
      expect(() => t.query('select 1', { maxRows: bad })).toThrow(InterfaceError)
      expect(() => t.query('select 1', { maxResultBytes: bad })).toThrow(/maxResultBytes must be a positive integer/)
    }
    expect(t.written()).toEqual([])
    expect(() => new SansIo({ maxRows: -5 })).toThrow(/maxRows must be a positive integer \(0 or Infinity: no limit\), got -5/)
  })
})
