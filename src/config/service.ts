// The connection service file: INI sections named after services, holding
// keyword=value lines.
//
//   # comment
//   [mydb]
//   host=somehost
//   port=5433
//
// Each line is trimmed at both ends; the keyword is everything before the
// first '=' and the value everything after it, taken literally (no quotes,
// no escapes). Within the service's section the first value of a keyword
// wins. Lines outside it are not looked at. The per-user file
// (PGSERVICEFILE, else ~/.pg_service.conf) is searched first; the system
// file (<PGSYSCONFDIR or the default sysconfdir>/pg_service.conf) only when
// the user file has no such service.

import path from 'node:path'
import { InterfaceError } from '../errors/base.js'
import { isKeyword, unknownKeyword, type Keyword } from './keywords.js'
import type { ConfigSystem } from './system.js'

export interface ServiceDefinition {
  /** The file the service was found in. */
  file: string
  /** Keyword -> value with the line each came from. */
  values: Map<Keyword, { value: string; line: number }>
}

/** The service's section in one file's text, or undefined when the file has no such section. */
export function findServiceSection(text: string, service: string, file: string): ServiceDefinition | undefined {
  const lines = text.split('\n')
  let found: ServiceDefinition | undefined
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === '' || line.startsWith('#')) continue
    if (line.startsWith('[')) {
      if (found !== undefined) break // the next section: done
      const close = line.indexOf(']')
      if (close > 0 && line.slice(1, close) === service) found = { file, values: new Map() }
      continue
    }
    if (found === undefined) continue
    const where = `service file "${file}", line ${i + 1}`
    const eq = line.indexOf('=')
    if (eq < 0) throw new InterfaceError(`syntax error in ${where}: expected keyword=value`)
    const key = line.slice(0, eq)
    if (key === 'service') throw new InterfaceError(`nested service specifications are not supported (${where})`)
    if (!isKeyword(key)) throw unknownKeyword(key, where)
    if (!found.values.has(key)) found.values.set(key, { value: line.slice(eq + 1), line: i + 1 })
  }
  return found
}

/** The per-user and system service files, in search order. */
export function serviceFiles(env: NodeJS.ProcessEnv, sys: ConfigSystem): { user: string | undefined; userExplicit: boolean; system: string[] } {
  const explicit = env.PGSERVICEFILE !== undefined && env.PGSERVICEFILE !== ''
  let user: string | undefined
  if (explicit) {
    user = env.PGSERVICEFILE
  } else if (sys.platform === 'win32') {
    user = env.APPDATA ? path.win32.join(env.APPDATA, 'postgresql', '.pg_service.conf') : undefined
  } else if (sys.homeDir !== undefined) {
    user = path.posix.join(sys.homeDir, '.pg_service.conf')
  }
  const join = sys.platform === 'win32' ? path.win32.join : path.posix.join
  const system =
    env.PGSYSCONFDIR !== undefined && env.PGSYSCONFDIR !== ''
      ? [join(env.PGSYSCONFDIR, 'pg_service.conf')]
      : sys.sysconfDirs.map((d) => join(d, 'pg_service.conf'))
  return { user, userExplicit: explicit, system }
}

/** Looks the service up in the user file, then the system file; an error when neither defines it. */
export function loadService(service: string, env: NodeJS.ProcessEnv, sys: ConfigSystem): ServiceDefinition {
  const files = serviceFiles(env, sys)
  if (files.user !== undefined) {
    const text = sys.readFile(files.user)
    if (text === undefined && files.userExplicit) {
      throw new InterfaceError(`service file "${files.user}" (PGSERVICEFILE) not found`)
    }
    const found = text === undefined ? undefined : findServiceSection(text, service, files.user)
    if (found !== undefined) return found
  }
  // With PGSYSCONFDIR set there is one system file; otherwise the first default that exists.
  for (const file of files.system) {
    const text = sys.readFile(file)
    if (text === undefined) continue
    const found = findServiceSection(text, service, file)
    if (found !== undefined) return found
    break
  }
  const searched = [files.user, ...files.system].filter((f): f is string => f !== undefined)
  throw new InterfaceError(`definition of service "${service}" not found (searched ${searched.join(', ')})`)
}
