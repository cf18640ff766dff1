// Medians, quiet-machine waits and the results table.
import { readFileSync } from 'node:fs'

export interface Row {
  name: string
  median: number
  min: number
  max: number
  metrics?: Record<string, number>
}

export function medianOf(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
  return { median, min: s[0]!, max: s[s.length - 1]! }
}

function cpuTimes(): { idle: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  const idle = f[3]! + (f[4] ?? 0)
  return { idle, total: f.reduce((a, b) => a + b, 0) }
}

/** Waits (up to maxWaitMs) until the machine is mostly idle, so a neighbour's burst does not land in one sample. */
export async function waitForQuiet(maxBusy = 0.25, maxWaitMs = 10_000, intervalMs = 200): Promise<void> {
  let a: { idle: number; total: number }
  try {
    a = cpuTimes()
  } catch {
    return // no /proc/stat: not Linux
  }
  const deadline = Date.now() + maxWaitMs
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, intervalMs))
    const b = cpuTimes()
    const total = b.total - a.total
    const busy = total > 0 ? 1 - (b.idle - a.idle) / total : 0
    if (busy <= maxBusy) return
    a = b
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')

/** The table's metric columns: a header and the figure of a row, from the workload's MetricColumn list. */
export interface MetricCell {
  key: string
  header: string
  digits?: number
}

/**
 * The table, fastest first, and the ratio line of pgline's reference row (the
 * first row named 'pgline' or 'pgline (...)', in the order given) to every
 * other row. `extra` adds a column computed from each median; `metrics` adds
 * one column per metric the rows carry.
 */
export function formatTable(rows: Row[], extra?: { header: string; value(median: number): string }, metrics: MetricCell[] = []): string[] {
  const best = Math.max(...rows.map((r) => r.median))
  const sorted = [...rows].sort((a, b) => b.median - a.median)
  const heads = [...(extra ? [extra.header] : []), ...metrics.map((m) => m.header)]
  const out = [
    `| driver | median | min | max | vs fastest |${heads.map((h) => ` ${h} |`).join('')}`,
    `|---|---:|---:|---:|---:|${heads.map(() => '---:|').join('')}`,
  ]
  for (const r of sorted) {
    const cells = [
      ...(extra ? [extra.value(r.median)] : []),
      ...metrics.map((m) => {
        const v = r.metrics?.[m.key]
        return v === undefined ? '' : v.toLocaleString('en-US', { maximumFractionDigits: m.digits ?? 0, minimumFractionDigits: m.digits ?? 0 })
      }),
    ]
    out.push(`| ${r.name} | ${fmt(r.median)} | ${fmt(r.min)} | ${fmt(r.max)} | ${(r.median / best).toFixed(2)} |${cells.map((c) => ` ${c} |`).join('')}`)
  }
  const ours = rows.find((r) => r.name === 'pgline' || r.name.startsWith('pgline ('))
  if (ours && rows.length > 1) {
    const ratios = rows.filter((r) => r !== ours).map((r) => `${r.name} ${(ours.median / r.median).toFixed(2)}x`)
    const as = ours.name === 'pgline' ? '' : ` (as '${ours.name}')`
    out.push('', `pgline relative to${as}: ${ratios.join(', ')}`)
  }
  return out
}
