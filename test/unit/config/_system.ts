// An in-memory machine for resolveConfig: files with modes, a home directory
// and a login name, so tests never read the real ~/.pgpass or sockets.
import type { ConfigSystem } from '../../../src/config/system.js'

export interface MemoryFile {
  content?: string
  /** Permission bits; 0o600 by default. */
  mode?: number
  /** A socket or directory rather than a regular file. */
  kind?: 'file' | 'socket' | 'dir'
}

export function memorySystem(files: Record<string, string | MemoryFile> = {}, extra: Partial<ConfigSystem> = {}): ConfigSystem {
  const get = (p: string): MemoryFile | undefined => {
    const f = files[p]
    return typeof f === 'string' ? { content: f } : f
  }
  return {
    readFile: (p) => {
      const f = get(p)
      return f === undefined || (f.kind ?? 'file') !== 'file' ? undefined : (f.content ?? '')
    },
    stat: (p) => {
      const f = get(p)
      if (f === undefined) return undefined
      const kind = f.kind ?? 'file'
      const type = kind === 'file' ? 0o100000 : kind === 'dir' ? 0o040000 : 0o140000
      return { mode: type | (f.mode ?? 0o600), isFile: kind === 'file' }
    },
    homeDir: '/home/alice',
    userName: 'alice',
    platform: 'linux',
    socketDirs: ['/var/run/postgresql', '/tmp'],
    sysconfDirs: ['/etc/postgresql-common'],
    ...extra,
  }
}
