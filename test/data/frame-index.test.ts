/** Frame's optional shared name index: used only when it matches the columns, never changing lookups or errors. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { categoricalColumn, Frame, numericColumn } from "../../src/data/frame.ts";

const cols = () => [
  numericColumn("a", Float64Array.of(1, 2, 3)),
  categoricalColumn("b", Int32Array.of(0, -1, 1), ["x", "y"]),
  numericColumn("c", Float64Array.of(4, 5, 6)),
];

describe("Frame name index", () => {
  it("a shared index serves many frames with the same columns", () => {
    const index = Frame.nameIndex(["a", "b", "c"]);
    const f = new Frame(cols(), 3, index);
    const g = new Frame(cols(), 3, index);
    assert.deepEqual(f.names, ["a", "b", "c"]);
    assert.deepEqual(Array.from(g.numeric("c")), [4, 5, 6]);
    assert.equal(f.categorical("b").levels[1], "y");
    assert.ok(f.has("a") && !f.has("d"));
    assert.throws(() => f.col("d"), { message: "Frame: no column 'd' (columns: a, b, c)" });
    assert.deepEqual(f.take([2, 0]).row(0), { a: 3, b: "y", c: 6 });
    assert.deepEqual(f.slice(1).row(0), { a: 2, b: null, c: 5 });
    assert.equal(index.size, 3, "frames never add to a shared index");
  });

  it("an index that does not match the columns is ignored", () => {
    for (const index of [
      Frame.nameIndex(["c", "b", "a"]),
      Frame.nameIndex(["a", "b"]),
      Frame.nameIndex(["a", "b", "c", "d"]),
      new Map([
        ["a", 0],
        ["b", 1],
        ["z", 2],
      ]),
    ]) {
      const f = new Frame(cols(), 3, index);
      assert.deepEqual(Array.from(f.numeric("a")), [1, 2, 3]);
      assert.deepEqual(Array.from(f.numeric("c")), [4, 5, 6]);
      assert.equal(f.has("z"), false);
      assert.equal(f.has("d"), false);
    }
  });

  it("keeps the constructor's errors, in the same order", () => {
    const dup = [...cols(), numericColumn("a", Float64Array.of(0, 0))];
    // duplicate 'a' (4th column) is reported before its wrong length, with or without an index
    for (const index of [undefined, Frame.nameIndex(["a", "b", "c"])])
      assert.throws(() => new Frame(dup, 3, index), { message: "Frame: duplicate column name 'a'" });
    const short = [numericColumn("a", Float64Array.of(1)), ...cols().slice(1)];
    assert.throws(() => new Frame(short, 3, Frame.nameIndex(["a", "b", "c"])), {
      message: "Frame: column 'a' has 1 rows, expected 3",
    });
    assert.throws(() => Frame.nameIndex(["a", "a"]), { message: "Frame: duplicate column name 'a'" });
  });
});
