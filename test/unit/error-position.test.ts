import { describe, expect, it } from 'vitest'
import { createDatabaseError, DatabaseError } from '../../src/errors.js'
import { markPosition } from '../../src/errors/position.js'
import type { NoticeFields } from '../../src/protocol/messages.js'

const err = (extra: Partial<NoticeFields>, query?: string): DatabaseError =>
  createDatabaseError({ severity: 'ERROR', code: '42601', message: 'syntax error at or near "frm"', ...extra }, query)

/** Column of the caret in the second line of a marked position. */
const caretColumn = (marked: string): number => marked.split('\n')[1]!.indexOf('^')

describe('markPosition', () => {
  it('points at a character of a one-line statement', () => {
    expect(markPosition('select * frm t', 10)).toBe('LINE 1: select * frm t\n' + ' '.repeat(17) + '^')
  })

  it('shows only the line of the position, numbered, for \\n, \\r\\n and \\r breaks', () => {
    expect(markPosition('select *\nfrom t\nwhre x', 17)).toBe('LINE 3: whre x\n        ^')
    expect(markPosition('select *\r\nfrom t\r\nwhre x', 19)).toBe('LINE 3: whre x\n        ^')
    expect(markPosition('select *\rfrom t\rwhre x', 17)).toBe('LINE 3: whre x\n        ^')
    expect(markPosition('select *\n\nfrom t', 13)).toBe('LINE 3: from t\n          ^')
    // On the line break itself: the end of that line.
    expect(markPosition('select *\nfrom t', 9)).toBe('LINE 1: select *\n' + ' '.repeat(16) + '^')
  })

  it('allows one past the end (syntax error at end of input)', () => {
    expect(markPosition('select (1', 10)).toBe('LINE 1: select (1\n' + ' '.repeat(17) + '^')
    expect(markPosition('select (1', 11)).toBeUndefined()
    expect(markPosition('select 1', 0)).toBeUndefined()
    expect(markPosition('select 1', 1.5)).toBeUndefined()
  })

  it('shows tabs and control characters as one space so the caret lines up', () => {
    expect(markPosition('select\t*\tfrm t', 10)).toBe('LINE 1: select * frm t\n' + ' '.repeat(17) + '^')
  })

  it('counts characters, not UTF-16 units, and wide characters as two columns', () => {
    // '🐘' is two UTF-16 units, one character for the server, two screen columns.
    const m = markPosition("select '🐘' frm t", 13)!
    expect(m.split('\n')[0]).toBe("LINE 1: select '🐘' frm t")
    expect(caretColumn(m)).toBe(8 + 13) // 12 characters before, one of them two columns wide
    expect(caretColumn(markPosition("select 'é' frm t", 12)!)).toBe(8 + 11)
  })

  it('cuts a long line around the caret, at most about 60 columns', () => {
    const long = 'select ' + Array.from({ length: 60 }, (_, i) => `c${i}`).join(', ') + ' frm t'
    const near = markPosition(long, 8)!
    const [text, caret] = near.split('\n') as [string, string]
    expect(text.startsWith('LINE 1: select c0, c1')).toBe(true)
    expect(text.endsWith('...')).toBe(true)
    expect(text.length).toBeLessThanOrEqual('LINE 1: '.length + 60 + 3)
    expect(text[caret.indexOf('^')]).toBe('c')

    const at = long.indexOf('frm') + 1
    const far = markPosition(long, at)!
    const [ftext, fcaret] = far.split('\n') as [string, string]
    expect(ftext.startsWith('LINE 1: ...')).toBe(true)
    expect(ftext.endsWith('frm t')).toBe(true)
    expect(ftext.length).toBeLessThanOrEqual('LINE 1: ...'.length + 60)
    expect(ftext.slice(fcaret.indexOf('^'), fcaret.indexOf('^') + 3)).toBe('frm')

    const middle = long.indexOf('c30')
    const mid = markPosition(long, middle + 1)!
    const [mtext, mcaret] = mid.split('\n') as [string, string]
    expect(mtext.startsWith('LINE 1: ...')).toBe(true)
    expect(mtext.endsWith('...')).toBe(true)
    expect(mtext.slice(mcaret.indexOf('^'), mcaret.indexOf('^') + 3)).toBe('c30')
  })

  it('stays linear on a huge one-line statement', () => {
    const huge = 'insert into t values ' + '(1),'.repeat(100_000) + ' oops'
    const started = performance.now()
    const m = markPosition(huge, huge.length - 3)!
    expect(m.split('\n')[0]!.endsWith('(1), oops')).toBe(true)
    expect(performance.now() - started).toBeLessThan(5_000) // quadratic would take minutes
  })
})

describe('DatabaseError.format()', () => {
  it('gives the psql form, while message keeps no SQL', () => {
    const e = err({ position: 19, hint: 'check the spelling' }, 'select 1\nselect * frm t')
    expect(e.message).toBe('syntax error at or near "frm"')
    expect(e.format()).toBe(
      [
        'ERROR:  syntax error at or near "frm"',
        'LINE 2: select * frm t',
        '                 ^',
        'HINT:  check the spelling',
      ].join('\n'),
    )
    expect(String(e)).not.toContain('select')
  })

  it('says the character offset when the statement is unknown, and has no LINE without a position', () => {
    expect(err({ position: 10 }).format()).toBe('ERROR:  syntax error at or near "frm" at character 10')
    expect(err({ detail: 'd' }, 'select 1').format()).toBe('ERROR:  syntax error at or near "frm"\nDETAIL:  d')
  })

  it('points into the internal query of a PL/pgSQL error, then shows it and the context', () => {
    const e = createDatabaseError(
      {
        severity: 'ERROR',
        code: '42703',
        message: 'column "nosuch" does not exist',
        internalPosition: 8,
        internalQuery: 'select nosuch',
        where: 'PL/pgSQL function inline_code_block line 1 at PERFORM',
      },
      'do $$ begin perform nosuch; end $$',
    )
    expect(e.format()).toBe(
      [
        'ERROR:  column "nosuch" does not exist',
        'LINE 1: select nosuch',
        '               ^',
        'QUERY:  select nosuch',
        'CONTEXT:  PL/pgSQL function inline_code_block line 1 at PERFORM',
      ].join('\n'),
    )
  })
})
