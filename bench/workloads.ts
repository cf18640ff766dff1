// Workloads: each makes one timed call for a driver handle; perCall says how
// many operations one call performs (for per-second figures).
import type { Handle } from './drivers.js'
import { USERS } from './data.js'

export interface Workload {
  name: string
  title: string
  unit: string
  perCall: number
  drivers?: string[]
  make(h: Handle): () => Promise<unknown>
}

export const workloads: Workload[] = [
  {
    name: 'point-select',
    title: 'sequential point select by primary key on a 100k-row table',
    unit: 'queries/s',
    perCall: 1,
    make(h) {
      let i = 0
      return () => h.pointSelect(((i++ * 7919) % USERS) + 1)
    },
  },
]
