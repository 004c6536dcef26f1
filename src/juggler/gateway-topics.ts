import type { JsonValue } from './json.js';
import type { JugglerState } from './state.js';

/**
 * Publishes land in state.topics (one change each: its cost is the path's depth, not the number
 * of topics). Distinct URLs are bounded; counts and times feed the dashboard's rate and age.
 */
export class TopicTable {
  private readonly counts = new Map<string, { count: number; last: number }>();
  private warned = false;

  constructor(
    private readonly state: JugglerState,
    private readonly maxTopics: number,
    private readonly onOverflow: (url: string) => void,
  ) {}

  update(url: string, param: JsonValue): void {
    let entry = this.counts.get(url);
    if (!entry) {
      if (this.counts.size >= this.maxTopics) {
        if (!this.warned) this.onOverflow(url);
        this.warned = true;
        return;
      }
      entry = { count: 0, last: 0 };
      this.counts.set(url, entry);
    }
    entry.count++;
    entry.last = Date.now();
    try {
      this.state.set(['topics', url], param);
    } catch {
      // Not JSON-representable (e.g. 1e999 parses to Infinity): shown as null, not dropped.
      this.state.set(['topics', url], null);
    }
  }

  /** { url: { count, ageMs } } for the dashboard's rate and age columns. */
  stats(): Record<string, { count: number; ageMs: number }> {
    const now = Date.now();
    const out: Record<string, { count: number; ageMs: number }> = {};
    for (const [url, { count, last }] of this.counts) out[url] = { count, ageMs: now - last };
    return out;
  }
}
