// Test certificates made with the openssl command (a CA, a server
// certificate for localhost/127.0.0.1, and more per test file).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** Whether the openssl command runs here; a test file that needs it skips (and says so) without it. */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Runs openssl in `dir`, quietly; throws if it fails. */
export function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
}

/**
 * A new temp directory with a CA (root.crt, ca.key) and a server certificate
 * it signed (server.crt, server.key) for localhost and 127.0.0.1.
 */
export function makeCaAndServer(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix))
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'root.crt', '-days', '2', '-subj', '/CN=pgline test CA')
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost')
  openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'root.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext')
  return dir
}
