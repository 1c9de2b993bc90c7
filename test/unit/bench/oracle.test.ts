import fc from 'fast-check';
import { exactMinimum, fillings, fluidMinimum, type OracleInput, type OracleType } from '../../../bench/lib/oracle';

const XLARGE: OracleType = { cpu: 4032, memory: 16256, weight: 2 };
const LARGE: OracleType = { cpu: 1984, memory: 8064, weight: 1 };

/** Brute force: every mix of up to `most` instances per type, every task on every instance. */
function bruteForce(input: OracleInput, most: number): number {
  const tasks = [...input.tasks, ...(input.reserveTasks ?? [])].flatMap((task) => Array.from({ length: task.count }, () => task));
  const usedCpu = input.tasks.reduce((sum, task) => sum + task.count * task.cpu, 0);
  const usedMemory = input.tasks.reduce((sum, task) => sum + task.count * task.memory, 0);
  let best = Infinity;
  const mixes = (index: number, chosen: OracleType[]): void => {
    if (index === input.types.length) {
      const units = chosen.reduce((sum, type) => sum + type.weight, 0);
      if (units >= best || units < input.minUnits) return;
      if (chosen.reduce((sum, type) => sum + type.cpu, 0) - usedCpu < input.reserve.cpu) return;
      if (chosen.reduce((sum, type) => sum + type.memory, 0) - usedMemory < input.reserve.memory) return;
      const rooms = chosen.map((type) => ({ cpu: type.cpu, memory: type.memory }));
      const assign = (at: number): boolean => {
        if (at === tasks.length) return true;
        const task = tasks[at]!;
        return rooms.some((room) => {
          if (room.cpu < task.cpu || room.memory < task.memory) return false;
          room.cpu -= task.cpu;
          room.memory -= task.memory;
          const ok = assign(at + 1);
          room.cpu += task.cpu;
          room.memory += task.memory;
          return ok;
        });
      };
      if (assign(0)) best = units;
      return;
    }
    for (let count = 0; count <= most; count += 1) mixes(index + 1, [...chosen, ...Array.from({ length: count }, () => input.types[index]!)]);
  };
  mixes(0, []);
  return best;
}

describe('the sweeper-day oracle', () => {
  it('whole tasks cost more than the fluid when no task fits the slivers: 7 tasks of 512 per m5.xlarge, not 7.875', () => {
    const input: OracleInput = { types: [XLARGE], tasks: [{ cpu: 512, memory: 1024, count: 64 }], reserve: { cpu: 0, memory: 0 }, minUnits: 0 };
    // 64 x 512 = 32768 CPU: 8.13 instances of 4032 as a fluid, 10 whole instances (9 x 7 = 63 tasks).
    expect(fluidMinimum(input)).toEqual({ units: 17, instances: 9 });
    expect(exactMinimum(input)).toEqual({ units: 20, instances: 10 });
  });

  it('counts the raw reserve in the slivers no task can use, as the sweeper counts free capacity', () => {
    const input: OracleInput = { types: [XLARGE], tasks: [{ cpu: 512, memory: 1024, count: 63 }], reserve: { cpu: 4032, memory: 0 }, minUnits: 0 };
    // Nine instances hold the 63 tasks with 9 x 448 = 4032 CPU free: the reserve, without a tenth.
    expect(exactMinimum(input)).toEqual({ units: 18, instances: 9 });
    expect(exactMinimum({ ...input, reserve: { cpu: 4033, memory: 0 } })).toEqual({ units: 20, instances: 10 });
  });

  it('mixes types to save a unit, and places task-shaped reserve as whole tasks whose room also counts as free', () => {
    const base: OracleInput = { types: [XLARGE, LARGE], tasks: [{ cpu: 512, memory: 1024, count: 10 }], reserve: { cpu: 0, memory: 0 }, minUnits: 0 };
    // 7 on an xlarge and 3 on a large: 3 units.
    expect(exactMinimum(base)).toEqual({ units: 3, instances: 2 });
    const reserved = { ...base, reserveTasks: [{ cpu: 1024, memory: 2048, count: 3 }], reserve: { cpu: 3072, memory: 0 } };
    // 10 + 2 x 3 slots of 512 = 16 slots: two xlarges (14) and one large (3).
    expect(exactMinimum(reserved)).toEqual({ units: 5, instances: 3 });
  });

  it('keeps the group minimum', () => {
    expect(exactMinimum({ types: [XLARGE, LARGE], tasks: [{ cpu: 512, memory: 1024, count: 1 }], reserve: { cpu: 0, memory: 0 }, minUnits: 10 }).units).toBe(10);
  });

  it('lists the maximal ways to fill one instance', () => {
    expect(fillings(XLARGE, [{ cpu: 512, memory: 1024, count: 90 }, { cpu: 1024, memory: 2048, count: 40 }]).sort()).toEqual([
      [1, 3],
      [3, 2],
      [5, 1],
      [7, 0],
    ]);
  });

  it('is the true minimum (brute force on small loads) and never below the fluid bound', () => {
    const shape = fc.record({ cpu: fc.constantFrom(256, 512, 1024, 1536), memory: fc.constantFrom(512, 1024, 3072), count: fc.integer({ min: 0, max: 3 }) });
    fc.assert(
      fc.property(
        fc.array(shape, { minLength: 1, maxLength: 2 }),
        fc.record({ cpu: fc.integer({ min: 0, max: 2048 }), memory: fc.integer({ min: 0, max: 4096 }) }),
        fc.integer({ min: 0, max: 3 }),
        (tasks, reserve, minUnits) => {
          const input: OracleInput = { types: [{ cpu: 2048, memory: 4096, weight: 2 }, { cpu: 1024, memory: 2048, weight: 1 }], tasks, reserve, minUnits };
          const exact = exactMinimum(input);
          expect(exact.units).toBe(bruteForce(input, 8));
          expect(exact.units).toBeGreaterThanOrEqual(fluidMinimum(input).units);
        },
      ),
      { numRuns: 150, seed: 13 },
    );
  });
});
