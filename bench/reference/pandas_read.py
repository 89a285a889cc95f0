"""Reference timing for bench/data.ts: load a CSV with pandas.read_csv and report time and peak RSS.

Usage: python3 bench/reference/pandas_read.py FILE [--warm N]
Prints one JSON line: {"ms": time of the first (cold) read_csv call in this fresh process, "warmMs": [times of N
further read_csv calls of the same file in the same process], "rows": n, "cols": m, "maxrss_kb": peak RSS of
this process measured right after the cold call, "pandas": version}. The interpreter start-up and
`import pandas` are excluded from the timings (as the runtime start-up and module import are for the
TypeScript reader); each timing covers only the read_csv call (read + parse + typed columns).
"""
import json
import resource
import sys
import time

import pandas as pd


def main() -> None:
    args = sys.argv[1:]
    warm = 0
    if "--warm" in args:
        i = args.index("--warm")
        warm = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 1:
        print("usage: pandas_read.py FILE [--warm N]", file=sys.stderr)
        sys.exit(2)
    path = args[0]
    t0 = time.perf_counter()
    df = pd.read_csv(path)
    ms = (time.perf_counter() - t0) * 1000.0
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows, cols = int(df.shape[0]), int(df.shape[1])
    del df
    warm_ms = []
    for _ in range(warm):
        t0 = time.perf_counter()
        df = pd.read_csv(path)
        warm_ms.append((time.perf_counter() - t0) * 1000.0)
        del df
    print(json.dumps({"ms": ms, "warmMs": warm_ms, "rows": rows, "cols": cols,
                      "maxrss_kb": rss_kb, "pandas": pd.__version__}))


if __name__ == "__main__":
    main()
