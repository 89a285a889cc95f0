"""Times single scikit-learn fits at sampled grid points (bench/ml_grid.ts).

Usage: sklearn_grid_point.py <dir>   (reads <dir>/sample.json, <dir>/Xraw.csv, <dir>/Xscaled.csv; last column = y)
Each point is fitted once on the first 4/5 of a seeded permutation of the rows; prints JSON to stdout.
"""
import json
import sys
import time

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Lasso, Ridge
from sklearn.tree import DecisionTreeRegressor

d = sys.argv[1]
sample = json.load(open(f"{d}/sample.json"))
data = {k: np.loadtxt(f"{d}/{k}.csv", delimiter=",") for k in ("Xraw", "Xscaled")}
KINDS = {
    "RandomForestRegressor": lambda p: RandomForestRegressor(n_jobs=1, random_state=0, **p),
    "GradientBoostingRegressor": lambda p: GradientBoostingRegressor(random_state=0, **p),
    "DecisionTreeRegressor": lambda p: DecisionTreeRegressor(random_state=0, **p),
    "Ridge": lambda p: Ridge(**p),
    "Lasso": lambda p: Lasso(max_iter=20000, **p),
}
out = []
for s in sample:
    M = data["Xscaled" if s["kind"] in ("Ridge", "Lasso") else "Xraw"]
    n = M.shape[0]
    idx = np.random.default_rng(0).permutation(n)[: n * 4 // 5]
    X, y = M[idx, :-1], M[idx, -1]
    est = KINDS[s["kind"]](s["params"])
    t = time.perf_counter()
    est.fit(X, y)
    out.append({"family": s["family"], "params": s["params"], "seconds": time.perf_counter() - t})
    print(f"{s['family']} {s['params']} {out[-1]['seconds']:.2f}s", file=sys.stderr)
print(json.dumps(out))
