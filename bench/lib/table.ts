/** Markdown rendering of the results: one table per scenario, ours/official ratio rows. */
import os from 'node:os';
import type { Side } from './adapter.js';
import type { Machine } from './machine.js';

export interface TableColumn {
  key: string;
  label: string;
  digits?: number;
  scale?: number;
}

export interface TableRow {
  case: string;
  side: Side;
  metrics: Record<string, number>;
  errors: string[];
}

const SIDE_LABEL: Record<Side, string> = { ours: 'ours', official: 'official', raw: 'raw floor' };

function formatNumber(value: number | undefined, digits = 0, scale = 1): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return (value / scale).toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** ours ÷ official; '–' when the official figure shows as 0 at the column's digits (0.2 ÷ 0.0 is no "87×"). */
function ratio(a: number | undefined, b: number | undefined, digits = 0, scale = 1): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) return '–';
  if (Math.abs(b / scale) < 0.5 * 10 ** -digits) return '–';
  return `${(a / b).toFixed(2)}×`;
}

function line(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function shorten(message: string): string {
  const oneLine = message.replace(/\s+/g, ' ').replace(/\|/g, '/');
  return oneLine.length > 90 ? `${oneLine.slice(0, 87)}…` : oneLine;
}

export function renderTable(
  title: string,
  columns: readonly TableColumn[],
  sides: readonly Side[],
  rows: readonly TableRow[],
  note?: string,
): string {
  const out = [`### ${title}`, '', line(['case', 'side', ...columns.map((c) => c.label)])];
  out.push(line(['---', '---', ...columns.map(() => '---:')]));
  const cases = [...new Set(rows.map((r) => r.case))];
  for (const label of cases) {
    const bySide = new Map(rows.filter((r) => r.case === label).map((r) => [r.side, r]));
    let first = true;
    const emit = (side: string, cells: string[]): void => {
      out.push(line([first ? label : '', side, ...cells]));
      first = false;
    };
    for (const side of sides) {
      const row = bySide.get(side);
      if (!row) continue;
      const has = Object.keys(row.metrics).length > 0;
      const name =
        row.errors.length && has ? `${SIDE_LABEL[side]} (${row.errors.length} failed)` : SIDE_LABEL[side];
      if (!has) {
        emit(name, [`error: ${shorten(row.errors[0] ?? 'no result')}`, ...columns.slice(1).map(() => '')]);
      } else {
        emit(
          name,
          columns.map((c) => formatNumber(row.metrics[c.key], c.digits, c.scale)),
        );
      }
      if (side === 'official') {
        const ours = bySide.get('ours');
        if (ours && Object.keys(ours.metrics).length && has) {
          emit(
            '*ours/official*',
            columns.map((c) => `*${ratio(ours.metrics[c.key], row.metrics[c.key], c.digits, c.scale)}*`),
          );
        }
      }
    }
  }
  if (note) out.push('', note);
  return out.join('\n');
}

export function renderHeader(machine: Machine, mode: string, date: string, seconds: number): string {
  return [
    `## vsoa-edge benchmarks (${mode}), ${date}`,
    '',
    `- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}`,
    `- Node ${machine.node}; official \`vsoa\` ${machine.vsoaOfficial}; vsoa-edge at ${machine.commit}`,
    `- Pinning: ${machine.pinning}`,
    ...(machine.malloc ? [`- Allocator: ${machine.malloc}`] : []),
    ...(machine.ours ? [`- vsoa-edge loaded from ${machine.ours}`] : []),
    `- Load average (1 min): ${machine.loadAtStart.toFixed(2)} at start, ${os.loadavg()[0]?.toFixed(2)} at end (other work on the machine adds noise)`,
    `- Each side runs its own server and client processes over 127.0.0.1; rounds interleaved, medians shown. Run took ${Math.round(seconds)} s.`,
    '- Ratio rows are ours/official of the same column (for µs, ms, KiB and MiB, lower is better).',
  ].join('\n');
}
