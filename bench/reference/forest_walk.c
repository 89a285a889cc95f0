/*
 * Native reference for the forest batch-prediction kernel: the same algorithm as TreeEnsemblePredictor's
 * tree-major path (src/ml/tree/predict.ts) on the same layout, compiled by gcc, so the benchmark can tell how far
 * the TypeScript kernel is from native code on this machine (bench/ml_trees.ts, `native_same_kernel`).
 *
 * Same steps: per-row int32 keys (float32 order keys, clamped or ranked per feature), then per tree: an implicit
 * top of D levels, its exit record, 12 rows in lockstep over 8-byte pre-order records until all are at leaves
 * (self-loops), the leaf value from the shared distinct-value table; the next tree's records are touched two cache
 * lines per lockstep round. Two threads split the trees as the TypeScript pool does: the caller sums trees [0, h),
 * the other thread writes per-tree terms that are then added in tree order, so both must equal the one-thread sums
 * bit for bit (checked against the TypeScript result).
 *
 *   gcc -O2 -funroll-loops -o forest_walk forest_walk.c -lpthread
 *   forest_walk DIR ROWS P FB FMASK TOP_DEPTH N_TREES REPS   -> one JSON line on stdout
 *
 * DIR holds little-endian arrays written by bench/ml_trees.ts: nodes, roots, inodes, exits, klo, khi, rankoff,
 * rankkeys (.i32), vals, x, expected (.f64).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LANES 12
#define KEY_MAX 0x7fffffff

static int32_t *nd, *roots, *top, *exits, *klo, *khi, *rankoff, *rankkeys;
static double *vals, *x, *expected;
static int rows, p, fb, fm, D, nTrees, total;
static volatile int32_t sinkv;

static void *readAll(const char *dir, const char *name, size_t *len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "forest_walk: cannot open %s\n", path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *b = aligned_alloc(64, ((size_t)n + 64) / 64 * 64);
  if (n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "forest_walk: short read %s\n", path);
    exit(2);
  }
  fclose(f);
  *len = (size_t)n;
  return b;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int32_t f32key(double v) {
  float f = (float)v;
  int32_t b;
  memcpy(&b, &f, 4);
  if ((b & 0x7fffffff) == 0) return 0;
  return b >= 0 ? b : b ^ 0x7fffffff;
}

/* keys[r * (p + 1) + f], as rowKeys does */
static void makeKeys(int32_t *keys) {
  int q = p + 1;
  for (int r = 0; r < rows; r++) {
    for (int f = 0; f < p; f++) {
      int32_t key = f32key(x[(size_t)r * p + f]);
      int s = rankoff[f], e = rankoff[f + 1];
      if (s == e) {
        int32_t l = klo[f], h = khi[f];
        keys[r * q + f] = (key < l ? l : key > h ? h : key) - l;
      } else {
        int lo = s, hi = e;
        while (lo < hi) {
          int mid = (lo + hi) >> 1;
          if (rankkeys[mid] < key) lo = mid + 1;
          else hi = mid;
        }
        keys[r * q + f] = lo - s;
      }
    }
    keys[r * q + p] = KEY_MAX;
  }
}

/* out[(t - from) * stride + r] += leaf of tree t for row r, trees [from, to) */
static void walk(const int32_t *keys, double *out, int from, int to, int stride) {
  int q = p + 1, L = (1 << D) - 1, pf = 0;
  int32_t sink = 0;
  for (int ti = from; ti < to; ti++) {
    int root = roots[ti], tb = ti * L, tc = 1 - tb, el = ti - L;
    int o = (ti - from) * stride;
    int end = 2 * (ti + 1 < nTrees ? roots[ti + 1] : total);
    for (int i = ti == from ? 2 * root : pf; i < end; i += 16) sink |= nd[i];
    pf = end;
    int pfe = end;
    if (ti + 1 < to) {
      pfe = 2 * (ti + 2 < nTrees ? roots[ti + 2] : total);
      if (pfe > 2 * total - 16) pfe = 2 * total - 16;
    }
    int c = 0;
    for (; c + LANES <= rows; c += LANES) {
      int n[LANES];
      const int32_t *k[LANES];
      for (int j = 0; j < LANES; j++) {
        n[j] = tb;
        k[j] = keys + (size_t)(c + j) * q;
      }
      for (int s = 0; s < D; s++)
        for (int j = 0; j < LANES; j++) {
          int32_t d = top[2 * n[j]] - k[j][top[2 * n[j] + 1]];
          n[j] = 2 * n[j] + tc + (int)((uint32_t)d >> 31);
        }
      for (int j = 0; j < LANES; j++) n[j] = D > 0 ? exits[n[j] + el] : root;
      for (;;) {
        int moved = 0;
        for (int j = 0; j < LANES; j++) {
          int32_t b = nd[2 * n[j] + 1];
          int32_t d = nd[2 * n[j]] - k[j][b & fm];
          int m = n[j] + 1 + ((b >> fb) & (d >> 31));
          moved |= m ^ n[j];
          n[j] = m;
        }
        if (pf < pfe) {
          sink |= nd[pf] | nd[pf + 16];
          pf += 32;
        }
        if (!moved) break;
      }
      for (int j = 0; j < LANES; j++) out[o + c + j] += vals[nd[2 * n[j]]];
    }
    for (; c < rows; c++) {
      const int32_t *kk = keys + (size_t)c * q;
      int nn = tb;
      for (int s = 0; s < D; s++) {
        int32_t d = top[2 * nn] - kk[top[2 * nn + 1]];
        nn = 2 * nn + tc + (int)((uint32_t)d >> 31);
      }
      nn = D > 0 ? exits[nn + el] : root;
      for (;;) {
        int32_t b = nd[2 * nn + 1];
        int32_t d = nd[2 * nn] - kk[b & fm];
        int m = nn + 1 + ((b >> fb) & (d >> 31));
        if (m == nn) break;
        nn = m;
      }
      out[o + c] += vals[nd[2 * nn]];
    }
  }
  sinkv = sink;
}

struct part {
  double *stage;
  int32_t *keys;
  int from, to;
};

static void *worker(void *a) {
  struct part *pt = a;
  int len = rows * (pt->to - pt->from);
  for (int i = 0; i < len; i++) pt->stage[i] = -0.0;
  makeKeys(pt->keys); /* each thread computes its own keys, as each TypeScript thread does */
  walk(pt->keys, pt->stage, pt->from, pt->to, rows);
  return 0;
}

static int cmpd(const void *a, const void *b) {
  double u = *(const double *)a, v = *(const double *)b;
  return u < v ? -1 : u > v;
}

int main(int argc, char **argv) {
  if (argc < 9) {
    fprintf(stderr, "usage: forest_walk DIR ROWS P FB FMASK TOP_DEPTH N_TREES REPS\n");
    return 2;
  }
  const char *dir = argv[1];
  rows = atoi(argv[2]);
  p = atoi(argv[3]);
  fb = atoi(argv[4]);
  fm = atoi(argv[5]);
  D = atoi(argv[6]);
  nTrees = atoi(argv[7]);
  int reps = atoi(argv[8]);
  size_t len;
  nd = readAll(dir, "nodes.i32", &len);
  total = (int)(len / 8);
  roots = readAll(dir, "roots.i32", &len);
  top = readAll(dir, "inodes.i32", &len);
  exits = readAll(dir, "exits.i32", &len);
  klo = readAll(dir, "klo.i32", &len);
  khi = readAll(dir, "khi.i32", &len);
  rankoff = readAll(dir, "rankoff.i32", &len);
  rankkeys = readAll(dir, "rankkeys.i32", &len);
  vals = readAll(dir, "vals.f64", &len);
  x = readAll(dir, "x.f64", &len);
  expected = readAll(dir, "expected.f64", &len);
  int32_t *keys = malloc(sizeof(int32_t) * (size_t)rows * (p + 1));
  int32_t *keys2 = malloc(sizeof(int32_t) * (size_t)rows * (p + 1));
  double *out = malloc(sizeof(double) * rows);
  int h = (nTrees + 1) / 2;
  double *stage = malloc(sizeof(double) * (size_t)rows * (nTrees - h + 1));
  double *t1 = malloc(sizeof(double) * reps), *t2 = malloc(sizeof(double) * reps);
  int bad1 = 0, bad2 = 0;
  for (int rep = 0; rep < reps; rep++) {
    double a = now();
    for (int r = 0; r < rows; r++) out[r] = 0;
    makeKeys(keys);
    walk(keys, out, 0, nTrees, 0);
    t1[rep] = now() - a;
    if (rep == 0)
      for (int r = 0; r < rows; r++) bad1 += memcmp(&out[r], &expected[r], 8) != 0;
    a = now();
    pthread_t th;
    struct part pt = {stage, keys2, h, nTrees};
    pthread_create(&th, 0, worker, &pt);
    for (int r = 0; r < rows; r++) out[r] = 0;
    makeKeys(keys);
    walk(keys, out, 0, h, 0);
    pthread_join(th, 0);
    for (int t = 0; t < nTrees - h; t++)
      for (int r = 0; r < rows; r++) out[r] += stage[(size_t)t * rows + r];
    t2[rep] = now() - a;
    if (rep == 0)
      for (int r = 0; r < rows; r++) bad2 += memcmp(&out[r], &expected[r], 8) != 0;
  }
  qsort(t1, reps, sizeof(double), cmpd);
  qsort(t2, reps, sizeof(double), cmpd);
  printf("{\"one_thread_ms\": %.4f, \"two_threads_ms\": %.4f, \"mismatches_one\": %d, \"mismatches_two\": %d, "
         "\"reps\": %d}\n",
         t1[reps / 2], t2[reps / 2], bad1, bad2, reps);
  return 0;
}
