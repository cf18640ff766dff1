// What resolving a configuration reads from the machine: files (pgpass, the
// service files, unix socket probes), the home directory and the login name.
// resolveConfig takes a Partial<ConfigSystem> so tests can replace any of it.

import { readFileSync, statSync } from 'node:fs'
import { homedir, userInfo } from 'node:os'

export interface FileInfo {
  /** Permission bits and file type bits, as fs.Stats.mode. */
  mode: number
  isFile: boolean
}

export interface ConfigSystem {
  /** The file's text, or undefined when it cannot be read (missing, a directory, no permission). */
  readFile(path: string): string | undefined
  /** Undefined when nothing exists at the path. */
  stat(path: string): FileInfo | undefined
  /** The user's home directory (for ~/.pgpass, ~/.pg_service.conf, ~/.postgresql/). */
  homeDir: string | undefined
  /** The login name, libpq's default user. */
  userName: string | undefined
  platform: NodeJS.Platform
  /**
   * Directories probed, in order, for `.s.PGSQL.<port>` when no host is given
   * (libpq's compiled-in socket directory is one of these on common builds).
   */
  socketDirs: readonly string[]
  /** Directories whose pg_service.conf is the system service file when PGSYSCONFDIR is unset (first one that has it). */
  sysconfDirs: readonly string[]
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f()
  } catch {
    return undefined
  }
}

let cached: ConfigSystem | undefined
let userName: string | undefined

/** The real machine. */
export function nodeSystem(): ConfigSystem {
  if (cached !== undefined) return cached
  const win = process.platform === 'win32'
  cached = {
    // Missing files are the common case (no pgpass, no service file): asked
    // without throwing, since an ENOENT exception per connect costs more
    // than the rest of resolving the configuration.
    readFile: (path) =>
      safe(() => {
        const s = statSync(path, { throwIfNoEntry: false })
        return s === undefined || s.isDirectory() ? undefined : readFileSync(path, 'utf8')
      }),
    stat: (path) =>
      safe(() => {
        const s = statSync(path, { throwIfNoEntry: false })
        return s === undefined ? undefined : { mode: s.mode, isFile: s.isFile() }
      }),
    get homeDir() {
      return safe(() => homedir()) || undefined
    },
    get userName() {
      // The login name does not change while the process runs.
      userName ??= safe(() => userInfo().username) || ''
      return userName || undefined
    },
    platform: process.platform,
    socketDirs: win ? [] : ['/var/run/postgresql', '/tmp'],
    sysconfDirs: win ? [] : ['/etc/postgresql-common', '/usr/local/pgsql/etc', '/etc'],
  }
  return cached
}
