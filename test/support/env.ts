// What test files use to reach the run's server (started in global-setup.ts).
import { inject } from 'vitest'
import type { ServerInfo } from './embedded.js'

export type { RoleInfo, ServerInfo } from './embedded.js'

export function testServer(): ServerInfo {
  return inject('server')
}
