// MD5 password authentication: the server stores md5(password || user) and
// asks for md5(that-hex || salt). Weak, but still met on older servers.

import { createHash } from 'node:crypto'

function md5hex(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex')
}

export function md5Response(user: string, password: string, salt: Uint8Array): string {
  const inner = md5hex(password + user)
  return 'md5' + md5hex(Buffer.concat([Buffer.from(inner), salt]))
}
