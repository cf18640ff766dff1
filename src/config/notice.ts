import type { NoticeFields } from '../protocol/messages.js'

/** A NoticeResponse from the server (a warning, an informational message). */
export type Notice = NoticeFields
