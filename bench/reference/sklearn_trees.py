#!/usr/bin/python3
"""Reference timings for bench/ml_trees.ts: scikit-learn / XGBoost tree models on the same split.

Usage: sklearn_trees.py TRAIN_CSV TEST_CSV RUNS
CSV files: header line, feature columns, target in the last column. Prints one JSON object on stdout.
"""
import json
import statistics
import sys
import time

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.tree import DecisionTreeRegressor


def load(path):
    a = np.loadtxt(path, delimiter=",", skiprows=1)
    return a[:, :-1], a[:, -1]


def run(make, Xtr, ytr, Xte, yte, runs):
    fits, preds, model = [], [], None
    for _ in range(runs):
        model = make()
        t0 = time.perf_counter()
        model.fit(Xtr, ytr)
        fits.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        p = model.predict(Xte)
        preds.append(time.perf_counter() - t0)
    return {
        "fit_s": statistics.median(fits),
        "fit_runs_s": fits,
        "predict_s": statistics.median(preds),
        "r2": float(r2_score(yte, p)),
        "mae": float(mean_absolute_error(yte, p)),
    }


def main():
    train, test, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    Xtr, ytr = load(train)
    Xte, yte = load(test)
    out = {"sklearn_version": __import__("sklearn").__version__, "n_train": len(ytr), "n_features": Xtr.shape[1]}
    out["random_forest"] = run(lambda: RandomForestRegressor(n_estimators=100, n_jobs=-1, random_state=0), Xtr, ytr, Xte, yte, runs)
    out["gradient_boosting"] = run(
        lambda: GradientBoostingRegressor(n_estimators=200, max_depth=5, learning_rate=0.1, random_state=0), Xtr, ytr, Xte, yte, runs
    )
    out["decision_tree"] = run(lambda: DecisionTreeRegressor(random_state=0), Xtr, ytr, Xte, yte, runs)
    out["hist_gradient_boosting"] = run(
        lambda: HistGradientBoostingRegressor(max_iter=200, max_leaf_nodes=31, learning_rate=0.1, early_stopping=False, random_state=0),
        Xtr, ytr, Xte, yte, runs,
    )
    try:
        import xgboost

        out["xgboost_version"] = xgboost.__version__
        out["xgboost_hist"] = run(
            lambda: xgboost.XGBRegressor(
                n_estimators=200, learning_rate=0.1, tree_method="hist", grow_policy="lossguide", max_leaves=31,
                max_depth=0, max_bin=255, n_jobs=-1, random_state=0,
            ),
            Xtr, ytr, Xte, yte, runs,
        )
    except ImportError as e:  # pragma: no cover
        out["xgboost_hist"] = {"error": str(e)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
