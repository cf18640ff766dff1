// The sync API (`import { connectSync } from 'pgline/sync'`) next to the async
// one: sequential point selects both ways, and the per-call cost of the
// thread hop. The sync API runs its connection in a worker thread loaded by
// plain Node, so it is measured from the build (dist/); the async reference
// comes from the same build, so the two differ only by the hop. Skipped when
// dist/sync/index.js is absent (`npm run build` makes it).

import { existsSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Connection, Result } from '../src/index.js'
import { idStream, sequential, type Workload } from './contenders.js'
import { USERS } from './data.js'
import { POINT_SELECT, type BenchTarget } from './drivers.js'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const syncEntry = path.join(root, 'dist', 'sync', 'index.js')
const asyncEntry = path.join(root, 'dist', 'index.js')

/** The part of a SyncConnection the benchmark uses. */
interface SyncConnection {
  query(sql: string, params?: readonly unknown[]): Result
  close(): void
}

const PER_CALL = 100

/** The newest modification time among src/ files under `dir`, in ms. */
function newest(dir: string): number {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

export const syncWorkloads: Workload[] = [
  {
    name: 'sync-point-select',
    title: `${PER_CALL} sequential point selects by primary key (as point-select), pgline's sync API against its async API, both from dist/`,
    unit: 'queries/s',
    perCall: PER_CALL,
    tables: ['users'],
    skip: () => (existsSync(syncEntry) ? undefined : `${path.relative(process.cwd(), syncEntry)} is absent (run \`npm run build\` first)`),
    notes: () => {
      const notes = ['Both run in this process, pinned to the client CPU: the sync API\'s worker thread shares that CPU with the caller.']
      try {
        if (newest(path.join(root, 'src')) > statSync(syncEntry).mtimeMs) notes.push('dist/ is older than src/: run `npm run build` for current figures.')
      } catch {}
      return notes
    },
    extra: { header: 'µs per query', value: (perSecond) => (1e6 / perSecond).toFixed(1) },
    contenders: () => [
      {
        label: 'pgline (async, dist/)',
        async open(t: BenchTarget) {
          const { connect } = (await import(pathToFileURL(asyncEntry).href)) as { connect(t: BenchTarget): Promise<Connection> }
          const conn = await connect(t)
          const id = idStream(USERS)
          return { call: () => sequential(PER_CALL, () => conn.query(POINT_SELECT, [id()])), close: () => conn.close() }
        },
      },
      {
        label: 'pgline sync (connectSync, dist/)',
        async open(t: BenchTarget) {
          const { connectSync } = (await import(pathToFileURL(syncEntry).href)) as { connectSync(t: BenchTarget): SyncConnection }
          const conn = connectSync(t)
          const id = idStream(USERS)
          const r = conn.query(POINT_SELECT, [1])
          if (r.rows.length !== 1) throw new Error(`sync point select returned ${r.rows.length} rows`)
          return {
            call: async () => {
              for (let k = 0; k < PER_CALL; k++) conn.query(POINT_SELECT, [id()])
            },
            close: async () => conn.close(),
          }
        },
      },
    ],
    summary: (rows) => {
      const a = rows.find((r) => r.name.startsWith('pgline (async'))
      const s = rows.find((r) => r.name.startsWith('pgline sync'))
      if (!a || !s) return []
      const us = (qps: number): number => 1e6 / qps
      return [
        `Sync per-call overhead: ${(us(s.median) - us(a.median)).toFixed(1)} µs (sync mean latency ${us(s.median).toFixed(1)} µs − async ${us(a.median).toFixed(1)} µs, from the medians).`,
      ]
    },
  },
]
