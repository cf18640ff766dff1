// A server that completes the startup handshake and then never answers
// anything (not even a query a CancelRequest targets): run in a child process
// by the sync tests, since a test thread blocked in a sync call could not
// serve it. Prints `port=<n>` once listening; runs until killed.
import { backendKeyData, parameterStatus, readyForQuery } from '../support/backend-encoder.js'
import { DEFAULT_PARAMETERS, startFakeServer } from '../support/fake-server.js'

const server = await startFakeServer(async (conn) => {
  let p = await conn.readStartup()
  while (p.type === 'SSLRequest' || p.type === 'GSSENCRequest') {
    await conn.sendRaw('N')
    p = await conn.readStartup()
  }
  // A CancelRequest comes on a connection of its own: hang up, as PostgreSQL does.
  if (p.type !== 'StartupMessage') return
  await conn.send(
    { type: 'AuthenticationOk' },
    ...Object.entries(DEFAULT_PARAMETERS).map(([name, value]) => parameterStatus(name, value)),
    backendKeyData(4242, Buffer.alloc(p.minor >= 2 ? 32 : 4, 7)),
    readyForQuery('I'),
  )
  await conn.closed // silent from here on
})
console.log(`port=${server.port}`)
const stop = (): void => {
  void server.close().finally(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
