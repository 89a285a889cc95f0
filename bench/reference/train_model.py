"""Train the FastAPI reference's model family: scikit-learn GradientBoostingRegressor on California Housing.

Features as the reference API feeds them: the 8 raw numeric columns (total_bedrooms median-imputed) plus a
one-hot of ocean_proximity (5 columns), no scaling. Usage:
    python3 bench/reference/train_model.py [--data data/california_housing.csv] [--out /tmp/ref_model.pkl]
"""
import argparse
import csv
import pickle
import time

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor

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
    a = ap.parse_args()
    x, cat, y = load(a.data)
    medians = np.nanmedian(x, axis=0)
    x = np.where(np.isnan(x), medians, x)
    t0 = time.time()
    model = GradientBoostingRegressor(random_state=a.seed).fit(np.hstack([x, cat]), y)
    with open(a.out + ".tmp", "wb") as f:
        pickle.dump({"model": model, "medians": medians, "numeric": NUMERIC, "categories": CATEGORIES}, f)
    import os
    os.replace(a.out + ".tmp", a.out)
    print(f"trained GradientBoostingRegressor on {len(y)} rows in {time.time() - t0:.1f}s -> {a.out}")


if __name__ == "__main__":
    main()
