/**
 * The cost oracle of bench/sweeper-day.ts (pure): at one step, the fewest capacity units of a
 * weighted group that hold that step's tasks and keep the reserve, knowing the load and with
 * capacity the instant it is needed (no boot, no drain, no zones). Two bounds:
 *
 * - `fluidMinimum`: the tasks and the reserve as a fluid poured into the type with the most room per
 *   capacity unit. It ignores that a task runs on one instance, so it sits below what any placement
 *   can reach.
 * - `exactMinimum`: whole tasks on whole instances. It searches every mix of the group's instance
 *   types by growing capacity units, and checks by dynamic programming whether the tasks can be
 *   placed (every way of filling one instance with tasks of each shape, instance by instance), with
 *   the raw reserve counted as free CPU and memory anywhere (fragments included, as the sweeper
 *   counts it). No placement of the step's tasks on fewer units exists, so it is still a lower
 *   bound for any sweeper, and the exact one for this relaxation.
 */

/** An instance type as the tasks see it: registered CPU and memory less its daemon tasks. */
export interface OracleType {
  cpu: number;
  memory: number;
  /** Capacity units (WeightedCapacity). */
  weight: number;
}

export interface OracleDemand {
  cpu: number;
  memory: number;
  count: number;
}

export interface OracleInput {
  types: readonly OracleType[];
  /** Tasks to place (reserve tasks included, when the reserve is made of tasks). */
  tasks: readonly OracleDemand[];
  /** Raw reserve: free CPU and memory left after the tasks (reserve tasks not counted as used). */
  reserve: { cpu: number; memory: number };
  /** Tasks whose room counts as free for the raw reserve (the task-shaped reserve). */
  reserveTasks?: readonly OracleDemand[];
  minUnits: number;
}

export interface OracleResult {
  units: number;
  instances: number;
}

const sum = (items: readonly OracleDemand[], key: 'cpu' | 'memory') => items.reduce((total, item) => total + item.count * item[key], 0);

export function fluidMinimum(input: OracleInput): OracleResult {
  const all = [...input.tasks, ...(input.reserveTasks ?? [])];
  const cpu = Math.max(sum(input.tasks, 'cpu') + input.reserve.cpu, sum(all, 'cpu'));
  const memory = Math.max(sum(input.tasks, 'memory') + input.reserve.memory, sum(all, 'memory'));
  const cpuPerUnit = Math.max(...input.types.map((type) => type.cpu / type.weight));
  const memoryPerUnit = Math.max(...input.types.map((type) => type.memory / type.weight));
  const units = Math.max(input.minUnits, Math.ceil(Math.max(cpu / cpuPerUnit, memory / memoryPerUnit)));
  const heaviest = Math.max(...input.types.map((type) => type.weight));
  return { units, instances: Math.ceil(units / heaviest) };
}

/** Tasks of the same shape are one demand. */
function mergeShapes(tasks: readonly OracleDemand[]): OracleDemand[] {
  const byShape = new Map<string, OracleDemand>();
  for (const task of tasks) {
    if (task.count <= 0) continue;
    const key = `${task.cpu}/${task.memory}`;
    const known = byShape.get(key);
    byShape.set(key, { cpu: task.cpu, memory: task.memory, count: (known?.count ?? 0) + task.count });
  }
  return [...byShape.values()];
}

/** Every maximal way to fill one instance: how many tasks of each shape (no further task fits). */
export function fillings(type: OracleType, shapes: readonly OracleDemand[]): number[][] {
  const found: number[][] = [];
  const walk = (index: number, counts: number[], cpu: number, memory: number) => {
    if (index === shapes.length) {
      const maximal = shapes.every((shape, at) => counts[at]! >= shape.count || shape.cpu > cpu || shape.memory > memory);
      if (maximal) found.push([...counts]);
      return;
    }
    const shape = shapes[index]!;
    const most = Math.min(shape.count, Math.floor(cpu / Math.max(shape.cpu, 1e-9)), Math.floor(memory / Math.max(shape.memory, 1e-9)));
    for (let count = most; count >= 0; count -= 1) {
      counts[index] = count;
      walk(index + 1, counts, cpu - count * shape.cpu, memory - count * shape.memory);
    }
    counts[index] = 0;
  };
  walk(0, shapes.map(() => 0), type.cpu, type.memory);
  return found;
}

/**
 * Placements reachable so far: for every count of the first shapes (capped at the demand, one
 * mixed-radix index), the most tasks of the last shape placed alongside (-1: unreachable). Keeping
 * only the most of the last shape is exact: a state with as many of the others and more of the
 * last can do everything the other can.
 */
class Frontier {
  readonly most: Int32Array;
  private readonly strides: number[];

  constructor(private readonly shapes: readonly OracleDemand[], most?: Int32Array) {
    this.strides = [];
    let size = 1;
    for (const shape of shapes.slice(0, -1)) {
      this.strides.push(size);
      size *= shape.count + 1;
    }
    if (most) this.most = most;
    else {
      this.most = new Int32Array(size).fill(-1);
      this.most[0] = 0;
    }
  }

  /** The placements after one more instance filled in any of `fills`' ways. */
  add(fills: readonly number[][]): Frontier {
    const next = new Int32Array(this.most.length).fill(-1);
    const last = this.shapes.length - 1;
    const lastCount = this.shapes[last]!.count;
    const counts = new Array<number>(last).fill(0);
    for (let index = 0; index < this.most.length; index += 1) {
      const most = this.most[index]!;
      if (most >= 0) {
        for (const fill of fills) {
          let target = 0;
          for (let at = 0; at < last; at += 1) target += Math.min(this.shapes[at]!.count, counts[at]! + fill[at]!) * this.strides[at]!;
          const placed = Math.min(lastCount, most + fill[last]!);
          if (next[target]! < placed) next[target] = placed;
        }
      }
      // Next index, as counts.
      for (let at = 0; at < last; at += 1) {
        counts[at]! += 1;
        if (counts[at]! <= this.shapes[at]!.count) break;
        counts[at] = 0;
      }
    }
    return new Frontier(this.shapes, next);
  }

  placesAll(): boolean {
    return this.most[this.most.length - 1]! >= this.shapes[this.shapes.length - 1]!.count;
  }
}

export function exactMinimum(input: OracleInput): OracleResult {
  const shapes = mergeShapes([...input.tasks, ...(input.reserveTasks ?? [])]);
  const usedCpu = sum(input.tasks, 'cpu');
  const usedMemory = sum(input.tasks, 'memory');
  const types = input.types;
  const fills = types.map((type) => fillings(type, shapes));
  const taskCount = shapes.reduce((total, shape) => total + shape.count, 0);
  let best: OracleResult | undefined;

  // Every mix of the types, depth first (instances of types[index] added one by one), cut as soon
  // as it holds more units than the best mix found.
  const search = (index: number, frontier: Frontier | undefined, units: number, instances: number, cpu: number, memory: number): void => {
    if (best && units > best.units) return;
    const holds = units >= input.minUnits && cpu - usedCpu >= input.reserve.cpu && memory - usedMemory >= input.reserve.memory && (!frontier || frontier.placesAll());
    if (holds) {
      if (!best || units < best.units || (units === best.units && instances < best.instances)) best = { units, instances };
      return;
    }
    if (index >= types.length) return;
    search(index + 1, frontier, units, instances, cpu, memory);
    const type = types[index]!;
    // With one task per instance every placeable task is placed: more of one type never helps.
    const most = taskCount + Math.ceil(input.reserve.cpu / Math.max(type.cpu, 1)) + Math.ceil(input.reserve.memory / Math.max(type.memory, 1)) + input.minUnits;
    let current = frontier;
    for (let added = 1; added <= most; added += 1) {
      if (best && units + added * type.weight > best.units) return;
      current = current?.add(fills[index]!);
      search(index + 1, current, units + added * type.weight, instances + added, cpu + added * type.cpu, memory + added * type.memory);
    }
  };
  search(0, shapes.length > 0 ? new Frontier(shapes) : undefined, 0, 0, 0, 0);
  if (!best) throw new Error('oracle: no mix of the instance types holds the tasks');
  return best;
}
