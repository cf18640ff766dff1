// Parameters as node-postgres prepares them: everything becomes text for the
// server to read as the type it infers, except Buffers (bytea); Dates in the
// process's local offset, arrays as array literals, objects as JSON or
// through their toPostgres().

export const valueOptions = { parseInputDatesAsUTC: false }

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

function dateToString(d: Date, utc: boolean): string {
  let year = utc ? d.getUTCFullYear() : d.getFullYear()
  const bc = year < 1
  if (bc) year = 1 - year // year 0 is 1 BC
  let out =
    `${pad(year, 4)}-${pad((utc ? d.getUTCMonth() : d.getMonth()) + 1)}-${pad(utc ? d.getUTCDate() : d.getDate())}` +
    `T${pad(utc ? d.getUTCHours() : d.getHours())}:${pad(utc ? d.getUTCMinutes() : d.getMinutes())}:${pad(utc ? d.getUTCSeconds() : d.getSeconds())}` +
    `.${pad(utc ? d.getUTCMilliseconds() : d.getMilliseconds(), 3)}`
  if (utc) out += '+00:00'
  else {
    const offset = -d.getTimezoneOffset()
    out += `${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
  }
  return bc ? `${out} BC` : out
}

function quoteElement(s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"'
}

function arrayLiteral(values: readonly unknown[], seen: unknown[]): string {
  const parts: string[] = []
  for (const v of values) {
    if (v === null || v === undefined) parts.push('NULL')
    else if (Array.isArray(v)) parts.push(arrayLiteral(v, seen))
    else if (v instanceof Uint8Array) parts.push(quoteElement('\\x' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')))
    else parts.push(quoteElement(String(prepareValue(v, seen))))
  }
  return `{${parts.join(',')}}`
}

/** One parameter as node-postgres sends it: null, a Buffer, or text. */
export function prepareValue(value: unknown, seen: unknown[] = []): string | Buffer | null {
  if (value === null || value === undefined) return null
  if (typeof value === 'object') {
    if (Buffer.isBuffer(value)) return value
    if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    if (value instanceof Date) return dateToString(value, valueOptions.parseInputDatesAsUTC)
    if (Array.isArray(value)) return arrayLiteral(value, seen)
    const withToPostgres = value as { toPostgres?: (prepare: (v: unknown) => unknown) => unknown }
    if (typeof withToPostgres.toPostgres === 'function') {
      if (seen.includes(value)) throw new Error(`circular reference detected while preparing "${String(value)}" for query`)
      seen.push(value)
      return prepareValue(withToPostgres.toPostgres(prepareValue), seen)
    }
    return JSON.stringify(value)
  }
  return String(value)
}

export function prepareValues(values: readonly unknown[] | undefined): (string | Buffer | null)[] {
  if (values === undefined) return []
  const out = new Array<string | Buffer | null>(values.length)
  for (let i = 0; i < values.length; i++) out[i] = prepareValue(values[i])
  return out
}
