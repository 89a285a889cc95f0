"""Reference timing for bench/data.ts: load a CSV with pandas.read_csv and report time and peak RSS.

Usage: python3 bench/reference/pandas_read.py FILE
Prints one JSON line: {"ms": load time in ms, "rows": n, "cols": m, "maxrss_kb": peak RSS of this process,
"pandas": version}. Import time of pandas is excluded from "ms" (as for the TypeScript reader, whose module
load is excluded too).
"""
import json
import resource
import sys
import time

import pandas as pd


def main() -> None:
    if len(sys.argv) != 2:
        print("usage: pandas_read.py FILE", file=sys.stderr)
        sys.exit(2)
    path = sys.argv[1]
    t0 = time.perf_counter()
    df = pd.read_csv(path)
    ms = (time.perf_counter() - t0) * 1000.0
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"ms": ms, "rows": int(df.shape[0]), "cols": int(df.shape[1]),
                      "maxrss_kb": rss_kb, "pandas": pd.__version__}))


if __name__ == "__main__":
    main()
