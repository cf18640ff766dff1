// Connection options that must not be parsed and then ignored (issue 7):
// min_protocol_version, requirepeer, ssl_min/max_protocol_version, sslcrl,
// sslcrldir, and keepalives_interval/keepalives_count (accepted, applied
// where Node can). The TLS ones against a real server are in
// test/integration/tls-options.test.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { connect, ConnectionError, InterfaceError } from '../../src/index.js'
import { resolveConfig } from '../../src/config/config.js'
import { Writer } from '../../src/protocol/writer.js'
import { Session, type SessionEvents } from '../../src/session/session.js'
import { openSocket } from '../../src/transport/socket.js'
import { loadCrls, startTls } from '../../src/transport/tls.js'
import type { PglineError } from '../../src/errors.js'
import { startFakeServer } from '../support/fake-server.js'

let dir = ''
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pgline-enforce-'))
})
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const fakeCrl = (n: number): string => `-----BEGIN X509 CRL-----\nTUlJQ${n}\n-----END X509 CRL-----\n`
const fakeCert = '-----BEGIN CERTIFICATE-----\nTUlJQ\n-----END CERTIFICATE-----\n'

function session(minProtocolVersion: '3.0' | '3.2' | undefined) {
  const fatals: PglineError[] = []
  const events: SessionEvents = { notice: () => {}, notification: () => {}, parameterStatus: () => {}, ready: () => {}, fatal: (e) => fatals.push(e), completed: () => {} }
  const s = new Session(
    new Writer(),
    { user: 'u', password: undefined, database: 'd', protocolVersion: '3.2', minProtocolVersion, applicationName: undefined, options: undefined, parameters: {} },
    events,
  )
  return { s, fatals }
}

describe('min_protocol_version', () => {
  it('refuses a server that negotiates below the minimum, naming both versions', () => {
    const { s, fatals } = session('3.2')
    s.handle({ type: 'NegotiateProtocolVersion', newestMinor: 0, unrecognized: [] })
    expect(fatals).toHaveLength(1)
    expect(fatals[0]).toBeInstanceOf(ConnectionError)
    expect(fatals[0]!.message).toBe('the server only supports protocol version 3.0, but min_protocol_version is 3.2')
    expect(s.phase).toBe('closed')
  })

  it('accepts the downgrade when the minimum allows it (the default is 3.0)', () => {
    for (const min of [undefined, '3.0'] as const) {
      const { s, fatals } = session(min)
      s.handle({ type: 'NegotiateProtocolVersion', newestMinor: 0, unrecognized: [] })
      expect(fatals).toEqual([])
      expect(s.protocolMinor).toBe(0)
    }
  })

  it('keeps 3.2 when the server only declines a _pq_ option', () => {
    const { s, fatals } = session('3.2')
    s.handle({ type: 'NegotiateProtocolVersion', newestMinor: 2, unrecognized: ['_pq_.x'] })
    expect(fatals).toEqual([])
    expect(s.protocolMinor).toBe(2)
  })

  it('validates the values as libpq 18 does: 3.0, 3.2, latest; min not above max', () => {
    expect(resolveConfig('min_protocol_version=latest', {}).minProtocolVersion).toBe('3.2')
    expect(resolveConfig('min_protocol_version=3.2', {}).minProtocolVersion).toBe('3.2')
    expect(resolveConfig({}, {}).minProtocolVersion).toBe('3.0')
    expect(() => resolveConfig('min_protocol_version=3.1', {})).toThrow(InterfaceError)
    expect(() => resolveConfig('min_protocol_version=3.2 max_protocol_version=3.0', {})).toThrow(/min_protocol_version 3.2 is newer than max_protocol_version 3.0/)
  })

  it('fails the connection to a (fake) server that downgrades to 3.0 when the minimum is 3.2', async () => {
    const server = await startFakeServer(async (conn) => {
      await conn.handshake({ maxMinor: 0 }).catch(() => undefined) // the client hangs up mid-handshake
      await conn.closed
    })
    try {
      const base = `host=127.0.0.1 port=${server.port} user=u dbname=d sslmode=disable connect_timeout=5`
      const err = await connect(`${base} min_protocol_version=3.2`).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConnectionError)
      expect((err as ConnectionError).message).toMatch(/only supports protocol version 3\.0, but min_protocol_version is 3\.2/)
      expect((err as ConnectionError).retrySafe).toBe(true)
      // Without the minimum, asking for 3.2 accepts the downgrade.
      const ok = await connect(`${base} max_protocol_version=latest`)
      expect(ok.protocolVersion).toBe('3.0')
      await ok.close()
    } finally {
      await server.close()
    }
  })

  it('moves on to the next host when one is too old', async () => {
    const old = await startFakeServer(async (conn) => {
      await conn.handshake({ maxMinor: 0 }).catch(() => undefined)
      await conn.closed
    })
    const current = await startFakeServer(async (conn) => {
      await conn.handshake()
      await conn.closed
    })
    try {
      const c = await connect(`host=127.0.0.1,127.0.0.1 port=${old.port},${current.port} user=u dbname=d sslmode=disable min_protocol_version=3.2`)
      expect(c.protocolVersion).toBe('3.2')
      c.terminate()
    } finally {
      await old.close()
      await current.close()
    }
  })
})

describe('requirepeer', () => {
  it('refuses a unix-socket connection with a clear InterfaceError, before connecting', async () => {
    const sockDir = path.join(dir, 'no-server-here')
    const err = await openSocket({ host: sockDir, port: 5432, keepAlive: true, keepAliveInitialDelay: 0, requirePeer: 'postgres' }, undefined).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InterfaceError)
    expect((err as Error).message).toMatch(/^requirepeer is not supported by pgline: Node cannot read the peer credentials of a unix socket/)
    expect((err as Error).message).toContain(`${sockDir}/.s.PGSQL.5432`)
    expect((err as Error).message).toContain('"postgres"')
  })

  it('is refused from a connection string or PGREQUIREPEER too', async () => {
    await expect(connect(`host=${dir} port=5999 user=u requirepeer=postgres`)).rejects.toThrow(/requirepeer is not supported/)
    const viaEnv = resolveConfig(`host=${dir}`, { PGREQUIREPEER: 'postgres' })
    expect(viaEnv.requirePeer).toBe('postgres')
  })

  it('connects to a listening unix socket only without requirepeer', async () => {
    const sockDir = mkdtempSync(path.join(os.tmpdir(), 'pgline-peer-'))
    const srv = net.createServer((s) => s.destroy())
    await new Promise<void>((resolve) => srv.listen(path.join(sockDir, '.s.PGSQL.5432'), resolve))
    try {
      const plain = await openSocket({ host: sockDir, port: 5432, keepAlive: true, keepAliveInitialDelay: 0 }, undefined)
      plain.destroy()
      await expect(
        openSocket({ host: sockDir, port: 5432, keepAlive: true, keepAliveInitialDelay: 0, requirePeer: 'postgres' }, undefined),
      ).rejects.toBeInstanceOf(InterfaceError)
    } finally {
      await new Promise((r) => srv.close(r))
      rmSync(sockDir, { recursive: true, force: true })
    }
  })

  it('is ignored over TCP, as by libpq', async () => {
    const server = await startFakeServer(async (conn) => {
      await conn.handshake()
      await conn.closed
    })
    try {
      const c = await connect(`host=127.0.0.1 port=${server.port} user=u dbname=d sslmode=disable requirepeer=postgres`)
      expect(c.closed).toBe(false)
      c.terminate()
    } finally {
      await server.close()
    }
  })
})

describe('ssl_min_protocol_version / ssl_max_protocol_version', () => {
  it('are validated as libpq does (default minimum TLSv1.2, no inverted range)', () => {
    const c = resolveConfig('sslmode=require', {})
    expect(c.ssl.minProtocolVersion).toBe('TLSv1.2')
    expect(c.ssl.maxProtocolVersion).toBeUndefined()
    expect(resolveConfig('ssl_min_protocol_version=TLSv1.3', {}).ssl.minProtocolVersion).toBe('TLSv1.3')
    expect(() => resolveConfig('ssl_max_protocol_version=TLSv1.4', {})).toThrow(InterfaceError)
    expect(() => resolveConfig('ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=TLSv1.2', {})).toThrow(/invalid SSL protocol version range/)
    // The default minimum TLSv1.2 is above a maximum of TLSv1.1, as in libpq.
    expect(() => resolveConfig('ssl_max_protocol_version=TLSv1.1', {})).toThrow(/invalid SSL protocol version range/)
  })

  it('an inverted range given as TLS options is refused before the handshake', () => {
    const sock = new net.Socket()
    expect(() => startTls(sock, '127.0.0.1', { mode: 'require', minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' })).toThrow(/ssl_min_protocol_version TLSv1.3 is above ssl_max_protocol_version TLSv1.2/)
    expect(() => startTls(sock, '127.0.0.1', { mode: 'require', maxVersion: 'TLSv1.1' })).toThrow(InterfaceError)
    expect(() => startTls(sock, '127.0.0.1', { mode: 'require', minVersion: 'SSLv3' as never })).toThrow(/invalid ssl_min_protocol_version "SSLv3"/)
    sock.destroy()
  })
})

describe('sslcrl / sslcrldir', () => {
  it('loads the CRLs of a file and of every file in a directory, skipping other PEM blocks', () => {
    const file = path.join(dir, 'one.crl')
    writeFileSync(file, fakeCrl(1))
    const crlDir = path.join(dir, 'crls')
    mkdirSync(crlDir)
    writeFileSync(path.join(crlDir, 'abcd1234.r0'), fakeCrl(2) + fakeCrl(3))
    writeFileSync(path.join(crlDir, 'abcd1234.0'), fakeCert) // a hashed directory also holds certificates
    mkdirSync(path.join(crlDir, 'sub'))
    expect(loadCrls(file, undefined)).toEqual([fakeCrl(1).trim()])
    expect(loadCrls(undefined, crlDir)).toEqual([fakeCrl(2).trim(), fakeCrl(3).trim()])
    expect(loadCrls([file, fakeCrl(4)], crlDir)).toHaveLength(4)
    expect(loadCrls(undefined, undefined)).toEqual([])
  })

  it('refuses what cannot be used rather than skipping the revocation check', () => {
    expect(() => loadCrls(path.join(dir, 'missing.crl'), undefined)).toThrow(/cannot read .*missing\.crl/)
    const notCrl = path.join(dir, 'cert.pem')
    writeFileSync(notCrl, fakeCert)
    expect(() => loadCrls(notCrl, undefined)).toThrow(/holds no PEM certificate revocation list/)
    expect(() => loadCrls(undefined, path.join(dir, 'no-such-dir'))).toThrow(/cannot read sslcrldir/)
    const empty = path.join(dir, 'empty-crls')
    mkdirSync(empty)
    writeFileSync(path.join(empty, 'x.0'), fakeCert)
    expect(() => loadCrls(undefined, empty)).toThrow(/sslcrldir ".*empty-crls" holds no PEM certificate revocation list/)
  })

  it('reach the TLS setup from the connection string (a missing sslcrl fails verify-ca before the handshake)', async () => {
    const root = path.join(dir, 'root.crt')
    writeFileSync(root, fakeCert)
    const server = await startFakeServer(async (conn) => {
      const p = await conn.readStartup()
      if (p.type === 'SSLRequest') await conn.sendRaw('S')
      await conn.closed
    })
    try {
      const base = `host=127.0.0.1 port=${server.port} user=u dbname=d sslmode=verify-ca sslrootcert=${root} connect_timeout=5`
      await expect(connect(`${base} sslcrl=${path.join(dir, 'gone.crl')}`)).rejects.toThrow(/cannot read .*gone\.crl/)
      await expect(connect(`${base} sslcrldir=${path.join(dir, 'gone')}`)).rejects.toThrow(/cannot read sslcrldir/)
      // Also with a `tls` object that does not mention CRLs: the libpq keyword still applies.
      await expect(connect({ host: '127.0.0.1', port: server.port, user: 'u', sslCrl: path.join(dir, 'gone.crl'), tls: { mode: 'verify-ca', rootCert: root } })).rejects.toThrow(/gone\.crl/)
    } finally {
      await server.close()
    }
  })
})

describe('keepalives_interval / keepalives_count', () => {
  it('are accepted; where Node cannot set them a one-time debug notice says so', async () => {
    const server = await startFakeServer(async (conn) => {
      await conn.handshake()
      await conn.closed
    })
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {})
    const saved = process.env.PGLINE_DEBUG
    process.env.PGLINE_DEBUG = '1'
    try {
      const s = `host=127.0.0.1 port=${server.port} user=u dbname=d sslmode=disable keepalives=1 keepalives_idle=30 keepalives_interval=5 keepalives_count=3`
      const cfg = resolveConfig(s, {})
      expect([cfg.keepAliveInitialDelay, cfg.keepAliveInterval, cfg.keepAliveCount]).toEqual([30_000, 5_000, 3])
      const a = await connect(s)
      const b = await connect(s)
      a.terminate()
      b.terminate()
      const notices = spy.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('not applied'))
      if (net.Socket.prototype.setKeepAlive.length >= 3) {
        expect(notices).toEqual([])
      } else {
        // Node 20: setKeepAlive(enable, initialDelay) only.
        expect(notices).toHaveLength(1)
        expect(notices[0]).toMatch(/keepalives_interval, keepalives_count not applied: Node .* \(only keepalives and keepalives_idle are applied\)/)
      }
    } finally {
      if (saved === undefined) delete process.env.PGLINE_DEBUG
      else process.env.PGLINE_DEBUG = saved
      spy.mockRestore()
      await server.close()
    }
  })
})
