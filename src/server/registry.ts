/** What the registry orders by. */
export interface Registered {
  readonly id: number;
  readonly priority: number;
}

/**
 * The server's clients: ids (32-bit, never two live clients with one id) and the priority
 * order publish visits them in (highest first, stable by arrival).
 */
export class ClientRegistry<T extends Registered> {
  private readonly byId = new Map<number, T>();
  private order: T[] = [];
  private nextId = 0;

  /** A free id: the next one, wrapping at 2^32, skipping ids still in use. */
  allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = (this.nextId + 1) % 0x1_0000_0000;
      if (!this.byId.has(id)) return id;
    }
  }

  add(entry: T): void {
    this.byId.set(entry.id, entry);
    this.order.push(entry);
    if (entry.priority > 0) this.reorder();
  }

  remove(entry: T): void {
    if (this.byId.get(entry.id) !== entry) return;
    this.byId.delete(entry.id);
    // A new array, not splice: a client cut off inside publish() must not make its loop skip the next one.
    this.order = this.order.filter((e) => e !== entry);
  }

  get(id: number): T | undefined {
    return this.byId.get(id);
  }

  /** Every client, highest priority first. The array is replaced, never changed, while iterated. */
  get inOrder(): readonly T[] {
    return this.order;
  }

  /** A priority changed: re-sort (a new array, for the same reason as remove). */
  reorder(): void {
    this.order = [...this.order].sort((a, b) => b.priority - a.priority || a.id - b.id);
  }

  get size(): number {
    return this.byId.size;
  }
}
