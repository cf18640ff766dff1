// The log for people, against the real server: debug 'query' prints each
// statement with its duration, rows and process id; slowQueryMs only the
// slow ones; debug 'protocol' each message's type and length; WARNING
// notices reach stderr unless someone listens. Never a parameter value or a
// password.
import { describe, expect, it } from 'vitest'
import { connect, InterfaceError, Pool } from '../../src/index.js'
import { debugFlags, oneLine } from '../../src/client/query-log.js'
import { optionsFor, runScript, SRC_URL } from './_util.js'

const SECRET = 'a-parameter-value-never-logged'

function collector(): { lines: string[]; log: (line: string) => void } {
  const lines: string[] = []
  return { lines, log: (line) => lines.push(line) }
}

describe('debug flags', () => {
  it('reads the option, else PGLINE_DEBUG; 1 and true mean notices', () => {
    expect(debugFlags(undefined, undefined)).toEqual({ notice: false, query: false, protocol: false })
    expect(debugFlags(undefined, '1')).toEqual({ notice: true, query: false, protocol: false })
    expect(debugFlags(true, undefined)).toEqual({ notice: true, query: false, protocol: false })
    expect(debugFlags('query, Protocol', '1')).toEqual({ notice: false, query: true, protocol: true })
    expect(debugFlags(undefined, 'all')).toEqual({ notice: true, query: true, protocol: true })
    expect(debugFlags(false, 'all')).toEqual({ notice: false, query: false, protocol: false })
    expect(oneLine('select\n  1\n\tfrom t')).toBe('select 1 from t')
    expect(oneLine('x'.repeat(600))).toMatch(/\.\.\. \(600 chars\)$/)
  })
})

describe('the query log', () => {
  it("debug 'query': each statement, its duration, rows and process id; failures with their SQLSTATE; no values", async () => {
    const { lines, log } = collector()
    const conn = await connect(optionsFor('scram', { debug: 'query', log }))
    try {
      await conn.query('select $1::text as v,\n generate_series(1, 3)', [SECRET])
      await conn.query('select 1/0').catch(() => undefined)
      // The server's message would quote the value: the line has the SQLSTATE and class only.
      await conn.query('select $1::text::int', [SECRET]).catch(() => undefined)
      await conn.simpleQuery('select 1; select 2')
      await conn.pipeline(async (p) => {
        void p.query('select $1::text', [SECRET])
        await p.sync()
      })
      expect(lines).toHaveLength(5)
      expect(lines[0]).toMatch(new RegExp(`^pgline: query \\d+\\.\\d ms, SELECT 3 rows, pid ${conn.processId}: select \\$1::text as v, generate_series\\(1, 3\\)$`))
      expect(lines[1]).toMatch(/^pgline: query [\d.]+ ms, failed: 22012 \(DivisionByZero\), pid \d+: select 1\/0$/)
      expect(lines[2]).toMatch(/^pgline: query [\d.]+ ms, failed: 22P02 \(\w+\), pid \d+: select \$1::text::int$/)
      expect(lines[3]).toMatch(/^pgline: simple [\d.]+ ms, SELECT 1 row, pid \d+: select 1; select 2$/)
      expect(lines[4]).toMatch(/^pgline: pipelined /)
      expect(lines.join('\n')).not.toContain(SECRET)
    } finally {
      await conn.close()
    }
  })

  it('slowQueryMs: only statements at least that slow, marked SLOW; through a Pool too', async () => {
    const { lines, log } = collector()
    const pool = new Pool(optionsFor('scram', { slowQueryMs: 250, log }), { max: 1 })
    try {
      await pool.query('select 1')
      await pool.query('select pg_sleep(0.3)')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/^pgline: query SLOW \d+\.\d ms, SELECT 1 row, pid \d+: select pg_sleep\(0\.3\)$/)
    } finally {
      await pool.close()
    }
  })

  it('bad settings are refused by name', async () => {
    await expect(connect(optionsFor('scram', { slowQueryMs: -1 }))).rejects.toThrow(InterfaceError)
    await expect(connect(optionsFor('scram', { printNotices: 'loud' as never }))).rejects.toThrow(/printNotices must be/)
    await expect(connect(optionsFor('scram', { log: 'stderr' as never }))).rejects.toThrow(/log must be a function/)
  })

  it('a logger that throws, or rejects, breaks nothing (no unhandled rejection either)', async () => {
    for (const log of [() => { throw new Error('logger down') }, async () => { throw new Error('async logger down') }]) {
      const conn = await connect(optionsFor('scram', { debug: 'query,protocol', printNotices: 'all', log }))
      try {
        expect((await conn.query('select 2 as n')).rows).toEqual([{ n: 2 }])
        await conn.query("do $$ begin raise notice 'hi'; end $$")
      } finally {
        await conn.close()
      }
    }
  })
})

describe("debug 'protocol'", () => {
  it('each message, both ways, by type and length; the password exchange by length only', async () => {
    const { lines, log } = collector()
    const o = optionsFor('scram', { debug: 'protocol', log })
    const conn = await connect(o)
    await conn.query('select $1::text', [SECRET])
    await conn.close()
    const text = lines.join('\n')
    expect(lines[0]).toMatch(/^pgline: > StartupMessage \(\d+ bytes\)$/)
    for (const m of ['< Authentication', '> PasswordMessage', '< ParameterStatus', '< BackendKeyData', '< ReadyForQuery', '> Parse', '> Bind', '> Sync', '< DataRow', '< CommandComplete', '> Terminate']) {
      expect(text).toContain(`pgline: ${m} (`)
    }
    expect(text).not.toContain(SECRET)
    expect(text).not.toContain(o.password as string)
  })
})

describe('notices', () => {
  const RAISE = "do $$ begin raise warning 'careful now'; raise notice 'just so you know'; end $$"

  it('WARNING reaches the log by default, NOTICE does not; nothing once someone listens; all with printNotices all or debug', async () => {
    const runWith = async (extra: object, listen = false): Promise<string[]> => {
      const { lines, log } = collector()
      const conn = await connect(optionsFor('scram', { log, ...extra }))
      if (listen) conn.on('notice', () => {})
      await conn.query(RAISE)
      await conn.close()
      return lines
    }
    expect(await runWith({})).toEqual(['pgline: WARNING: careful now'])
    expect(await runWith({}, true)).toEqual([])
    expect(await runWith({ onNotice: () => {} })).toEqual([])
    expect(await runWith({ printNotices: 'none' })).toEqual([])
    expect(await runWith({ printNotices: 'all' })).toEqual(['pgline: WARNING: careful now', 'pgline: NOTICE: just so you know'])
    expect(await runWith({ debug: true }, true)).toEqual(['pgline: WARNING: careful now', 'pgline: NOTICE: just so you know'])
  })
})

describe('PGLINE_DEBUG in the environment', () => {
  it('query: a script prints its statements to stderr, and nothing else', async () => {
    const script = `import { connect } from ${JSON.stringify(SRC_URL)}
const conn = await connect(JSON.parse(process.env.OPTS))
await conn.query('select $1::int + 1 as n', [41])
await conn.close()`
    const out = await runScript(script, { PGLINE_DEBUG: 'query', OPTS: JSON.stringify(optionsFor('scram')) })
    expect(out.code, out.stderr).toBe(0)
    expect(out.stderr.trim()).toMatch(/^pgline: query [\d.]+ ms, SELECT 1 row, pid \d+: select \$1::int \+ 1 as n$/)
  })
})
