// One encode function per frontend message. Each appends to a Writer; none
// flushes, so a caller can batch Parse/Bind/Execute/Sync into one write.

import type { Writer } from './writer.js'

export const PROTOCOL_3_0 = 196608 // 3 << 16
export const PROTOCOL_3_2 = 196610 // (3 << 16) | 2
const SSL_REQUEST_CODE = 80877103
const GSSENC_REQUEST_CODE = 80877104
const CANCEL_REQUEST_CODE = 80877102

const enum T {
  Bind = 0x42, // B
  Close = 0x43, // C
  CopyData = 0x64, // d
  CopyDone = 0x63, // c
  CopyFail = 0x66, // f
  Describe = 0x44, // D
  Execute = 0x45, // E
  Flush = 0x48, // H
  Parse = 0x50, // P
  Password = 0x70, // p
  Query = 0x51, // Q
  Sync = 0x53, // S
  Terminate = 0x58, // X
}

export function startup(w: Writer, version: number, params: Record<string, string>): void {
  w.start().i32(version)
  for (const key of Object.keys(params)) {
    const value = params[key]
    if (value === undefined) continue
    w.cstr(key).cstr(value)
  }
  w.u8(0).end()
}

export function sslRequest(w: Writer): void {
  w.start().i32(SSL_REQUEST_CODE).end()
}

export function gssEncRequest(w: Writer): void {
  w.start().i32(GSSENC_REQUEST_CODE).end()
}

/** The secret key is 4 bytes in protocol 3.0 and up to 256 bytes in 3.2. */
export function cancelRequest(w: Writer, processId: number, secretKey: Uint8Array): void {
  w.start().i32(CANCEL_REQUEST_CODE).i32(processId).bytes(secretKey).end()
}

export function password(w: Writer, pw: string): void {
  w.start(T.Password).cstr(pw).end()
}

export function saslInitialResponse(w: Writer, mechanism: string, data: Uint8Array): void {
  w.start(T.Password).cstr(mechanism).i32(data.length).bytes(data).end()
}

export function saslResponse(w: Writer, data: Uint8Array): void {
  w.start(T.Password).bytes(data).end()
}

export function query(w: Writer, sql: string): void {
  w.start(T.Query).cstr(sql).end()
}

export function parse(w: Writer, name: string, sql: string, paramOids: readonly number[]): void {
  // Counts are uint16 on the server side (up to 65535 parameters) and type
  // OIDs are unsigned 32-bit: writing either as signed threw a RangeError.
  w.start(T.Parse).cstr(name).cstr(sql).u16(paramOids.length)
  for (let i = 0; i < paramOids.length; i++) w.u32(paramOids[i]!)
  w.end()
}

/** A bound parameter: text as a string, binary as bytes, or null for SQL NULL. */
export type ParamValue = string | Uint8Array | null

/**
 * Bind with one format code per parameter (0 text, 1 binary) and result
 * format codes (empty: all text; one: applies to every column).
 */
export function bind(
  w: Writer,
  portal: string,
  statement: string,
  paramFormats: readonly number[],
  values: readonly ParamValue[],
  resultFormats: readonly number[],
): void {
  w.start(T.Bind).cstr(portal).cstr(statement)
  w.u16(paramFormats.length)
  for (let i = 0; i < paramFormats.length; i++) w.i16(paramFormats[i]!)
  w.u16(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (v === null || v === undefined) {
      w.i32(-1)
    } else if (typeof v === 'string') {
      const lengthAt = w.pos
      w.i32(0).str(v)
      w.patchI32(lengthAt, w.pos - lengthAt - 4)
    } else {
      w.i32(v.length).bytes(v)
    }
  }
  w.u16(resultFormats.length)
  for (let i = 0; i < resultFormats.length; i++) w.i16(resultFormats[i]!)
  w.end()
}

/** kind: 'S' for a prepared statement, 'P' for a portal. */
export function describe(w: Writer, kind: 'S' | 'P', name: string): void {
  w.start(T.Describe).u8(kind.charCodeAt(0)).cstr(name).end()
}

export function execute(w: Writer, portal: string, maxRows: number): void {
  w.start(T.Execute).cstr(portal).i32(maxRows).end()
}

export function close(w: Writer, kind: 'S' | 'P', name: string): void {
  w.start(T.Close).u8(kind.charCodeAt(0)).cstr(name).end()
}

export function sync(w: Writer): void {
  w.start(T.Sync).end()
}

export function flush(w: Writer): void {
  w.start(T.Flush).end()
}

export function terminate(w: Writer): void {
  w.start(T.Terminate).end()
}

export function copyData(w: Writer, data: Uint8Array | string): void {
  w.start(T.CopyData)
  if (typeof data === 'string') w.str(data)
  else w.bytes(data)
  w.end()
}

export function copyDone(w: Writer): void {
  w.start(T.CopyDone).end()
}

export function copyFail(w: Writer, reason: string): void {
  w.start(T.CopyFail).cstr(reason).end()
}
