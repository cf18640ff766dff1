// Picks the PostgreSQL server the test run talks to, in this order:
//   1. PGLINE_TEST_URL (an existing server; all role slots are the URL's user)
//   2. a postgres:18 container, only if a Docker engine answers right now
//   3. an embedded PostgreSQL 18 (the normal case, and the CI case)
import { existsSync } from 'node:fs'
import http from 'node:http'
import { startEmbedded, type ServerInfo } from './embedded.js'
import { hbaConf, provision, randomPassword, serverMajor, TEST_DATABASE } from './provision.js'

export interface TestServer { info: ServerInfo; stop(): Promise<void> }

export async function resolveTestServer(): Promise<TestServer> {
  const t0 = Date.now()
  const url = process.env['PGLINE_TEST_URL']
  let server: TestServer
  let what: string
  if (url) {
    server = await fromUrl(url)
    what = 'PGLINE_TEST_URL'
  } else if (await dockerAnswers()) {
    server = await fromContainer()
    what = 'testcontainers postgres:18'
  } else {
    server = await startEmbedded({ major: 18 })
    what = 'embedded PostgreSQL'
  }
  const { host, port, database, major, superuser } = server.info
  // One line, never a password.
  console.log(`[pgline] test server: ${what} ${major} at ${host}:${port}/${database} (user ${superuser.user}), ready in ${Date.now() - t0} ms`)
  return server
}

async function fromUrl(raw: string): Promise<TestServer> {
  const u = new URL(raw)
  const user = decodeURIComponent(u.username) || 'postgres'
  const role = u.password ? { user, password: decodeURIComponent(u.password) } : { user }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1'
  const port = Number(u.port) || 5432
  const database = decodeURIComponent(u.pathname.slice(1)) || user // libpq's default
  const major = await serverMajor({ host, port, database, ...role })
  return {
    info: {
      host, port, socketDir: '', database, superuser: role, major, dataDir: '',
      roles: { trust: role, password: role, md5: role, scram: role },
    },
    stop: async () => {}, // not ours to stop
  }
}

/** GET /_ping on the Docker socket, 2 s budget; any failure means "no Docker". */
function dockerAnswers(): Promise<boolean> {
  const dockerHost = process.env['DOCKER_HOST'] ?? ''
  const socketPath = dockerHost.startsWith('unix://') ? dockerHost.slice(7) : '/var/run/docker.sock'
  if (!existsSync(socketPath)) return Promise.resolve(false)
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
  })
}

async function fromContainer(): Promise<TestServer> {
  const { GenericContainer, Wait } = await import('testcontainers') // lazy: heavy, rarely used
  const password = randomPassword()
  const hbaFile = '/etc/pgline/pg_hba.conf'
  const settings = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'max_connections=200',
    'lc_messages=C', 'timezone=UTC', 'log_min_error_statement=panic', `hba_file=${hbaFile}`]
  const container = await new GenericContainer('postgres:18')
    .withEnvironment({ POSTGRES_USER: 'postgres', POSTGRES_PASSWORD: password })
    // Clients come in through the docker bridge, not loopback.
    .withCopyContentToContainer([{ content: hbaConf('0.0.0.0/0', '::/0'), target: hbaFile, mode: 0o644 }])
    .withCommand(['postgres', ...settings.flatMap((s) => ['-c', s])])
    .withExposedPorts(5432)
    // The image's entrypoint runs a temporary server first; wait for the real one.
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start()
  try {
    const superuser = { user: 'postgres', password }
    const admin = { host: container.getHost(), port: container.getMappedPort(5432), database: 'postgres', ...superuser }
    const roles = await provision(admin, () => {})
    return {
      info: {
        host: admin.host, port: admin.port, socketDir: '', database: TEST_DATABASE,
        superuser, roles, major: await serverMajor(admin), dataDir: '',
      },
      stop: async () => { await container.stop() },
    }
  } catch (err) {
    await container.stop()
    throw err
  }
}
