/**
 * Source of the WebAssembly forest kernel (`walk_wasm.ts`): the WebAssembly text of `treeMajor` for deep
 * ensembles (pointer layout), generated with its lockstep lanes unrolled. `npm run gen:wasm` compiles it with wabt
 * into `walk_wasm_bytes.ts`; a test checks that the committed bytes are this text's compilation.
 *
 * Same algorithm, layout and additions as `TreeEnsemblePredictor.treeMajor` (see predict.ts), in wasm because it
 * measured faster than the JavaScript kernel on the same records (RF200, 1,000 rows: the kernel alone up to 1.4×,
 * whole calls 1.1–1.3×; no bounds checks, byte addresses instead of record indices; one 64-bit load per record
 * measured 3–8 % slower than two 32-bit loads).
 * Differences from the JavaScript kernel:
 * - every address is a byte offset in the module's (shared) memory, and walks hold record addresses;
 * - sums go to out[(t - from) · stride + c] by the block's compact row index c (stride 0: one value per row, the
 *   caller seeds and reads them back by row id), not by row id.
 *
 * Exported function `treeMajor(nd, keys, vals, out, roots, top, exits, nc, q, fb, fm, D, from, to, stride,
 * total, nroots, prefetch, ndlen) → i32` (the prefetch loads' sink, to keep them), all i32: byte addresses of
 * the records, the block's row keys (nc rows of q keys), the leaf values, the outputs, the roots, the implicit top
 * records and their exits; nc rows; q keys per row; fb / fm the feature bits and mask; D the top depth; trees
 * [from, to); stride; total records; roots' length; prefetch flag; records' length in int32 words.
 */

/** Rows walked in lockstep per tree (10 and 12 measured best here, 6 and 16 slower). */
export const WASM_LANES = 10;

const get = (v: string) => `(local.get $${v})`;
const i32 = (n: number) => `(i32.const ${n})`;
const add = (a: string, b: string) => `(i32.add ${a} ${b})`;
const shl = (a: string, n: number) => `(i32.shl ${a} ${i32(n)})`;
const load = (addr: string, offset = 0) => `(i32.load${offset ? ` offset=${offset}` : ""} ${addr})`;
const set = (v: string, e: string) => `(local.set $${v} ${e})`;

/** A lane's top steps: n = 2n + tc + (tkey - key >>> 31) (n a slot index of the implicit top). */
function topStep(n: string, kb: string): string {
  const rec = add(get("top"), shl(get(n), 3));
  return [
    set("a", load(rec)),
    set("k", load(add(get(kb), shl(load(rec, 4), 2)))),
    set(n, add(add(shl(get(n), 1), get("tc")), `(i32.shr_u (i32.sub ${get("a")} ${get("k")}) ${i32(31)})`)),
  ].join("\n");
}

/** From the top's exit slot (or the root when D = 0) to the byte address of the record where the walk goes on. */
function enter(n: string): string {
  const exit = load(add(get("exits"), shl(add(get(n), get("el")), 2)));
  return set(
    n,
    add(
      get("nd"),
      shl(`(if (result i32) (i32.gt_s ${get("D")} ${i32(0)}) (then ${exit}) (else ${get("root")}))`, 3),
    ),
  );
}

/** One step of a pointer-layout walk at record address n into m (leaves are self-loops: m = n). */
function deepStep(n: string, m: string, kb: string): string {
  return [
    set("b", load(get(n), 4)),
    set("d", `(i32.sub ${load(get(n))} ${load(add(get(kb), shl(`(i32.and ${get("b")} ${get("fm")})`, 2)))})`),
    set(
      m,
      add(
        add(get(n), i32(8)),
        shl(`(i32.and (i32.shr_s ${get("b")} ${get("fb")}) (i32.shr_s ${get("d")} ${i32(31)}))`, 3),
      ),
    ),
  ].join("\n");
}

/** out[o + c + j] += vals[leaf index of the record at n]. */
function addLeaf(n: string, j: string): string {
  return [
    set("i", add(get("out"), shl(add(get("o"), add(get("c"), j)), 3))),
    `(f64.store ${get("i")} (f64.add (f64.load ${get("i")}) (f64.load ${add(get("vals"), shl(load(get(n)), 3))})))`,
  ].join("\n");
}

/** Byte address (in int32 words from nd) of record index roots[ti + k] · 2, or total · 2 past the last tree. */
function treeEnd(k: number): string {
  const next = add(get("ti"), i32(k));
  return shl(
    `(if (result i32) (i32.lt_s ${next} ${get("nroots")}) (then ${load(add(get("roots"), shl(next, 2)))}) (else ${get("total")}))`,
    1,
  );
}

/** The module's WebAssembly text, with `lanes` rows in lockstep per tree. */
export function forestWalkWat(lanes = WASM_LANES): string {
  const L = Array.from({ length: lanes }, (_, j) => j);
  const params = [
    "nd",
    "keys",
    "vals",
    "out",
    "roots",
    "top",
    "exits",
    "nc",
    "q",
    "fb",
    "fm",
    "D",
    "from",
    "to",
    "stride",
    "total",
    "nroots",
    "prefetch",
    "ndlen",
  ];
  const locals = [
    "ti",
    "root",
    "tb",
    "tc",
    "el",
    "o",
    "end",
    "pf",
    "pfe",
    "c",
    "s",
    "sink",
    "a",
    "b",
    "k",
    "d",
  ];
  locals.push("moved", "q4", "kb", "i", "half");
  for (const j of L) locals.push(`n${j}`, `m${j}`, `k${j}`);
  const moved = L.map((j) => `(i32.xor ${get(`m${j}`)} ${get(`n${j}`)})`).reduce(
    (x, y) => `(i32.or ${x} ${y})`,
  );
  const prefetchTwoLines = [
    `(if (i32.lt_s ${get("pf")} ${get("pfe")}) (then`,
    set(
      "sink",
      `(i32.or ${get("sink")} (i32.or ${load(add(get("nd"), shl(get("pf"), 2)))} ${load(add(get("nd"), shl(get("pf"), 2)), 64)}))`,
    ),
    set("pf", add(get("pf"), i32(32))),
    "))",
  ].join("\n");
  return `(module
(import "env" "memory" (memory 1 65536 shared))
(func (export "treeMajor")
${params.map((p) => `(param $${p} i32)`).join(" ")}
(result i32)
${locals.map((l) => `(local $${l} i32)`).join(" ")}
${set("q4", shl(get("q"), 2))}
${set("half", `(i32.sub (i32.shl ${i32(1)} ${get("D")}) ${i32(1)})`)}
${set("ti", get("from"))}
(block $trees_done (loop $trees
(br_if $trees_done (i32.ge_s ${get("ti")} ${get("to")}))
${set("root", load(add(get("roots"), shl(get("ti"), 2))))}
${set("tb", `(i32.mul ${get("ti")} ${get("half")})`)}
${set("tc", `(i32.sub ${i32(1)} ${get("tb")})`)}
${set("el", `(i32.sub ${get("ti")} ${get("half")})`)}
${set("o", `(i32.mul (i32.sub ${get("ti")} ${get("from")}) ${get("stride")})`)}
${set("end", treeEnd(1))}
;; stream the tree's records not touched yet through the cache, in address order
(if ${get("prefetch")} (then
${set("i", `(if (result i32) (i32.eq ${get("ti")} ${get("from")}) (then ${shl(get("root"), 1)}) (else ${get("pf")}))`)}
(block $stream_done (loop $stream
(br_if $stream_done (i32.ge_s ${get("i")} ${get("end")}))
${set("sink", `(i32.or ${get("sink")} ${load(add(get("nd"), shl(get("i"), 2)))})`)}
${set("i", add(get("i"), i32(16)))}
(br $stream)))))
${set("pf", get("end"))}
${set("pfe", get("end"))}
;; the next tree's records, two cache lines per lockstep round (at most up to the array's last line)
(if (i32.and ${get("prefetch")} (i32.lt_s ${add(get("ti"), i32(1))} ${get("to")})) (then
${set("pfe", treeEnd(2))}
(if (i32.gt_s ${get("pfe")} (i32.sub ${get("ndlen")} ${i32(16)})) (then ${set("pfe", `(i32.sub ${get("ndlen")} ${i32(16)})`)}))))
${set("c", i32(0))}
(block $blocks_done (loop $blocks
(br_if $blocks_done (i32.gt_s ${add(get("c"), i32(lanes))} ${get("nc")}))
${set("kb", add(get("keys"), `(i32.mul ${get("c")} ${get("q4")})`))}
${L.map((j) => `${set(`k${j}`, add(get("kb"), `(i32.mul ${i32(j)} ${get("q4")})`))}\n${set(`n${j}`, get("tb"))}`).join("\n")}
${set("s", i32(0))}
(block $top_done (loop $top
(br_if $top_done (i32.ge_s ${get("s")} ${get("D")}))
${L.map((j) => topStep(`n${j}`, `k${j}`)).join("\n")}
${set("s", add(get("s"), i32(1)))}
(br $top)))
${L.map((j) => enter(`n${j}`)).join("\n")}
(loop $walk
${L.map((j) => deepStep(`n${j}`, `m${j}`, `k${j}`)).join("\n")}
${set("moved", moved)}
${L.map((j) => set(`n${j}`, get(`m${j}`))).join("\n")}
${prefetchTwoLines}
(br_if $walk ${get("moved")}))
${L.map((j) => addLeaf(`n${j}`, i32(j))).join("\n")}
${set("c", add(get("c"), i32(lanes)))}
(br $blocks)))
;; the block's last rows, one at a time
(block $rest_done (loop $rest
(br_if $rest_done (i32.ge_s ${get("c")} ${get("nc")}))
${set("k0", add(get("keys"), `(i32.mul ${get("c")} ${get("q4")})`))}
${set("n0", get("tb"))}
${set("s", i32(0))}
(block $top1_done (loop $top1
(br_if $top1_done (i32.ge_s ${get("s")} ${get("D")}))
${topStep("n0", "k0")}
${set("s", add(get("s"), i32(1)))}
(br $top1)))
${enter("n0")}
(loop $walk1
${deepStep("n0", "m0", "k0")}
${set("moved", `(i32.ne ${get("m0")} ${get("n0")})`)}
${set("n0", get("m0"))}
(br_if $walk1 ${get("moved")}))
${addLeaf("n0", i32(0))}
${set("c", add(get("c"), i32(1)))}
(br $rest)))
${set("ti", add(get("ti"), i32(1)))}
(br $trees)))
${get("sink")})
)
`;
}
