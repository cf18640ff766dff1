// The log for people: PGLINE_DEBUG=query (or the debug option) prints each
// statement with its duration, row count and the session's process id;
// slowQueryMs prints only the slow ones; PGLINE_DEBUG=protocol prints each
// message's type and length in both directions. None of it ever prints a
// parameter value, a row or a password: statements are shown as written,
// with their $n placeholders.

/** What the debug option or PGLINE_DEBUG asks for. */
export interface DebugFlags {
  notice: boolean
  query: boolean
  protocol: boolean
}

const NONE: DebugFlags = { notice: false, query: false, protocol: false }

/** Reads `debug` (true, or a list such as 'query,protocol'), falling back to PGLINE_DEBUG ('1' means notices). */
export function debugFlags(option: boolean | string | undefined, env: string | undefined = process.env.PGLINE_DEBUG): DebugFlags {
  const value = option ?? env
  if (value === undefined || value === false || value === '' || value === '0') return NONE
  if (value === true) return { notice: true, query: false, protocol: false }
  const words = new Set(value.split(/[\s,]+/).filter(Boolean).map((w) => w.toLowerCase()))
  return {
    notice: words.has('1') || words.has('true') || words.has('notice') || words.has('all'),
    query: words.has('query') || words.has('all'),
    protocol: words.has('protocol') || words.has('all'),
  }
}

/**
 * Hands a line to the log function: one that throws, or returns a promise
 * that rejects, must not break the query or the process.
 */
export function writeLine(log: (line: string) => void, line: string): void {
  try {
    const r = log(line) as unknown
    if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') (r as Promise<unknown>).then(undefined, () => {})
  } catch {
    // as above
  }
}

/** One line for a statement: newlines folded, very long text cut (the log is for reading). */
export function oneLine(sql: string, max = 500): string {
  const flat = sql.replace(/\s+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max)}... (${flat.length} chars)` : flat
}

export class QueryLog {
  constructor(
    private readonly all: boolean,
    private readonly slowMs: number | undefined,
    private readonly write: (line: string) => void,
    private readonly processId: () => number,
  ) {}

  /** The settle functions to use instead of resolve and reject, which log the statement once it settles. */
  wrap(kind: string, sql: string, resolve: (value: unknown) => void, reject: (err: Error) => void): [(value: unknown) => void, (err: Error) => void] {
    const since = performance.now()
    return [
      (value) => {
        this.line(kind, sql, performance.now() - since, rowsOf(value), undefined)
        resolve(value)
      },
      (err) => {
        this.line(kind, sql, performance.now() - since, undefined, err)
        reject(err)
      },
    ]
  }

  private line(kind: string, sql: string, ms: number, rows: string | undefined, err: Error | undefined): void {
    if (!this.all && (this.slowMs === undefined || ms < this.slowMs)) return
    const slow = this.slowMs !== undefined && ms >= this.slowMs ? ' SLOW' : ''
    // The SQLSTATE (or the error's class), not its message: a server's
    // message may quote the value it refused, which is a parameter.
    const outcome = err === undefined ? (rows ?? 'done') : `failed: ${codeOf(err)}`
    writeLine(this.write, `pgline: ${kind}${slow} ${ms.toFixed(1)} ms, ${outcome}, pid ${this.processId()}: ${oneLine(sql)}`)
  }
}

function rowsOf(value: unknown): string | undefined {
  const r = (Array.isArray(value) ? value[value.length - 1] : value) as { command?: string; rowCount?: number | null } | undefined
  if (r === undefined || r === null || typeof r !== 'object') return undefined
  return r.rowCount === null || r.rowCount === undefined ? `${r.command ?? 'done'}` : `${r.command ?? ''} ${r.rowCount} row${r.rowCount === 1 ? '' : 's'}`.trim()
}

function codeOf(err: Error): string {
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? `${code} (${err.name})` : err.name
}
