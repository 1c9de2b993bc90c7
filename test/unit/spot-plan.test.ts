import { MIN_PAGING_COST, choosePlan, filteredCost, pagingCost } from '../../lib/spot/plan';

describe('choosePlan: the cheapest way to find a batch of instances in one cluster', () => {
  it.each([
    // wanted, cluster size (undefined: not known), plan, calls
    [0, undefined, 'none', 0],
    [0, 2000, 'none', 0],
    // One or two warnings never measure the cluster: 2 and 3 calls, as cheap as measuring and paging.
    [1, undefined, 'filtered', 2],
    [1, 5000, 'filtered', 2],
    [2, undefined, 'filtered', 3],
    [3, undefined, 'measure', undefined],
    [3, 50, 'page', 2],
    [3, 100, 'page', 2],
    [3, 101, 'filtered', 4],
    [10, 1000, 'filtered', 11],
    // A tie keeps the filtered plan: its calls stop at the instances wanted, paging's at the last page.
    [19, 1000, 'filtered', 20],
    [20, 1000, 'page', 20],
    [200, 1000, 'page', 20],
    [500, 2000, 'page', 40],
    [1000, 2000, 'page', 40],
    [40, 2000, 'page', 40],
    [39, 2000, 'filtered', 40],
    [99, 5000, 'filtered', 100],
    [100, 5000, 'page', 100],
  ] as const)('%i wanted in a cluster of %s: %s', (wanted, clusterSize, kind, calls) => {
    const plan = choosePlan({ wanted, ...(clusterSize !== undefined ? { clusterSize } : {}) });
    expect(plan.kind).toBe(kind);
    if (calls !== undefined) expect(plan).toEqual({ kind, calls });
  });

  it('never picks a plan that costs more than the other', () => {
    for (const wanted of [1, 2, 5, 17, 50, 99, 100, 101, 250, 999, 1000]) {
      for (const clusterSize of [0, 1, 99, 100, 101, 1000, 2000, 4999, 5000]) {
        const plan = choosePlan({ wanted, clusterSize });
        if (plan.kind === 'filtered') expect(plan.calls).toBeLessThanOrEqual(Math.max(pagingCost(clusterSize), MIN_PAGING_COST + 1));
        if (plan.kind === 'page') expect(plan.calls).toBeLessThan(filteredCost(wanted));
      }
    }
  });

  it('counts calls as ECS bills them: 100 per list page, 100 per describe', () => {
    expect(filteredCost(1)).toBe(2);
    expect(filteredCost(100)).toBe(101);
    expect(filteredCost(101)).toBe(103);
    expect(pagingCost(0)).toBe(2);
    expect(pagingCost(100)).toBe(2);
    expect(pagingCost(101)).toBe(4);
    expect(pagingCost(2000)).toBe(40);
  });
});
