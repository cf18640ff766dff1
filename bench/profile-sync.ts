// The sync API's per-call cost against the async API's, interleaved:
//   taskset -c 0 node --import tsx bench/profile-sync.ts [rounds] [perRound] [distDir...]
// Point selects (as bench/sync.ts) from the build in dist/ (or the given
// build directories, to compare two builds of the sync API side by side),
// async and sync rounds alternating (A B A B ...); prints the median µs per
// call of each and the sync overhead. The server is pinned to CPU 1, so run
// the script itself on CPU 0 to match `npm run bench`.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { loadData } from './data.js'
import { POINT_SELECT } from './drivers.js'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const rounds = Number(process.argv[2] ?? 15)
const perRound = Number(process.argv[3] ?? 3000)
const dists = process.argv.length > 4 ? process.argv.slice(4) : [path.join(root, 'dist')]

interface SyncConn {
  query(sql: string, params?: readonly unknown[]): { rows: unknown[] }
  close(): void
}

const { startEmbedded } = await import('../test/support/embedded.js')
const server = await startEmbedded({ major: 18, cpu: 1 })
const i = server.info
const target = { host: i.host, port: i.port, user: i.superuser.user, password: i.superuser.password ?? '', database: i.database }
const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
try {
  await loadData(target)
  const { connect } = (await import(pathToFileURL(path.join(dists[0]!, 'index.js')).href)) as typeof import('../src/index.js')
  const conn = await connect(target)
  const syncs: SyncConn[] = []
  for (const d of dists) {
    const { connectSync } = (await import(pathToFileURL(path.join(d, 'sync', 'index.js')).href)) as { connectSync(t: object): SyncConn }
    syncs.push(connectSync(target))
  }
  let k = 0
  const id = (): number => ((k++ * 7919) % 100000) + 1
  const asyncUs: number[] = []
  const syncUs: number[][] = syncs.map(() => [])
  // CPU time of this process (all threads: the caller and the sync workers) per call: less noisy than wall time on a busy machine.
  const asyncCpu: number[] = []
  const syncCpu: number[][] = syncs.map(() => [])
  /** Context switches of this process's threads (voluntary and not), from /proc; 0 where there is no /proc. */
  const switches = (): number => {
    let n = 0
    try {
      for (const t of readdirSync('/proc/self/task')) {
        const st = readFileSync(`/proc/self/task/${t}/status`, 'utf8')
        for (const m of st.matchAll(/ctxt_switches:\s+(\d+)/g)) n += Number(m[1])
      }
    } catch {}
    return n
  }
  const asyncSw: number[] = []
  const syncSw: number[][] = syncs.map(() => [])
  const cpu = (): number => {
    const u = process.cpuUsage()
    return u.user + u.system
  }
  // Warm-up.
  for (let j = 0; j < 2000; j++) await conn.query(POINT_SELECT, [id()])
  for (const s of syncs) for (let j = 0; j < 2000; j++) s.query(POINT_SELECT, [id()])
  for (let r = 0; r < rounds; r++) {
    let w0 = switches()
    let c0 = cpu()
    let t0 = performance.now()
    for (let j = 0; j < perRound; j++) await conn.query(POINT_SELECT, [id()])
    asyncUs.push(((performance.now() - t0) * 1000) / perRound)
    asyncCpu.push((cpu() - c0) / perRound)
    asyncSw.push((switches() - w0) / perRound)
    for (let s = 0; s < syncs.length; s++) {
      const c = syncs[(s + r) % syncs.length]!
      w0 = switches()
      c0 = cpu()
      t0 = performance.now()
      for (let j = 0; j < perRound; j++) c.query(POINT_SELECT, [id()])
      syncUs[(s + r) % syncs.length]!.push(((performance.now() - t0) * 1000) / perRound)
      syncCpu[(s + r) % syncs.length]!.push((cpu() - c0) / perRound)
      syncSw[(s + r) % syncs.length]!.push((switches() - w0) / perRound)
    }
  }
  const a = median(asyncUs)
  const ac = median(asyncCpu)
  console.log(`async: ${a.toFixed(1)} µs/call (min ${Math.min(...asyncUs).toFixed(1)}), CPU ${ac.toFixed(1)} µs/call, ${median(asyncSw).toFixed(2)} context switches/call`)
  syncUs.forEach((u, s) => {
    const m = median(u)
    // Per-round overhead (sync minus the async round just before it), then the median of those.
    const over = median(u.map((x, r) => x - asyncUs[r]!))
    const sc = median(syncCpu[s]!)
    console.log(
      `sync ${dists[s]}: ${m.toFixed(1)} µs/call (min ${Math.min(...u).toFixed(1)}), overhead ${(m - a).toFixed(1)} µs (median of paired ${over.toFixed(1)}), ratio ${(m / a).toFixed(2)}; CPU ${sc.toFixed(1)} µs/call (+${(sc - ac).toFixed(1)}), ${median(syncSw[s]!).toFixed(2)} context switches/call`,
    )
  })
  for (const s of syncs) s.close()
  await conn.close()
} finally {
  await server.stop()
}
