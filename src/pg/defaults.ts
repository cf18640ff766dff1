// node-postgres's `defaults`: connection fallbacks (beneath the config and
// the PG* environment) and parseInt8, which switches int8 to numbers.

import { getParseInt8, setParseInt8 } from './types.js'
import { valueOptions } from './values.js'

export const defaults = {
  host: 'localhost' as string | undefined,
  /** The OS user, as node-postgres takes it. */
  user: (process.platform === 'win32' ? process.env.USERNAME : process.env.USER) as string | undefined,
  /** Unset: the user's name. */
  database: undefined as string | undefined,
  password: null as string | null | undefined,
  port: 5432,
  rows: 0,
  binary: false,
  max: 10,
  idleTimeoutMillis: 30_000,
  client_encoding: '',
  ssl: false,
  application_name: undefined as string | undefined,
  statement_timeout: false as number | false,
  query_timeout: false as number | false,
  connect_timeout: 0,
  keepalives: 1,
  keepalives_idle: 0,
  get parseInt8(): boolean {
    return getParseInt8()
  },
  set parseInt8(on: boolean) {
    setParseInt8(on)
  },
  get parseInputDatesAsUTC(): boolean {
    return valueOptions.parseInputDatesAsUTC
  },
  set parseInputDatesAsUTC(on: boolean) {
    valueOptions.parseInputDatesAsUTC = on
  },
}
