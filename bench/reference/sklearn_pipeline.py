"""scikit-learn equivalent of the default (fast) training pipeline, for bench/pipeline.ts.

Usage: sklearn_pipeline.py <csv> <split.json> <n_trials>
split.json = {"train": [row indices], "test": [...]} written by the TypeScript side (same split as ours).
Steps: median imputation, ratio features, one-hot ocean_proximity, KMeans(K=10) lat/lon RBF similarity features,
standard scaling (linear models), log1p target; GridSearchCV 5-fold (n_jobs=2) on the fast grids of the 5
families (scoring MAE on the original scale), RandomizedSearchCV (n_trials, 3-fold) on the winner, refit,
test metrics. Prints one JSON object.
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from scipy.stats import loguniform, randint, uniform
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Lasso, Ridge
from sklearn.metrics import mean_absolute_error, mean_absolute_percentage_error, r2_score
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeRegressor

t_start = time.perf_counter()
csv, split_path, n_trials = sys.argv[1], sys.argv[2], int(sys.argv[3])
df = pd.read_csv(csv)
split = json.load(open(split_path))
target = "median_house_value"
train, test = df.iloc[split["train"]], df.iloc[split["test"]]
Xtr, ytr = train.drop(columns=[target]), train[target].to_numpy()
Xte, yte = test.drop(columns=[target]), test[target].to_numpy()
NUM = [c for c in Xtr.columns if c != "ocean_proximity"]


class Ratios(BaseEstimator, TransformerMixin):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        X = pd.DataFrame(X, columns=NUM)
        return np.c_[
            X.to_numpy(),
            X.total_rooms / X.households,
            X.total_bedrooms / X.total_rooms,
            X.population / X.households,
        ]


class Geo(BaseEstimator, TransformerMixin):
    def __init__(self, k=10, gamma=0.5):
        self.k, self.gamma = k, gamma

    def fit(self, X, y=None):
        self.km_ = KMeans(self.k, n_init=10, random_state=42).fit(np.asarray(X))
        return self

    def transform(self, X):
        d = ((np.asarray(X)[:, None, :] - self.km_.cluster_centers_[None]) ** 2).sum(-1)
        return np.exp(-self.gamma * d)


def features(scale):
    num = [("impute", SimpleImputer(strategy="median")), ("ratios", Ratios())]
    if scale:
        num.append(("scale", StandardScaler()))
    geo = [("geo", Geo())] + ([("scale", StandardScaler())] if scale else [])
    return ColumnTransformer(
        [
            ("num", Pipeline(num), NUM),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["ocean_proximity"]),
            ("geo", Pipeline(geo), ["latitude", "longitude"]),
        ]
    )


def model(est, scale):
    return TransformedTargetRegressor(
        regressor=Pipeline([("f", features(scale)), ("m", est)]), func=np.log1p, inverse_func=np.expm1
    )


P = "regressor__m__"
FAMILIES = {
    "random_forest": (RandomForestRegressor(random_state=42, n_jobs=1), False,
                      {"n_estimators": [30], "max_depth": [20], "min_samples_split": [2], "min_samples_leaf": [1, 4]}),
    "gradient_boosting": (GradientBoostingRegressor(random_state=42), False,
                          {"n_estimators": [200, 400], "learning_rate": [0.1], "max_depth": [6], "subsample": [0.8]}),
    "ridge": (Ridge(), True, {"alpha": [0.1, 10.0, 100.0]}),
    "lasso": (Lasso(max_iter=20000), True, {"alpha": [0.0001, 0.001, 0.01]}),
    "decision_tree": (DecisionTreeRegressor(random_state=42), False,
                      {"max_depth": [8, 12, None], "min_samples_split": [2], "min_samples_leaf": [4]}),
}
SPACES = {
    "random_forest": {"n_estimators": randint(50, 501), "max_depth": randint(5, 31), "min_samples_split": randint(2, 21),
                      "min_samples_leaf": randint(1, 11), "max_features": ["sqrt", "log2"]},
    "gradient_boosting": {"n_estimators": randint(50, 451), "learning_rate": loguniform(0.005, 0.3),
                          "max_depth": randint(2, 9), "min_samples_split": randint(2, 21),
                          "min_samples_leaf": randint(1, 11), "subsample": uniform(0.6, 0.4),
                          "max_features": ["sqrt", "log2", None]},
    "ridge": {"alpha": loguniform(1e-4, 100)},
    "lasso": {"alpha": loguniform(1e-4, 100)},
    "decision_tree": {"max_depth": randint(3, 41), "min_samples_split": randint(2, 21),
                      "min_samples_leaf": randint(1, 11), "max_features": ["sqrt", "log2", None]},
}
select = {}
t0 = time.perf_counter()
for name, (est, scale, grid) in FAMILIES.items():
    gs = GridSearchCV(model(est, scale), {P + k: v for k, v in grid.items()}, cv=5,
                      scoring="neg_mean_absolute_error", n_jobs=2, refit=False)
    gs.fit(Xtr, ytr)
    select[name] = -gs.best_score_
select_s = time.perf_counter() - t0
winner = min(select, key=select.get)
est, scale, _ = FAMILIES[winner]
t1 = time.perf_counter()
rs = RandomizedSearchCV(model(est, scale), {P + k: v for k, v in SPACES[winner].items()}, n_iter=n_trials, cv=3,
                        scoring="neg_mean_absolute_error", n_jobs=2, random_state=42, refit=True)
rs.fit(Xtr, ytr)
sweep_s = time.perf_counter() - t1
pred = rs.best_estimator_.predict(Xte)
print(json.dumps({
    "seconds": time.perf_counter() - t_start,
    "select_seconds": select_s,
    "sweep_seconds": sweep_s,
    "cv_mae": select,
    "winner": winner,
    "best_params": {k.replace(P, ""): (v if not isinstance(v, np.generic) else v.item()) for k, v in rs.best_params_.items()},
    "test": {"r2": r2_score(yte, pred), "mape": 100 * mean_absolute_percentage_error(yte, pred),
             "mae": mean_absolute_error(yte, pred)},
}))
