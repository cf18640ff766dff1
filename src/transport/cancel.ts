// A CancelRequest goes over a connection of its own: connect, send the
// backend's process id and secret key (4 bytes in protocol 3.0, up to 256 in
// 3.2), and wait for the server to close it, which it does once it has
// signalled the backend. Only then is it known that the signal was sent.

import { Writer } from '../protocol/writer.js'
import * as fe from '../protocol/frontend.js'
import { openSocket, type SocketOptions } from './socket.js'

export async function sendCancel(o: SocketOptions, processId: number, secretKey: Uint8Array, timeoutMs = 10_000): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs)
  const socket = await openSocket(o, signal)
  // Best effort: a cancel that cannot get through (a black hole) must not
  // keep the process alive once nothing else does.
  socket.unref()
  const w = new Writer(64)
  fe.cancelRequest(w, processId, secretKey)
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve()
    }
    // The server answers nothing; it just closes. Give up after the timeout
    // rather than hang on a server that never closes.
    const timer = setTimeout(done, timeoutMs)
    timer.unref()
    socket.once('close', done)
    socket.once('error', done)
    socket.on('data', () => {})
    socket.end(w.flush())
  })
}
