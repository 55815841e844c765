/**
 * Nodes that lie on a cycle of a graph in compressed sparse row form (`offsets[i]..offsets[i+1]`
 * index `targets`): Tarjan's strongly connected components, iterative so a 1M-node chain does not
 * overflow the call stack, O(V+E) time and typed-array memory.
 *
 * @example nodesOnCycles(2, Int32Array.of(0, 1, 2), Int32Array.of(1, 0)) // [0, 1]
 */
export function nodesOnCycles(count: number, offsets: Int32Array, targets: Int32Array): number[] {
  const index = new Int32Array(count).fill(-1);
  const low = new Int32Array(count);
  const onStack = new Uint8Array(count);
  const stack = new Int32Array(count);
  const callNode = new Int32Array(count);
  const callEdge = new Int32Array(count);
  let stackTop = 0;
  let nextIndex = 0;
  const result: number[] = [];

  for (let root = 0; root < count; root++) {
    if (index[root] !== -1) continue;
    let depth = 0;
    callNode[0] = root;
    callEdge[0] = offsets[root]!;
    index[root] = low[root] = nextIndex++;
    stack[stackTop++] = root;
    onStack[root] = 1;
    while (depth >= 0) {
      const v = callNode[depth]!;
      const edge = callEdge[depth]!;
      if (edge < offsets[v + 1]!) {
        callEdge[depth] = edge + 1;
        const w = targets[edge]!;
        if (index[w] === -1) {
          index[w] = low[w] = nextIndex++;
          stack[stackTop++] = w;
          onStack[w] = 1;
          depth++;
          callNode[depth] = w;
          callEdge[depth] = offsets[w]!;
        } else if (onStack[w] === 1 && index[w]! < low[v]!) {
          low[v] = index[w]!;
        }
        continue;
      }
      if (low[v] === index[v]) {
        // v roots a component: pop it; it is a cycle if it has several nodes or a self-edge.
        const start = stack.lastIndexOf(v, stackTop - 1);
        const size = stackTop - start;
        let selfLoop = false;
        if (size === 1) for (let e = offsets[v]!; e < offsets[v + 1]!; e++) if (targets[e] === v) selfLoop = true;
        for (let s = start; s < stackTop; s++) {
          onStack[stack[s]!] = 0;
          if (size > 1 || selfLoop) result.push(stack[s]!);
        }
        stackTop = start;
      }
      depth--;
      if (depth >= 0) {
        const parent = callNode[depth]!;
        if (low[v]! < low[parent]!) low[parent] = low[v]!;
      }
    }
  }
  return result;
}
