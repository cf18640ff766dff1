// pg-copy-streams (COPY for pg), when it can be loaded. It is not a
// dependency: scripts/bench-setup.sh installs it without touching
// package.json. It ships no types; the declaration below covers only what the
// benchmark calls: `client.query(from(sql))` is a Writable that ends the COPY
// when it finishes, `client.query(to(sql))` a Readable of raw chunks.

import type { Readable, Writable } from 'node:stream'
import type pg from 'pg'

export interface CopyStreams {
  from(sql: string): Writable & pg.Submittable
  to(sql: string): Readable & pg.Submittable
}

/** Loads pg-copy-streams; returns it, or why it cannot be used. */
export async function loadCopyStreams(): Promise<CopyStreams | string> {
  const specifier: string = 'pg-copy-streams' // a variable: the module may be absent
  try {
    const mod = (await import(specifier)) as { default?: CopyStreams } & Partial<CopyStreams>
    const m = mod.default ?? mod
    if (typeof m.from !== 'function' || typeof m.to !== 'function') return 'pg-copy-streams has no from()/to()'
    return { from: m.from, to: m.to }
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err)
    return `cannot import pg-copy-streams (${msg}); \`bash scripts/bench-setup.sh\` installs it`
  }
}
