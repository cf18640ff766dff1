// Types `inject('server')` / `project.provide('server', ...)`.
import type { ServerInfo } from './embedded.js'

declare module 'vitest' {
  export interface ProvidedContext {
    server: ServerInfo
  }
}
