"""Train the FastAPI reference's model family: scikit-learn GradientBoostingRegressor on California Housing.

Features as the reference API feeds them: the 8 raw numeric columns (total_bedrooms median-imputed) plus a
one-hot of ocean_proximity (5 columns), no scaling. Usage:
    python3 bench/reference/train_model.py [--data data/california_housing.csv] [--out /tmp/ref_model.pkl]
        [--family gradient_boosting|random_forest|decision_tree|ridge|lasso] [--params JSON]
--family/--params let the serving benchmark give the reference the same model family and hyperparameters
(n_estimators, max_depth, ...) as the model our server serves; keys the estimator does not know are ignored
and listed. Default: GradientBoostingRegressor with scikit-learn's defaults.
"""
import argparse
import csv
import json
import pickle
import time

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Lasso, Ridge
from sklearn.tree import DecisionTreeRegressor

FAMILIES = {
    "gradient_boosting": GradientBoostingRegressor,
    "random_forest": RandomForestRegressor,
    "decision_tree": DecisionTreeRegressor,
    "ridge": Ridge,
    "lasso": Lasso,
}

NUMERIC = ["longitude", "latitude", "housing_median_age", "total_rooms", "total_bedrooms",
           "population", "households", "median_income"]
CATEGORIES = ["<1H OCEAN", "INLAND", "ISLAND", "NEAR BAY", "NEAR OCEAN"]
TARGET = "median_house_value"


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    x = np.full((len(rows), len(NUMERIC)), np.nan)
    cat = np.zeros((len(rows), len(CATEGORIES)))
    y = np.empty(len(rows))
    for i, r in enumerate(rows):
        for j, c in enumerate(NUMERIC):
            v = r[c].strip()
            x[i, j] = float(v) if v else np.nan
        cat[i, CATEGORIES.index(r["ocean_proximity"].strip().upper())] = 1.0
        y[i] = float(r[TARGET])
    return x, cat, y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/california_housing.csv")
    ap.add_argument("--out", default="/tmp/ref_model.pkl")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--family", default="gradient_boosting", choices=sorted(FAMILIES))
    ap.add_argument("--params", default="{}", help="JSON object of estimator hyperparameters")
    a = ap.parse_args()
    try:
        params = json.loads(a.params)
    except ValueError as e:
        raise SystemExit(f"--params: not JSON ({e}): {a.params!r}")
    if not isinstance(params, dict):
        raise SystemExit(f"--params: expected a JSON object, got {a.params!r}")
    cls = FAMILIES[a.family]
    known = cls().get_params()
    used = {k: v for k, v in params.items() if k in known}
    ignored = sorted(k for k in params if k not in known)
    if "random_state" in known:
        used["random_state"] = a.seed
    x, cat, y = load(a.data)
    medians = np.nanmedian(x, axis=0)
    x = np.where(np.isnan(x), medians, x)
    t0 = time.time()
    model = cls(**used).fit(np.hstack([x, cat]), y)
    with open(a.out + ".tmp", "wb") as f:
        pickle.dump({"model": model, "medians": medians, "numeric": NUMERIC, "categories": CATEGORIES}, f)
    import os
    os.replace(a.out + ".tmp", a.out)
    print(f"trained {cls.__name__}({json.dumps(used, sort_keys=True)}) on {len(y)} rows in {time.time() - t0:.1f}s"
          f" -> {a.out}" + (f" (ignored params: {', '.join(ignored)})" if ignored else ""))


if __name__ == "__main__":
    main()
