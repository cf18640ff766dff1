// inet, cidr, macaddr, macaddr8 -> string, as the server prints them; the
// binary forms are spelled the same way (inet_net_ntop's rules: IPv6 with the
// longest run of zero groups shortened to '::', IPv4-mapped tails in dotted
// form). Parameters go as text (strings only), for the server to validate.
import type { TypeMap } from './type-map.js'
import { stringEncoder, decodeUtf8 } from './text.js'
import * as O from './oids.js'

const AF_INET = 2 // PGSQL_AF_INET; PGSQL_AF_INET6 is 3

/** Binary inet/cidr: family, bits, is_cidr, address length (one byte each), then the address. */
export function decodeInetBinary(buf: Buffer, start: number): string {
  const family = buf[start]!
  const bits = buf[start + 1]!
  const cidr = buf[start + 2] === 1
  const at = start + 4
  if (family === AF_INET) {
    const addr = `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`
    return bits === 32 && !cidr ? addr : `${addr}/${bits}`
  }
  const addr = ipv6(buf, at)
  return bits === 128 && !cidr ? addr : `${addr}/${bits}`
}

function ipv6(buf: Buffer, at: number): string {
  const words = new Array<number>(8)
  for (let i = 0; i < 8; i++) words[i] = buf.readUInt16BE(at + 2 * i)
  // The longest run of zero words (the first of equals), if at least two long, becomes '::'.
  let best = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > bestLen) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  if (bestLen < 2) best = -1
  let out = ''
  for (let i = 0; i < 8; i++) {
    if (best !== -1 && i >= best && i < best + bestLen) {
      if (i === best) out += ':'
      continue
    }
    if (i !== 0) out += ':'
    // An IPv4-compatible (::a.b.c.d) or IPv4-mapped (::ffff:a.b.c.d) address.
    if (i === 6 && best === 0 && (bestLen === 6 || (bestLen === 7 && words[7] !== 1) || (bestLen === 5 && words[5] === 0xffff))) {
      out += `${buf[at + 12]}.${buf[at + 13]}.${buf[at + 14]}.${buf[at + 15]}`
      return out
    }
    out += words[i]!.toString(16)
  }
  if (best !== -1 && best + bestLen === 8) out += ':'
  return out
}

/** Binary macaddr (6 bytes) and macaddr8 (8 bytes): lowercase hex pairs joined by ':'. */
export function decodeMacBinary(buf: Buffer, start: number, end: number): string {
  let s = ''
  for (let i = start; i < end; i++) s += (i === start ? '' : ':') + (buf[i]! < 16 ? '0' : '') + buf[i]!.toString(16)
  return s
}

const TYPES: ReadonlyArray<readonly [number, number, string, (buf: Buffer, start: number, end: number) => string]> = [
  [O.INET, O.INET_ARRAY, 'inet', decodeInetBinary],
  [O.CIDR, O.CIDR_ARRAY, 'cidr', decodeInetBinary],
  [O.MACADDR, O.MACADDR_ARRAY, 'macaddr', decodeMacBinary],
  [O.MACADDR8, O.MACADDR8_ARRAY, 'macaddr8', decodeMacBinary],
]

export function register(map: TypeMap): void {
  for (const [oid, arrayOid, name, binary] of TYPES) {
    map.registerDecoder(oid, 0, decodeUtf8)
    map.registerDecoder(oid, 1, binary)
    map.registerEncoder(oid, stringEncoder(oid, name))
    map.registerArray(oid, arrayOid)
  }
}
