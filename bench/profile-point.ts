// Profiles pgline alone on the point-select workload:
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-point.ts
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
  const n = Number(process.argv[2] ?? 30000)
  const t0 = performance.now()
  for (let k = 0; k < n; k++) await conn.query(POINT_SELECT, [((k * 7919) % 100000) + 1])
  const ms = performance.now() - t0
  console.log(`${n} queries in ${ms.toFixed(0)} ms: ${Math.round((n / ms) * 1000)} q/s`)
  await conn.close()
} finally {
  await server.stop()
}
