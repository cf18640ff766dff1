// Does the pool hold its throughput under sustained load? 200 callers through
// a pool of 10 for 60 s, reported per 10 s window:
//   taskset -c 0 npx tsx bench/pool-decay.ts [seconds]
import { Pool } from '../src/index.js'
import { loadData, USERS } from './data.js'
import { POINT_SELECT } from './drivers.js'

const { startEmbedded } = await import('../test/support/embedded.js')
const server = await startEmbedded({ major: 18, cpu: 1 })
const i = server.info
const target = { host: i.host, port: i.port, user: i.superuser.user, password: i.superuser.password ?? '', database: i.database }
const seconds = Number(process.argv[2] ?? 60)
try {
  await loadData(target)
  const pool = new Pool(target, { max: 10 })
  let done = 0
  let id = 0
  const end = performance.now() + seconds * 1000
  const windows: number[] = []
  let last = 0
  const timer = setInterval(() => {
    windows.push((done - last) / 10)
    console.log(`window ${windows.length}: ${Math.round((done - last) / 10)} q/s`)
    last = done
  }, 10_000)
  await Promise.all(
    Array.from({ length: 200 }, async () => {
      while (performance.now() < end) {
        await pool.query(POINT_SELECT, [(id++ % USERS) + 1])
        done++
      }
    }),
  )
  clearInterval(timer)
  const first = windows[0] ?? 0
  const lastWindow = windows[windows.length - 1] ?? 0
  console.log(`last window / first window: ${(lastWindow / first).toFixed(2)}`)
  await pool.close()
} finally {
  await server.stop()
}
