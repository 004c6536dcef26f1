import { checkRecord, encodeAnswer, type PositionEntry } from './entry.js';

interface Row {
  domain: number;
  answer: Buffer;
}

/**
 * A position server's static table, validated once and indexed by lowercase name. Answers are
 * encoded up front: serving a hit is a map lookup and one send.
 */
export class PositionTable {
  private readonly rows = new Map<string, Row[]>();
  readonly size: number;

  /** Throws TypeError naming the first bad entry (`table[3]: port must be ...`). */
  constructor(entries: readonly PositionEntry[] = [], argName = 'table') {
    if (!Array.isArray(entries)) throw new TypeError(`${argName} must be an array of position entries`);
    entries.forEach((entry, i) => {
      const checked = checkRecord(entry, true);
      if (!checked.ok) throw new TypeError(`${argName}[${i}]: ${checked.reason}`);
      const name = checked.record.name!;
      const key = name.toLowerCase();
      let list = this.rows.get(key);
      if (list === undefined) {
        list = [];
        this.rows.set(key, list);
      }
      list.push({ domain: checked.record.domain, answer: encodeAnswer(name, checked.record) });
    });
    this.size = entries.length;
  }

  /** The first entry for `name` (any case) in `domain` (-1: any), as an answer datagram. */
  find(name: string, domain: number): Buffer | undefined {
    const list = this.rows.get(name.toLowerCase());
    if (list === undefined) return undefined;
    for (const row of list) if (domain === -1 || row.domain === domain) return row.answer;
    return undefined;
  }
}
