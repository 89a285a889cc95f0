"""FastAPI reference server for the serving benchmark (same contract as the reference implementation's API).

    REF_MODEL=/tmp/ref_model.pkl python3 -m uvicorn fastapi_app:app --app-dir bench/reference --port 8080

POST /api/v1/predict       `async def` handler (as the reference)
POST /api/v1/predict_sync  `def` handler (runs in the threadpool)
GET  /health
The model is a pickled scikit-learn regressor written by train_model.py (by default a GradientBoostingRegressor;
the serving benchmark passes the family and hyperparameters of the model our server serves); trained at startup
with the defaults if the pickle is missing.
"""
import os
import pickle
import subprocess
import sys
from typing import List, Optional

import numpy as np
import pandas as pd
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field, validator

MODEL_PATH = os.environ.get("REF_MODEL", "/tmp/ref_model.pkl")
if not os.path.exists(MODEL_PATH):
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run([sys.executable, os.path.join(here, "train_model.py"), "--out", MODEL_PATH], check=True)
with open(MODEL_PATH, "rb") as f:
    BUNDLE = pickle.load(f)
MODEL = BUNDLE["model"]
MEDIANS = BUNDLE["medians"]
NUMERIC = BUNDLE["numeric"]
CATEGORIES = BUNDLE["categories"]


class HousingFeatures(BaseModel):
    longitude: float = Field(..., ge=-180, le=180)
    latitude: float = Field(..., ge=-90, le=90)
    housing_median_age: float = Field(..., ge=0)
    total_rooms: float = Field(..., ge=0)
    total_bedrooms: Optional[float] = Field(None, ge=0)
    population: float = Field(..., ge=0)
    households: float = Field(..., ge=0)
    median_income: float = Field(..., ge=0)
    ocean_proximity: str

    @validator("ocean_proximity")
    def check_ocean(cls, v):  # noqa: N805
        u = v.upper()
        if u not in CATEGORIES:
            raise ValueError(f"Must be one of: {CATEGORIES}")
        return u


class PredictionRequest(BaseModel):
    instances: List[HousingFeatures] = Field(..., min_items=1)


class PredictionResult(BaseModel):
    predicted_price: float
    confidence_interval: Optional[dict] = None


class PredictionResponse(BaseModel):
    predictions: List[PredictionResult]
    model_version: str


app = FastAPI(title="Housing Price Prediction API", version="1.0.0")


def _predict(req: PredictionRequest) -> PredictionResponse:
    df = pd.DataFrame([i.dict() for i in req.instances])
    x = df[NUMERIC].to_numpy(dtype=float)
    x = np.where(np.isnan(x), MEDIANS, x)
    onehot = np.zeros((len(df), len(CATEGORIES)))
    for k, c in enumerate(df["ocean_proximity"]):
        onehot[k, CATEGORIES.index(c)] = 1.0
    try:
        preds = MODEL.predict(np.hstack([x, onehot]))
    except ValueError as e:
        raise HTTPException(status_code=400, detail=f"Invalid input data: {e}")
    return PredictionResponse(
        predictions=[PredictionResult(predicted_price=float(p)) for p in preds],
        model_version="housing_price_model",
    )


@app.get("/health")
async def health():
    return {"status": "healthy", "model_loaded": True, "version": "1.0.0"}


@app.post("/api/v1/predict", response_model=PredictionResponse)
async def predict(req: PredictionRequest):
    return _predict(req)


@app.post("/api/v1/predict_sync", response_model=PredictionResponse)
def predict_sync(req: PredictionRequest):
    return _predict(req)
