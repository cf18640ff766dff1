// vitest globalSetup: one server for the whole run, handed to test files via
// provide/inject (see env.ts); the returned function is the run's teardown.
import type { TestProject } from 'vitest/node'
import { resolveTestServer } from './server.js'

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await resolveTestServer()
  project.provide('server', server.info)
  return () => server.stop()
}
