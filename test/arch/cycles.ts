/**
 * Cycle finding for the import graph: strongly connected components (Tarjan), then one shortest
 * cycle per file of each component, so every file caught in a cycle appears in the report with a
 * path that can be read and cut. Deterministic: neighbours are visited in sorted order.
 */

export type Adjacency = Map<string, string[]>;

/** Adds `from → to` once; keeps neighbour lists sorted. */
export function addArc(adj: Adjacency, from: string, to: string): void {
  const list = adj.get(from) ?? [];
  if (!list.includes(to)) {
    list.push(to);
    list.sort();
  }
  adj.set(from, list);
  if (!adj.has(to)) adj.set(to, []);
}

/** Components that contain a cycle (two or more nodes, or one node importing itself), sorted. */
export function cyclicComponents(adj: Adjacency): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  let next = 0;
  // Iterative Tarjan: recursion depth would follow the longest import chain.
  for (const root of [...adj.keys()].sort()) {
    if (index.has(root)) continue;
    const work: { node: string; i: number }[] = [{ node: root, i: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const neighbours = adj.get(frame.node) ?? [];
      if (frame.i < neighbours.length) {
        const to = neighbours[frame.i++]!;
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, i: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const selfLoop = (adj.get(frame.node) ?? []).includes(frame.node);
        if (component.length > 1 || selfLoop) found.push(component.sort());
      }
    }
  }
  return found.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** Shortest path `from … to` (both included) by breadth-first search, or undefined. */
export function shortestPath(adj: Adjacency, from: string, to: string): string[] | undefined {
  const parent = new Map<string, string>([[from, from]]);
  const queue = [from];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    if (node === to) {
      const path = [to];
      let at = to;
      while (at !== from) {
        at = parent.get(at)!;
        path.unshift(at);
      }
      return path;
    }
    for (const n of adj.get(node) ?? []) {
      if (!parent.has(n)) {
        parent.set(n, node);
        queue.push(n);
      }
    }
  }
  return undefined;
}

/** `[a, b, c, a]` rotated so it starts at its smallest node, to drop the same cycle found twice. */
function canonical(cycle: string[]): string {
  const ring = cycle.slice(0, -1);
  let best = 0;
  for (let i = 1; i < ring.length; i++) if (ring[i]! < ring[best]!) best = i;
  return [...ring.slice(best), ...ring.slice(0, best)].join('\n');
}

/** For each file in a cycle, the shortest cycle through it (`[a, b, a]`), without repeats. */
export function cyclesOf(adj: Adjacency): string[][] {
  const seen = new Set<string>();
  const cycles: string[][] = [];
  for (const component of cyclicComponents(adj)) {
    for (const node of component) {
      const back = (adj.get(node) ?? [])
        .map((n) => (n === node ? [node] : shortestPath(adj, n, node)))
        .filter((p): p is string[] => p !== undefined)
        .sort((a, b) => a.length - b.length)[0];
      if (!back) continue;
      const cycle = [node, ...back];
      const key = canonical(cycle);
      if (!seen.has(key)) {
        seen.add(key);
        cycles.push(cycle);
      }
    }
  }
  return cycles;
}

/**
 * Cycles that need at least one of the `lazy` arcs: for each lazy arc u ⇢ v, the shortest way
 * back v … u over all arcs (`all` includes the lazy ones). Returns `[u, v, …, u]`.
 */
export function cyclesThrough(all: Adjacency, lazy: [string, string][]): string[][] {
  const seen = new Set<string>();
  const cycles: string[][] = [];
  for (const [u, v] of [...lazy].sort()) {
    const back = u === v ? [v] : shortestPath(all, v, u);
    if (!back) continue;
    const cycle = [u, ...back];
    const key = canonical(cycle);
    if (!seen.has(key)) {
      seen.add(key);
      cycles.push(cycle);
    }
  }
  return cycles;
}
