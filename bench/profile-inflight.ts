// Profiles pgline alone on the 100-in-flight workload:
//   taskset -c 0 node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-inflight.ts
import { connect } from '../src/index.js'
import { loadData } from './data.js'
import { POINT_SELECT } from './drivers.js'

const { startEmbedded } = await import('../test/support/embedded.js')
const server = await startEmbedded({ major: 18, cpu: 1 })
const i = server.info
const target = { host: i.host, port: i.port, user: i.superuser.user, password: i.superuser.password ?? '', database: i.database }
try {
  await loadData(target)
  const conn = await connect(target)
  const rounds = Number(process.argv[2] ?? 3000)
  const { readFileSync } = await import('node:fs')
  const cpu1 = (): number[] => readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu1 '))!.trim().split(/\s+/).slice(1).map(Number)
  const s0 = cpu1()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  for (let r = 0; r < rounds; r++) {
    if (process.env.EXPLICIT) await conn.pipeline((p) => Promise.all(Array.from({ length: 100 }, (_, k) => p.query(POINT_SELECT, [((r * 100 + k) % 100000) + 1]))))
    else await Promise.all(Array.from({ length: 100 }, (_, k) => conn.query(POINT_SELECT, [((r * 100 + k) % 100000) + 1])))
  }
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const s1 = cpu1()
  const total = s1.reduce((a, b) => a + b, 0) - s0.reduce((a, b) => a + b, 0)
  const idle = s1[3]! + s1[4]! - s0[3]! - s0[4]!
  console.log(`server CPU (cpu1) busy ${(((total - idle) / total) * 100).toFixed(0)}%`)
  console.log(`${rounds * 100} queries in ${ms.toFixed(0)} ms: ${Math.round(((rounds * 100) / ms) * 1000)} q/s; client CPU ${(((cpu.user + cpu.system) / 1000 / ms) * 100).toFixed(0)}% (user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms)`)
  await conn.close()
} finally {
  await server.stop()
}
