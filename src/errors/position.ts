// Shows where in a statement the server found an error, as psql does:
//
//   LINE 2: select * frm t
//                    ^
//
// The server's position counts characters (code points), 1-based, in the
// text it was sent, so this works on code points, not UTF-16 units.

/** Longest line shown, in screen columns; longer ones are cut around the caret with "...". */
const SHOWN = 60
/** Columns kept after the caret when a long line is cut. */
const AFTER = 10

/** Screen columns a code point takes: 0 for combining marks, 2 for wide East Asian and emoji, 1 otherwise. */
function columns(cp: number): number {
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || cp === 0xfeff) return 0
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2
  }
  return 1
}

/**
 * The line of `text` holding character `position` (1-based), prefixed with
 * `LINE n: `, and below it a caret under that character; undefined when the
 * position is outside the text. One past the end is allowed ("at end of
 * input"). Tabs and other control characters show as one space each, so the
 * caret stays aligned.
 */
export function markPosition(text: string, position: number): string | undefined {
  if (!Number.isInteger(position) || position < 1) return undefined
  const chars = Array.from(text)
  const at = position - 1
  if (at > chars.length) return undefined
  let line = 1
  let start = 0
  for (let i = 0; i < at; i++) {
    const c = chars[i]
    // \r\n is one line break; a lone \r or \n is one too.
    if (c === '\n' ? chars[i - 1] !== '\r' : c === '\r') line++
    if (c === '\n' || c === '\r') start = i + 1
  }
  let end = at
  while (end < chars.length && chars[end] !== '\n' && chars[end] !== '\r') end++

  const shown = chars.slice(start, end).map((c) => (c < ' ' || c === '\u007f' ? ' ' : c))
  // cum[i]: columns before shown[i], so any span's width is one subtraction (statements can be megabytes long).
  const cum = new Array<number>(shown.length + 1)
  cum[0] = 0
  for (let i = 0; i < shown.length; i++) cum[i + 1] = cum[i]! + columns(shown[i]!.codePointAt(0)!)
  const sum = (from: number, to: number): number => cum[to]! - cum[from]!
  let first = 0
  let last = shown.length
  const caret = at - start
  if (sum(first, last) > SHOWN) {
    // Cut the right end, keeping AFTER columns past the caret, then the left end if still too long.
    while (last > caret + 1 && sum(first, last) > SHOWN && sum(caret, last) > AFTER) last--
    while (sum(first, last) > SHOWN && first < caret) first++
  }
  const prefix = `LINE ${line}: ${first > 0 ? '...' : ''}`
  const body = shown.slice(first, last).join('') + (last < shown.length ? '...' : '')
  return `${prefix}${body}\n${' '.repeat(prefix.length + sum(first, caret))}^`
}
