/**
 * Grid-aware fit sharing. Grid points of one kind that differ only along the kind's sharing axes
 * (registry `sharing.axes`, e.g. n_estimators for forests/boosting, max_depth / min_samples_split for trees)
 * form a group; the group is fitted once at the "largest" value of every axis and each point is derived by
 * truncation. Exact because (a) forest member i and boosting stage i do not depend on the total count, and
 * (b) a tree node's split depends only on its own rows, so the limits only decide where growth stops.
 */
import type { SharingSpec } from "../registry.ts";
import type { Params } from "../types.ts";

export interface FitGroup {
  /** Params to fit (largest value on each axis). */
  base: Params;
  /** Indices into the grid points this group reports. */
  members: number[];
}

function stableKey(p: Params, skip: ReadonlySet<string>): string {
  const keys = Object.keys(p).sort();
  return JSON.stringify(keys.map((k) => (skip.has(k) ? [k] : [k, p[k]])));
}

/**
 * Group grid points for shared fitting. Without a sharing spec (or with `enabled=false`) every point is its
 * own group. Groups are ordered by their first member; members keep grid order.
 */
export function groupForSharing(
  points: readonly Params[],
  sharing: SharingSpec | undefined,
  enabled = true,
): FitGroup[] {
  if (!sharing || !enabled || sharing.axes.length === 0) {
    return points.map((p, i) => ({ base: p, members: [i] }));
  }
  const axisNames = new Set(sharing.axes.map((a) => a.param));
  const byKey = new Map<string, FitGroup>();
  const groups: FitGroup[] = [];
  points.forEach((p, i) => {
    if (sharing.canShare && !sharing.canShare(p)) {
      groups.push({ base: p, members: [i] });
      return;
    }
    const key = stableKey(p, axisNames);
    const g = byKey.get(key);
    if (!g) {
      const ng = { base: { ...p }, members: [i] };
      byKey.set(key, ng);
      groups.push(ng);
      return;
    }
    g.members.push(i);
    for (const ax of sharing.axes) {
      if (!Object.hasOwn(p, ax.param)) continue;
      if (ax.compare(p[ax.param], g.base[ax.param]) > 0) g.base[ax.param] = p[ax.param];
    }
  });
  return groups;
}
